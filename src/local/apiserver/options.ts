// The options of the API server and the context its handlers share.
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import type { FieldCause } from '../../k8s/status.js';
import type { PodRuntime } from '../kubelet/runtime.js';
import type { ObjectStore } from '../store/store.js';
import type { ServiceAccountTokens } from '../serviceaccount/tokens.js';

export interface AdmissionRequest {
  operation: 'CREATE' | 'UPDATE';
  type: ResourceType;
  object: KubeObject;
  oldObject?: KubeObject;
}

/** A mutating admission hook: returns the object to store (the same or a changed copy). Throw a StatusError to refuse. */
export type AdmissionHook = (req: AdmissionRequest) => Promise<KubeObject> | KubeObject;

export interface ApiServerOptions {
  store: ObjectStore;
  host: string;
  /** 0 = any free port. */
  port: number;
  tls: { certPem: string; keyPem: string };
  /** The admin's bearer token (group system:masters). */
  token: string;
  /** Issues and checks service-account tokens; without it only the admin token authenticates. */
  serviceAccounts?: ServiceAccountTokens;
  clusterName: string;
  /** Runs pods/exec and pods/log; without it those subresources answer an error. */
  podRuntime?: PodRuntime;
  /** With strict, unknown fields come back as causes with reason FieldValueUnknown; with oldObject, what an update may not change. */
  validate: (type: ResourceType, obj: KubeObject, opts: { strict: boolean; oldObject?: KubeObject }) => FieldCause[];
  applyDefaults: (type: ResourceType, obj: KubeObject) => KubeObject;
  /** A free service ClusterIP; called once per Service created without one. */
  allocateClusterIP: () => string;
  /** Mutating hooks run in order after defaulting and before validation. */
  admission?: AdmissionHook[];
  /** Validating hooks run after schema validation; they see the final object and may only refuse it. */
  validatingAdmission?: AdmissionHook[];
  /** Receives one audit line per request. */
  log?: (line: string) => void;
}

export interface ApiContext {
  opts: ApiServerOptions;
  store: ObjectStore;
  now: () => number;
  log: (line: string) => void;
}
