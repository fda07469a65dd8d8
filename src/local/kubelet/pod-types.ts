// The parts of core/v1 Pod the kubelet reads and writes, narrowed from the store's untyped objects.
import type { ContainerPort, EnvVar } from '../../config/core-v1.js';
import type { StoredObject } from '../../k8s/object.js';

export interface HttpGetAction {
  path?: string;
  port: number | string;
  host?: string;
  scheme?: string;
  httpHeaders?: Array<{ name: string; value: string }>;
}

export interface Probe {
  httpGet?: HttpGetAction;
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command?: string[] };
  grpc?: unknown;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  workingDir?: string;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface PodSpec {
  nodeName?: string;
  containers: Container[];
  initContainers?: Container[];
  restartPolicy?: RestartPolicy;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: { exitCode: number; signal?: number; reason: string; message?: string; startedAt?: string; finishedAt: string; containerID?: string } };

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: Partial<Record<'terminated', Extract<ContainerState, { terminated: unknown }>['terminated']>>;
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodStatus {
  phase?: PodPhase;
  conditions?: PodCondition[];
  hostIP?: string;
  hostIPs?: Array<{ ip: string }>;
  podIP?: string;
  podIPs?: Array<{ ip: string }>;
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
  qosClass?: string;
  [field: string]: unknown;
}

export interface Pod extends StoredObject {
  spec: PodSpec;
  status?: PodStatus;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPodStatus(v: unknown): v is PodStatus {
  return isRecord(v);
}

function isContainer(v: unknown): v is Container {
  return isRecord(v) && typeof v.name === 'string';
}

/**
 * Narrows a stored object to a Pod. The API server validated it on the way in; this only checks what
 * the kubelet depends on and says what is wrong otherwise.
 */
export function asPod(obj: StoredObject): Pod {
  const spec = obj.spec;
  const where = `pod ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
  if (!isRecord(spec)) throw new Error(`${where}: spec is missing`);
  if (!Array.isArray(spec.containers) || spec.containers.length === 0 || !spec.containers.every(isContainer)) {
    throw new Error(`${where}: spec.containers must be a non-empty list of containers with names`);
  }
  if (spec.initContainers !== undefined && (!Array.isArray(spec.initContainers) || !spec.initContainers.every(isContainer))) {
    throw new Error(`${where}: spec.initContainers must be a list of containers with names`);
  }
  if (obj.status !== undefined && !isPodStatus(obj.status)) throw new Error(`${where}: status must be an object`);
  const restartPolicy = spec.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== 'Always' && restartPolicy !== 'OnFailure' && restartPolicy !== 'Never') {
    throw new Error(`${where}: spec.restartPolicy ${JSON.stringify(restartPolicy)} is not Always, OnFailure or Never`);
  }
  const podSpec: PodSpec = {
    containers: spec.containers,
    ...(spec.initContainers ? { initContainers: spec.initContainers } : {}),
    ...(typeof spec.nodeName === 'string' ? { nodeName: spec.nodeName } : {}),
    ...(restartPolicy ? { restartPolicy } : {}),
    ...(typeof spec.serviceAccountName === 'string' ? { serviceAccountName: spec.serviceAccountName } : {}),
    ...(typeof spec.terminationGracePeriodSeconds === 'number' ? { terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds } : {}),
  };
  const pod: Pod = { ...obj, spec: { ...spec, ...podSpec }, status: obj.status };
  return pod;
}
