// What the intent module reads and what it answers. The intent is the split a request SHOULD get, read
// from the Istio config the user applied and the registry's endpoints, by Istio's rules, without the
// translator: a check of the data plane against its own config cannot catch a translation bug.

import type { DestinationRule, Gateway, ServiceEntry, VirtualService } from '../../config/istio-types.js';
import type { IstioObject, MeshEndpoint, MeshService } from '../../registry/model.js';

/** The Istio config of the cluster whose control plane configures the sending proxy. */
export interface AppliedConfig {
  virtualServices: readonly IstioObject<VirtualService>[];
  destinationRules: readonly IstioObject<DestinationRule>[];
  serviceEntries?: readonly IstioObject<ServiceEntry>[];
  /** Read for gateway pods only. */
  gateways?: readonly IstioObject<Gateway>[];
}

export interface IntentRequest {
  /** The Host header: `helloworld.sample:5000`; without a port, port 80. */
  host: string;
  /** Path with query: `/hello?x=1`. */
  path: string;
  /** Default GET. */
  method?: string;
  /** Headers the client sends, besides Host (names in any case). Any other header is absent. */
  headers?: Readonly<Record<string, string>>;
  /** Headers sent with a value not known here (curl's user-agent): a route condition on one cannot be decided. */
  unknownHeaders?: readonly string[];
}

/** The sending pod: its namespace and labels decide visibility, sourceLabels, Gateway selection and DestinationRule precedence. */
export interface IntentSource {
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** The pod is an ingress gateway (routes from Gateway-bound VirtualServices), not a sidecar. */
  gateway?: boolean;
}

/** What the intent reads of a registry service and endpoint (the control plane's /debug/registry has all of it). */
export type KnownService = Pick<MeshService, 'hostname' | 'name' | 'namespace' | 'ports'>;
export type KnownEndpoint = Pick<MeshEndpoint, 'hostname' | 'cluster' | 'address' | 'ports' | 'labels' | 'ready' | 'podName'>;

export interface IntentInput {
  config: AppliedConfig;
  /** Kubernetes services of every member cluster (one per hostname). */
  services: readonly KnownService[];
  /** Endpoints of every member cluster, with labels, member cluster and readiness. */
  endpoints: readonly KnownEndpoint[];
  source: IntentSource;
  request: IntentRequest;
  /** Default `cluster.local`. */
  domainSuffix?: string;
  /** Istio's meshConfig.rootNamespace, default `istio-system`. */
  rootNamespace?: string;
}

/** One endpoint's part of all requests; grouped like the proxy's view (expected-split.ts groupShares). */
export interface IntentEndpoint {
  /** ip:port (the endpoint's target port). */
  address: string;
  memberCluster?: string;
  pod?: string;
  version?: string;
  /** Fraction of all requests (0..1). */
  share: number;
  /** The destination it serves: `helloworld.sample.svc.cluster.local:5000 subset v1`. */
  destination: string;
}

export interface IntentDestination {
  /** FQDN as resolved in the VirtualService's namespace. */
  host: string;
  port?: number;
  subset?: string;
  /** As declared (relative); 100 for a single destination without weight. */
  weight: number;
  /** Fraction of all requests (0..1). */
  share: number;
  /** Ready endpoints the share is spread over. */
  endpoints: number;
  /** Why this share fails (503), when it does. */
  failure?: string;
}

export interface DerivedIntent {
  derived: true;
  /** Where the request enters the routes: the service the Host header names (`helloworld.sample.svc.cluster.local:5000`), or `Gateway ns/name port 80`. */
  entry: string;
  /** `namespace/name` of the VirtualService(s) that route the request; undefined: the service's default route. */
  virtualService?: string;
  /** The http route that matched: `http[0]`, with its name when it has one. */
  route?: string;
  /** `namespace/name` of the DestinationRules whose subsets or policies applied. */
  destinationRules: string[];
  destinations: IntentDestination[];
  endpoints: IntentEndpoint[];
  /** Fraction of requests that fail (unknown subset or host, no endpoint, no matching route). */
  failShare: number;
  notes: string[];
}

/** The config uses something this module does not model: no shares rather than a guess. */
export interface UnderivedIntent {
  derived: false;
  reason: string;
  notes: string[];
}

export type Intent = DerivedIntent | UnderivedIntent;

/** Thrown inside the derivation when the config goes beyond what is modelled; becomes an UnderivedIntent. */
export class Underivable extends Error {}

/** `VirtualService sample/helloworld and DestinationRule sample/helloworld`: what declared the intent. */
export function declaredBy(intent: DerivedIntent): string {
  const parts: string[] = [];
  parts.push(intent.virtualService ? `VirtualService ${intent.virtualService}` : `the default route of ${intent.entry} (no VirtualService)`);
  if (intent.destinationRules.length > 0) parts.push(`DestinationRule ${intent.destinationRules.join(', ')}`);
  return parts.join(' and ');
}
