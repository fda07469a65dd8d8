// The mesh as the control plane sees it: the merged view of every member cluster's services,
// endpoints and Istio config. The registry fills a MeshSnapshot; the translator (src/translate)
// reads it and nothing else. All types are plain data so a snapshot can be logged, diffed and
// written to golden files.

import type { AuthorizationPolicy, DestinationRule, Gateway, PeerAuthentication, ServiceEntry, Sidecar, VirtualService } from '../config/istio-types.js';
import type { GatewayTopology } from '../config/proxy-config.js';
import type { Problem } from '../config/problems.js';
import type { GatewayCredential } from '../security/credentials.js';

export interface MeshServicePort {
  /** The Kubernetes port name; Istio infers the protocol from its prefix ("http", "grpc-web", ...). */
  name?: string;
  port: number;
  /** Kubernetes protocol: TCP (the default), UDP, SCTP. */
  protocol: string;
  appProtocol?: string;
  targetPort?: number | string;
}

/** A Service of the same name and namespace in one or more member clusters is one mesh service. */
export interface MeshService {
  /** FQDN: `<name>.<namespace>.svc.<domainSuffix>`. */
  hostname: string;
  name: string;
  namespace: string;
  ports: MeshServicePort[];
  /** The member clusters in which this Service exists. */
  clusters: string[];
  /** The Service's ClusterIP per member cluster (Istio's ClusterVIPs); absent for headless Services. */
  clusterIPs?: Record<string, string>;
}

/** Where a workload runs: `region/zone/subzone` in Istio's locality strings. */
export interface Locality {
  region: string;
  zone: string;
  subZone?: string;
}

export interface MeshEndpoint {
  /** The FQDN of the service this endpoint backs. */
  hostname: string;
  /** The member cluster the endpoint lives in. */
  cluster: string;
  /** The pod IP: with a sidecar, that is where the sidecar listens (the app binds appAddress). */
  address: string;
  /** Endpoint (target) port per service port: keyed by the service port name, or String(port) when unnamed. */
  ports: Record<string, number>;
  labels: Record<string, string>;
  locality: Locality;
  ready: boolean;
  podName?: string;
  namespace: string;
  hasSidecar: boolean;
  /** Where the app itself listens when a sidecar sits in front of it. */
  appAddress?: string;
  /** A ServiceEntry endpoint's weight (Istio's WorkloadEntry.weight); 1 when absent. */
  weight?: number;
  /**
   * The workload's service account (a pod's spec.serviceAccountName, `default` when empty; a
   * WorkloadEntry's serviceAccount): its SPIFFE identity is what mTLS clients verify. Absent when
   * the endpoint is no known workload.
   */
  serviceAccount?: string;
}

/** One Istio config object and the member cluster it was read from. */
export interface IstioObject<Spec> {
  name: string;
  namespace: string;
  spec: Spec;
  /** The member cluster the object was read from. */
  cluster: string;
  /** metadata.creationTimestamp (RFC 3339), when known: Istio orders merged config by it. */
  creationTimestamp?: string;
  /** Set on config the control plane made from a Kubernetes Ingress (src/ingress), never on applied config. */
  derivedFrom?: DerivedFrom;
}

/**
 * Where derived config came from: findings about it name the Ingress and its field, and its routes
 * follow Ingress semantics (a Prefix path matches whole path segments).
 */
export interface DerivedFrom {
  kind: 'Ingress';
  /** The Ingress the derived object is named after (for findings about the object as a whole). */
  source: { namespace: string; name: string };
  /**
   * Per element of the derived object's list (a VirtualService's `spec.http`, a Gateway's
   * `spec.servers`), in order: the Ingress it came from and the field there.
   */
  parts: Array<{ namespace: string; name: string; field: string }>;
}

/**
 * Istio's order for config that is merged (gateway virtual hosts, DestinationRules of one namespace):
 * oldest first, then by name, then by namespace. Objects without a timestamp sort as the oldest.
 */
export function compareByCreation(a: IstioObject<unknown>, b: IstioObject<unknown>): number {
  const ta = a.creationTimestamp ? Date.parse(a.creationTimestamp) : 0;
  const tb = b.creationTimestamp ? Date.parse(b.creationTimestamp) : 0;
  const byTime = (Number.isNaN(ta) ? 0 : ta) - (Number.isNaN(tb) ? 0 : tb);
  if (byTime !== 0) return byTime;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
}

export interface MeshSnapshot {
  services: MeshService[];
  endpoints: MeshEndpoint[];
  virtualServices: IstioObject<VirtualService>[];
  destinationRules: IstioObject<DestinationRule>[];
  gateways: IstioObject<Gateway>[];
  serviceEntries: IstioObject<ServiceEntry>[];
  /** Sidecar resources (absent: none), which narrow what each sidecar is given (translate/sidecar-scope.ts). */
  sidecars?: IstioObject<Sidecar>[];
  /** AuthorizationPolicies (absent: none), RBAC filters of the proxies they apply to (translate/authorization.ts). */
  authorizationPolicies?: IstioObject<AuthorizationPolicy>[];
  /** PeerAuthentication resources (absent: none): the mTLS each workload's inbound side accepts. */
  peerAuthentications?: IstioObject<PeerAuthentication>[];
  /** meshConfig.trustDomain (absent: not set, `cluster.local`): the SPIFFE identities' trust domain. */
  trustDomain?: string;
  /** meshConfig.outboundTrafficPolicy.mode (absent: not set, Istio's ALLOW_ANY); a Sidecar's own policy wins. */
  outboundTrafficMode?: 'REGISTRY_ONLY' | 'ALLOW_ANY';
  /** Usually `cluster.local`. */
  domainSuffix: string;
  /** What of the Kubernetes Ingresses of Istio's class is not served, and why (absent: nothing). */
  ingressProblems?: Problem[];
  /** The proxy.istio.io/config annotations of pods with a proxy, for the analyzer (absent: none). */
  proxyConfigAnnotations?: PodAnnotation[];
  /** Proxy pods with traffic.sidecar.istio.io annotations that iptables does not capture, for the analyzer (absent: none). */
  uncapturedTrafficAnnotations?: UncapturedPodAnnotations[];
  /**
   * The Secrets of the control plane's own cluster that hold gateway credentials (absent: Secrets are
   * not watched, e.g. `meshwork analyze` without a control plane), by namespace then name.
   */
  credentials?: GatewayCredential[];
  /** A stamp that changes on every semantic change of anything above. */
  version: string;
}

export interface PodAnnotation {
  cluster: string;
  namespace: string;
  pod: string;
  value: string;
}

/** A proxy pod's traffic.sidecar.istio.io annotations while it has no istio-init: nothing applies them. */
export interface UncapturedPodAnnotations {
  cluster: string;
  namespace: string;
  pod: string;
  /** The annotations' names, sorted. */
  annotations: string[];
  /** The pod's sidecar.istio.io/interceptionMode, when it has one. */
  interceptionMode?: string;
}

export type ProxyKind = 'sidecar' | 'router' | 'proxyless';

export interface ProxyIdentity {
  /** The xDS node id, e.g. `sidecar~127.10.0.5~sleep-abc.sample~sample.svc.cluster.local`. */
  id: string;
  kind: ProxyKind;
  namespace: string;
  /** The member cluster the proxy runs in: its own cluster's config wins on duplicates. */
  cluster: string;
  labels: Record<string, string>;
  /** The pod IP (where a sidecar or gateway binds). */
  ip: string;
  /** Where the app listens when a sidecar sits in front of it. */
  appIp?: string;
  podName?: string;
  /** Where the proxy runs (its pod's topology labels, or its node's locality), when known. */
  locality?: Locality;
  /** A gateway's ProxyConfig gatewayTopology (its node metadata PROXY_CONFIG); Istio's defaults when absent. */
  gatewayTopology?: GatewayTopology;
  /**
   * The proxy has no workload certificates (an agent without the mesh root speaks plaintext xDS): it
   * gets no TLS clusters and plaintext-only inbound listeners, as proxyless clients. Absent: it has them.
   */
  plaintextOnly?: boolean;
  /** The pod's agent serves `envoy_accesslog_service` (its Istio metrics): every HCM logs to it. */
  accessLogService?: boolean;
  /** Node metadata INTERCEPTION_MODE=REDIRECT: iptables captures the pod's traffic (virtualOutbound/virtualInbound). */
  interceptionMode?: 'REDIRECT';
}

export function configKey(object: { namespace: string; name: string }): string {
  return `${object.namespace}/${object.name}`;
}

export interface MergedConfig<Spec> {
  /** One object per namespace/name: the winner of the duplicates. */
  objects: IstioObject<Spec>[];
  /** Per namespace/name whose copies in different clusters have different specs: the clusters involved. */
  divergent: Array<{ namespace: string; name: string; clusters: string[] }>;
}

/**
 * Multi-primary merge rule: config applied to several member clusters under the same namespace/name
 * is ONE object (users apply the same VirtualService to both clusters). When copies exist:
 *   1. the copy from `localCluster` (the cluster of the proxy being configured) wins, so a cluster
 *      that was updated first already steers its own proxies the new way (the canary order users expect);
 *   2. otherwise the copy from the cluster whose name sorts first wins (deterministic for every proxy
 *      and for `analyze`, which passes no local cluster).
 * Copies whose specs differ are reported in `divergent` so the analyzer can warn that the clusters
 * disagree. The output is sorted by namespace/name, which fixes route precedence between objects.
 */
export function mergeConfig<Spec>(objects: readonly IstioObject<Spec>[], localCluster?: string): MergedConfig<Spec> {
  const byKey = new Map<string, IstioObject<Spec>[]>();
  for (const object of objects) {
    const key = configKey(object);
    const copies = byKey.get(key);
    if (copies) copies.push(object);
    else byKey.set(key, [object]);
  }
  const merged: IstioObject<Spec>[] = [];
  const divergent: MergedConfig<Spec>['divergent'] = [];
  for (const key of [...byKey.keys()].sort()) {
    const copies = [...(byKey.get(key) ?? [])].sort((a, b) => a.cluster.localeCompare(b.cluster));
    const winner = copies.find((c) => c.cluster === localCluster) ?? copies[0];
    merged.push(winner);
    const distinctSpecs = new Set(copies.map((c) => stableJson(c.spec)));
    if (distinctSpecs.size > 1) {
      divergent.push({ namespace: winner.namespace, name: winner.name, clusters: copies.map((c) => c.cluster) });
    }
  }
  return { objects: merged, divergent };
}

/** JSON with object keys sorted, so two equal specs compare equal whatever their key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}
