// From what the informers of every member cluster hold to one MeshSnapshot. Pure: the same caches
// give the same snapshot (everything is sorted), and its version is a hash of its content, so a
// rebuild that changes nothing does not look like a change to anyone downstream.

import { createHash } from 'node:crypto';
import type { V1EndpointSlice, V1Ingress, V1IngressClass, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import type { AuthorizationPolicy, DestinationRule, Gateway, PeerAuthentication, ServiceEntry, Sidecar, VirtualService } from '../config/istio-types.js';
import { INIT_CONTAINER, INTERCEPTION_MODE_ANNOTATION, trafficAnnotations } from '../config/interception.js';
import { PROXY_CONFIG_ANNOTATION } from '../config/proxy-config.js';
import type { IngressMeshSettings } from '../ingress/class.js';
import { convertIngresses } from './ingress.js';
import { podLocality } from './locality.js';
import type { Problem } from '../config/problems.js';
import { credentialOf, type GatewayCredential, type SecretLike } from '../security/credentials.js';
import { stableJson, type IstioObject, type Locality, type MeshEndpoint, type MeshService, type MeshServicePort, type MeshSnapshot, type PodAnnotation, type UncapturedPodAnnotations } from './model.js';

/** What one member cluster's informers hold. */
export interface ClusterObjects {
  clusterId: string;
  services: readonly V1Service[];
  endpointSlices: readonly V1EndpointSlice[];
  pods: readonly V1Pod[];
  namespaces: readonly V1Namespace[];
}

/** An Istio config object as the API server returns it (any served version). */
export interface KubeIstioObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string | Date };
  spec?: unknown;
}

export interface IstioConfigObjects {
  /** The member cluster the objects were read from. */
  cluster: string;
  virtualServices: readonly KubeIstioObject[];
  destinationRules: readonly KubeIstioObject[];
  gateways: readonly KubeIstioObject[];
  serviceEntries: readonly KubeIstioObject[];
  /** Sidecar resources (absent: not watched). */
  sidecars?: readonly KubeIstioObject[];
  /** AuthorizationPolicies (absent: not watched). */
  authorizationPolicies?: readonly KubeIstioObject[];
  /** PeerAuthentication resources (absent: not watched). */
  peerAuthentications?: readonly KubeIstioObject[];
  /** The mesh config's outboundTrafficPolicy.mode (absent: not set, Istio's ALLOW_ANY). */
  outboundTrafficMode?: 'REGISTRY_ONLY' | 'ALLOW_ANY';
  /** The mesh config's trustDomain (absent: not set, cluster.local). */
  trustDomain?: string;
  /** The cluster's Kubernetes Ingresses, served as Istio serves them (absent: Ingress is not watched). */
  ingress?: IngressConfigObjects;
  /** The cluster's Secrets, read for gateway credentialName (absent: not watched). */
  secrets?: readonly SecretLike[];
}

/** What Istio's Ingress support reads from the config cluster besides its Services. */
export interface IngressConfigObjects {
  ingresses: readonly V1Ingress[];
  ingressClasses: readonly V1IngressClass[];
  mesh: IngressMeshSettings;
  /** istiod's K8S_INGRESS_NS: where the Gateways made from Ingresses live. */
  ingressNamespace: string;
}

export interface BuildInput {
  clusters: readonly ClusterObjects[];
  config: readonly IstioConfigObjects[];
  domainSuffix?: string;
}

/** What the build left out, and why: shown by /debug/registry so nobody has to guess. */
export interface BuildNotes {
  /** Endpoints whose pod is not (yet) in the pod cache: left out until it arrives. */
  endpointsWithoutPod: Array<{ cluster: string; namespace: string; pod: string; service: string }>;
  /** Services skipped: ExternalName has no endpoints, Istio treats it apart. */
  skippedServices: Array<{ cluster: string; namespace: string; name: string; reason: string }>;
  /** Istio objects without name, namespace or spec object. */
  malformedConfig: Array<{ cluster: string; kind: string; name: string; reason: string }>;
}

export interface BuildResult {
  snapshot: MeshSnapshot;
  notes: BuildNotes;
}

/** The proxy container the injector adds to a pod (sidecar or gateway), as Istio names it; every part that recognises a proxy pod reads it here. */
export const SIDECAR_CONTAINER = 'istio-proxy';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Informers hand out the same object until the Secret changes: each is parsed (X.509) once. */
const parsedCredentials = new WeakMap<SecretLike, GatewayCredential | null>();

function parsedCredential(secret: SecretLike): GatewayCredential | undefined {
  let parsed = parsedCredentials.get(secret);
  if (parsed === undefined) parsedCredentials.set(secret, (parsed = credentialOf(secret) ?? null));
  return parsed ?? undefined;
}

export function buildMeshSnapshot(input: BuildInput): BuildResult {
  const domainSuffix = input.domainSuffix ?? 'cluster.local';
  const notes: BuildNotes = { endpointsWithoutPod: [], skippedServices: [], malformedConfig: [] };
  const clusters = [...input.clusters].sort((a, b) => a.clusterId.localeCompare(b.clusterId));

  const services = new Map<string, MeshService>();
  const endpoints: MeshEndpoint[] = [];
  const proxyConfigAnnotations: PodAnnotation[] = [];
  const uncapturedTrafficAnnotations: UncapturedPodAnnotations[] = [];
  for (const cluster of clusters) {
    const podIndex = new Map<string, V1Pod>();
    for (const pod of cluster.pods) {
      podIndex.set(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, pod);
      const annotation = pod.metadata?.annotations?.[PROXY_CONFIG_ANNOTATION];
      if (annotation !== undefined && hasSidecarContainer(pod)) {
        proxyConfigAnnotations.push({ cluster: cluster.clusterId, namespace: pod.metadata?.namespace ?? '', pod: pod.metadata?.name ?? '', value: annotation });
      }
      // Only istio-init applies these annotations: a proxy pod without it is not captured by iptables.
      const traffic = trafficAnnotations(pod.metadata?.annotations);
      if (traffic.length > 0 && hasSidecarContainer(pod) && !(pod.spec?.initContainers ?? []).some((c) => c.name === INIT_CONTAINER)) {
        const mode = pod.metadata?.annotations?.[INTERCEPTION_MODE_ANNOTATION];
        uncapturedTrafficAnnotations.push({
          cluster: cluster.clusterId,
          namespace: pod.metadata?.namespace ?? '',
          pod: pod.metadata?.name ?? '',
          annotations: traffic,
          ...(mode !== undefined ? { interceptionMode: mode } : {}),
        });
      }
    }
    const local = new Map<string, V1Service>();
    for (const svc of cluster.services) {
      const name = svc.metadata?.name;
      const namespace = svc.metadata?.namespace;
      if (!name || !namespace) continue;
      if (svc.spec?.type === 'ExternalName') {
        notes.skippedServices.push({ cluster: cluster.clusterId, namespace, name, reason: 'type ExternalName is not a mesh service' });
        continue;
      }
      local.set(`${namespace}/${name}`, svc);
      mergeService(services, svc, name, namespace, cluster.clusterId, domainSuffix);
    }
    endpoints.push(...clusterEndpoints(cluster, local, podIndex, domainSuffix, notes));
  }

  const config = [...input.config].sort((a, b) => a.cluster.localeCompare(b.cluster));
  const virtualServices = config.flatMap((c) => istioObjects<VirtualService>(c.virtualServices, c.cluster, 'VirtualService', notes));
  const destinationRules = config.flatMap((c) => istioObjects<DestinationRule>(c.destinationRules, c.cluster, 'DestinationRule', notes));
  const gateways = config.flatMap((c) => istioObjects<Gateway>(c.gateways, c.cluster, 'Gateway', notes));
  const serviceEntries = config.flatMap((c) => istioObjects<ServiceEntry>(c.serviceEntries, c.cluster, 'ServiceEntry', notes));
  const sidecars = config.flatMap((c) => istioObjects<Sidecar>(c.sidecars ?? [], c.cluster, 'Sidecar', notes));
  const authorizationPolicies = config.flatMap((c) => istioObjects<AuthorizationPolicy>(c.authorizationPolicies ?? [], c.cluster, 'AuthorizationPolicy', notes));
  const peerAuthentications = config.flatMap((c) => istioObjects<PeerAuthentication>(c.peerAuthentications ?? [], c.cluster, 'PeerAuthentication', notes));
  // Ingresses become Gateways and VirtualServices like any other (a named backend port resolves
  // against the Services of the Ingress's own cluster, as istiod reads its config cluster's).
  const ingressProblems: Problem[] = [];
  for (const c of config) {
    if (!c.ingress) continue;
    const converted = convertIngresses({
      ...c.ingress,
      services: clusters.find((cluster) => cluster.clusterId === c.cluster)?.services ?? [],
      cluster: c.cluster,
      domainSuffix,
    });
    gateways.push(...converted.gateways);
    virtualServices.push(...converted.virtualServices);
    ingressProblems.push(...converted.problems);
  }

  // The mesh config comes with the control plane's own cluster's config (the only entry that has one).
  const outboundTrafficMode = config.find((c) => c.outboundTrafficMode !== undefined)?.outboundTrafficMode;
  const secrets = config.filter((c) => c.secrets !== undefined);
  const credentials = secrets.length === 0 ? undefined : secrets
    .flatMap((c) => (c.secrets ?? []).map(parsedCredential))
    .filter((c): c is GatewayCredential => c !== undefined)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const trustDomain = config.find((c) => c.trustDomain !== undefined)?.trustDomain;
  const content = {
    services: [...services.values()].sort((a, b) => a.hostname.localeCompare(b.hostname)),
    endpoints: endpoints.sort(compareEndpoints),
    virtualServices: sortConfig(virtualServices),
    destinationRules: sortConfig(destinationRules),
    gateways: sortConfig(gateways),
    serviceEntries: sortConfig(serviceEntries),
    // Only when there is one, so that snapshots (and their versions) without any stay as they were.
    ...(sidecars.length > 0 ? { sidecars: sortConfig(sidecars) } : {}),
    ...(authorizationPolicies.length > 0 ? { authorizationPolicies: sortConfig(authorizationPolicies) } : {}),
    ...(peerAuthentications.length > 0 ? { peerAuthentications: sortConfig(peerAuthentications) } : {}),
    ...(outboundTrafficMode ? { outboundTrafficMode } : {}),
    ...(trustDomain ? { trustDomain } : {}),
    domainSuffix,
    ...(ingressProblems.length > 0 ? { ingressProblems } : {}),
    // Only when there is one, so that snapshots (and their versions) without any stay as they were.
    ...(proxyConfigAnnotations.length > 0
      ? { proxyConfigAnnotations: proxyConfigAnnotations.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod)) }
      : {}),
    ...(uncapturedTrafficAnnotations.length > 0
      ? { uncapturedTrafficAnnotations: uncapturedTrafficAnnotations.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod)) }
      : {}),
    ...(credentials ? { credentials } : {}),
  };
  const version = createHash('sha256').update(stableJson(content)).digest('hex').slice(0, 16);
  return { snapshot: { ...content, version }, notes };
}

/** A Service's ports as the registry keeps them (protocol defaults to TCP, absent fields left out). */
export function meshServicePorts(ports: ReadonlyArray<{ name?: string; port: number; protocol?: string; appProtocol?: string; targetPort?: number | string }>): MeshServicePort[] {
  return ports.map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    port: p.port,
    protocol: p.protocol ?? 'TCP',
    ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
  }));
}

function mergeService(services: Map<string, MeshService>, svc: V1Service, name: string, namespace: string, clusterId: string, domainSuffix: string): void {
  const hostname = `${name}.${namespace}.svc.${domainSuffix}`;
  const ports = meshServicePorts(svc.spec?.ports ?? []);
  const existing = services.get(hostname);
  // A headless Service ('None') has no virtual IP; neither has one the API server did not give an address yet.
  const clusterIP = svc.spec?.clusterIP && svc.spec.clusterIP !== 'None' ? svc.spec.clusterIP : undefined;
  if (!existing) {
    services.set(hostname, {
      hostname,
      name,
      namespace,
      ports: ports.sort((a, b) => a.port - b.port),
      clusters: [clusterId],
      ...(clusterIP ? { clusterIPs: { [clusterId]: clusterIP } } : {}),
    });
    return;
  }
  if (clusterIP) existing.clusterIPs = { ...existing.clusterIPs, [clusterId]: clusterIP };
  // Clusters are visited in name order: the first cluster's definition of a port wins, others add ports.
  const known = new Set(existing.ports.map((p) => p.port));
  existing.ports = [...existing.ports, ...ports.filter((p) => !known.has(p.port))].sort((a, b) => a.port - b.port);
  existing.clusters = [...existing.clusters, clusterId].sort();
}

function clusterEndpoints(
  cluster: ClusterObjects,
  services: ReadonlyMap<string, V1Service>,
  pods: ReadonlyMap<string, V1Pod>,
  domainSuffix: string,
  notes: BuildNotes,
): MeshEndpoint[] {
  // One endpoint per service and address: during slice churn an address may sit in two slices.
  const byKey = new Map<string, MeshEndpoint>();
  const slices = [...cluster.endpointSlices].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const namespace = slice.metadata?.namespace ?? '';
    const serviceName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!serviceName) continue;
    const svc = services.get(`${namespace}/${serviceName}`);
    if (!svc) continue;
    const ports = endpointPorts(svc, slice);
    if (Object.keys(ports).length === 0) continue;
    const hostname = `${serviceName}.${namespace}.svc.${domainSuffix}`;
    for (const ep of slice.endpoints ?? []) {
      const address = ep.addresses[0];
      if (!address) continue;
      const ref = ep.targetRef;
      let pod: V1Pod | undefined;
      if (ref?.kind === 'Pod' && ref.name) {
        pod = pods.get(`${ref.namespace ?? namespace}/${ref.name}`);
        if (!pod) {
          notes.endpointsWithoutPod.push({ cluster: cluster.clusterId, namespace, pod: ref.name, service: serviceName });
          continue;
        }
      }
      const labels = { ...(pod?.metadata?.labels ?? {}) };
      const hasSidecar = pod !== undefined && hasSidecarContainer(pod);
      const appAddress = pod !== undefined && sidecarFrontsApp(pod) ? appAddressFor(address) : undefined;
      const key = `${hostname}|${address}`;
      const previous = byKey.get(key);
      byKey.set(key, {
        hostname,
        cluster: cluster.clusterId,
        address,
        ports: { ...(previous?.ports ?? {}), ...ports },
        labels,
        locality: locality(pod, ep.zone, cluster.clusterId),
        // Kubernetes: an absent ready condition means ready.
        ready: (previous?.ready ?? true) && ep.conditions?.ready !== false,
        ...(pod?.metadata?.name ? { podName: pod.metadata.name } : {}),
        namespace,
        hasSidecar,
        ...(appAddress ? { appAddress } : {}),
        ...(pod ? { serviceAccount: pod.spec?.serviceAccountName || 'default' } : {}),
      });
    }
  }
  return [...byKey.values()];
}

/** Endpoint port per service port, matched by port name as the EndpointSlice controller names them. */
function endpointPorts(svc: V1Service, slice: V1EndpointSlice): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sp of svc.spec?.ports ?? []) {
    const match = (slice.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'));
    if (match?.port !== undefined) out[sp.name ? sp.name : String(sp.port)] = match.port;
  }
  return out;
}

export function hasSidecarContainer(pod: V1Pod): boolean {
  return (pod.spec?.containers ?? []).some((c) => c.name === SIDECAR_CONTAINER);
}

/** A sidecar in front of an app container (a gateway pod runs istio-proxy alone: no app behind it). */
export function sidecarFrontsApp(pod: V1Pod): boolean {
  return hasSidecarContainer(pod) && (pod.spec?.containers ?? []).length > 1;
}

/**
 * Where the app of a pod with a sidecar listens. Only local clusters (pods on 127.0.0.0/8) split the
 * pod IP this way (see docs: the app binds third octet + 128); on a real cluster iptables redirects
 * and the app keeps the pod IP, so there is no separate app address.
 */
export function appAddressFor(podIp: string): string | undefined {
  const parts = podIp.split('.').map(Number);
  if (parts.length !== 4 || parts[0] !== 127 || !(parts[2] >= 0 && parts[2] < 128)) return undefined;
  return `${parts[0]}.${parts[1]}.${parts[2] + 128}.${parts[3]}`;
}

function locality(pod: V1Pod | undefined, sliceZone: string | undefined, clusterId: string): Locality {
  return podLocality(pod?.metadata?.labels ?? {}, sliceZone ?? clusterId);
}

function istioObjects<Spec>(raw: readonly KubeIstioObject[], cluster: string, kind: string, notes: BuildNotes): IstioObject<Spec>[] {
  const out: IstioObject<Spec>[] = [];
  for (const object of raw) {
    const name = object.metadata?.name;
    const namespace = object.metadata?.namespace;
    const spec = object.spec;
    if (!name || !namespace || typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      notes.malformedConfig.push({ cluster, kind, name: `${namespace ?? '?'}/${name ?? '?'}`, reason: 'needs metadata.name, metadata.namespace and an object spec' });
      continue;
    }
    // The API server validated the spec against the CRD schema when it was written.
    const created = object.metadata?.creationTimestamp;
    const creationTimestamp = created instanceof Date ? created.toISOString() : created;
    out.push({ name, namespace, spec: spec as Spec, cluster, ...(creationTimestamp ? { creationTimestamp } : {}) });
  }
  return out;
}

function sortConfig<Spec>(objects: IstioObject<Spec>[]): IstioObject<Spec>[] {
  return objects.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.cluster.localeCompare(b.cluster));
}

function compareEndpoints(a: MeshEndpoint, b: MeshEndpoint): number {
  return a.hostname.localeCompare(b.hostname) || a.cluster.localeCompare(b.cluster) || a.address.localeCompare(b.address, undefined, { numeric: true });
}
