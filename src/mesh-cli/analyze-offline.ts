// `meshwork analyze -f FILE...`: the analyzer over YAML files before anything is applied, alone
// (--use-kube=false) or after the clusters' objects (live-objects.ts), which the files replace. The
// mesh is what the manifests describe: their Services, their pods and the pods their workloads
// (Deployments, ...) would run, each given a placeholder address from TEST-NET-1 (never contacted: the
// analysis is pure), and their Istio config, with their Kubernetes Ingresses read as Istio reads them
// under its default meshConfig (ingressControllerMode STRICT, class "istio").

import type { V1EndpointSlice, V1Ingress, V1IngressClass, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import { DEFAULT_INGRESS_NAMESPACE, DEFAULT_INGRESS_SETTINGS } from '../ingress/class.js';
import type { Manifest } from '../k8s/client/manifests.js';
import { buildMeshSnapshot, SERVICE_NAME_LABEL, type KubeIstioObject } from '../registry/build.js';
import { stableJson, type MeshSnapshot } from '../registry/model.js';

export const OFFLINE_CLUSTER = 'files';

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);
const ISTIO_KINDS = ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'Sidecar', 'AuthorizationPolicy', 'PeerAuthentication'] as const;
const SECURITY_KINDS: ReadonlySet<string> = new Set(['AuthorizationPolicy', 'PeerAuthentication']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringMap = (v: unknown): Record<string, string> =>
  isObject(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};

interface PodShape {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** Container port name -> number, for named targetPorts. */
  namedPorts: Map<string, number>;
  containers: string[];
}

function podShape(name: string, namespace: string, template: unknown): PodShape {
  const meta = isObject(template) && isObject(template.metadata) ? template.metadata : {};
  const spec = isObject(template) && isObject(template.spec) ? template.spec : {};
  const containers = Array.isArray(spec.containers) ? spec.containers.filter(isObject) : [];
  const namedPorts = new Map<string, number>();
  for (const c of containers) {
    for (const p of Array.isArray(c.ports) ? c.ports.filter(isObject) : []) {
      if (typeof p.name === 'string' && typeof p.containerPort === 'number') namedPorts.set(p.name, p.containerPort);
    }
  }
  return { name, namespace, labels: stringMap(meta.labels), namedPorts, containers: containers.map((c) => String(c.name ?? '')) };
}

function workloadPods(objects: readonly KubeObject[], namespaceOf: (o: KubeObject) => string): PodShape[] {
  const pods: PodShape[] = [];
  for (const o of objects) {
    const name = o.metadata.name ?? '';
    if (o.kind === 'Pod' && o.apiVersion === 'v1') pods.push(podShape(name, namespaceOf(o), o));
    else if (WORKLOAD_KINDS.has(o.kind) && isObject(o.spec)) pods.push(podShape(`${name}-template`, namespaceOf(o), o.spec.template));
  }
  return pods;
}

function servicePorts(spec: Record<string, unknown>): V1ServicePort[] {
  return (Array.isArray(spec.ports) ? spec.ports.filter(isObject) : []).flatMap((p) =>
    typeof p.port === 'number'
      ? [{
          port: p.port,
          ...(typeof p.name === 'string' ? { name: p.name } : {}),
          protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
          ...(typeof p.targetPort === 'number' || typeof p.targetPort === 'string' ? { targetPort: p.targetPort } : {}),
          ...(typeof p.appProtocol === 'string' ? { appProtocol: p.appProtocol } : {}),
        }]
      : [],
  );
}

export interface OfflineMesh {
  snapshot: MeshSnapshot;
  /** Objects given twice, differently: as with `kubectl apply -f` of both, the later one is what would stay. */
  replaced: string[];
}

export function offlineSnapshot(manifests: readonly Manifest[], defaultNamespace: string): OfflineMesh {
  const namespaceOf = (o: KubeObject): string => o.metadata.namespace ?? defaultNamespace;
  const latest = new Map<string, Manifest>();
  const replaced: string[] = [];
  for (const m of manifests) {
    const key = `${m.object.apiVersion.split('/')[0]}|${m.object.kind}|${namespaceOf(m.object)}/${m.object.metadata.name ?? ''}`;
    const earlier = latest.get(key);
    if (earlier && stableJson(earlier.object) !== stableJson(m.object)) {
      replaced.push(`${m.object.kind} ${namespaceOf(m.object)}/${m.object.metadata.name ?? ''}: ${earlier.source} is replaced by ${m.source}`);
    }
    latest.delete(key);
    latest.set(key, m);
  }
  const objects = [...latest.values()].map((m) => m.object);
  const pods = workloadPods(objects, namespaceOf);
  const services: V1Service[] = [];
  const slices: V1EndpointSlice[] = [];
  const addressOf = new Map<PodShape, string>();
  pods.forEach((p, i) => addressOf.set(p, `192.0.${2 + Math.floor(i / 250)}.${(i % 250) + 1}`));

  for (const o of objects) {
    if (o.kind !== 'Service' || o.apiVersion !== 'v1') continue;
    const spec = isObject(o.spec) ? o.spec : {};
    const name = o.metadata.name ?? '';
    const namespace = namespaceOf(o);
    const ports = servicePorts(spec);
    const selector = stringMap(spec.selector);
    services.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports, selector, ...(typeof spec.type === 'string' ? { type: spec.type } : {}) } });
    if (Object.keys(selector).length === 0) continue;
    const selected = pods.filter((p) => p.namespace === namespace && Object.entries(selector).every(([k, v]) => p.labels[k] === v));
    for (const pod of selected) {
      const target = (sp: V1ServicePort): number | undefined =>
        typeof sp.targetPort === 'number' ? sp.targetPort : typeof sp.targetPort === 'string' ? pod.namedPorts.get(sp.targetPort) ?? Number(sp.targetPort) : sp.port;
      slices.push({
        addressType: 'IPv4',
        metadata: { name: `${name}-${pod.name}`, namespace, labels: { [SERVICE_NAME_LABEL]: name } },
        endpoints: [{ addresses: [addressOf.get(pod) ?? '192.0.2.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: pod.name, namespace } }],
        ports: ports.flatMap((sp) => {
          const port = target(sp);
          return port !== undefined && Number.isInteger(port) ? [{ port, protocol: sp.protocol ?? 'TCP', ...(sp.name ? { name: sp.name } : {}) }] : [];
        }),
      });
    }
  }
  const v1Pods: V1Pod[] = pods.map((p) => ({
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: { containers: p.containers.map((name) => ({ name })) },
    status: { podIP: addressOf.get(p) ?? '' },
  }));
  const istio = (kind: (typeof ISTIO_KINDS)[number]): KubeIstioObject[] =>
    objects
      .filter((o) => o.kind === kind && o.apiVersion.startsWith(SECURITY_KINDS.has(kind) ? 'security.istio.io/' : 'networking.istio.io/'))
      .map((o) => ({
        apiVersion: o.apiVersion,
        kind: o.kind,
        // Istio orders conflicting config by age: a file's creationTimestamp counts, as a live object's does.
        metadata: { name: o.metadata.name ?? '', namespace: namespaceOf(o), ...(o.metadata.creationTimestamp ? { creationTimestamp: o.metadata.creationTimestamp } : {}) },
        spec: o.spec,
      }));
  // The apiserver would have checked them; what the conversion reads is taken as the files give it.
  const networking = (kind: string) => objects.filter((o) => o.kind === kind && o.apiVersion === 'networking.k8s.io/v1');
  const metaOf = (o: KubeObject, namespace?: string) => ({
    name: o.metadata.name ?? '',
    ...(namespace !== undefined ? { namespace } : {}),
    ...(o.metadata.annotations ? { annotations: o.metadata.annotations } : {}),
    ...(o.metadata.creationTimestamp ? { creationTimestamp: new Date(o.metadata.creationTimestamp) } : {}),
  });
  const ingresses = networking('Ingress').map((o): V1Ingress => ({ metadata: metaOf(o, namespaceOf(o)), spec: o.spec as V1Ingress['spec'] }));
  const ingressClasses = networking('IngressClass').map((o): V1IngressClass => ({ metadata: metaOf(o), spec: o.spec as V1IngressClass['spec'] }));
  const namespaces = [...new Set([...services.map((s) => s.metadata?.namespace ?? ''), ...pods.map((p) => p.namespace)])].map((name) => ({ metadata: { name } }));
  const { snapshot } = buildMeshSnapshot({
    clusters: [{ clusterId: OFFLINE_CLUSTER, services, endpointSlices: slices, pods: v1Pods, namespaces }],
    config: [{
      cluster: OFFLINE_CLUSTER,
      virtualServices: istio('VirtualService'),
      destinationRules: istio('DestinationRule'),
      gateways: istio('Gateway'),
      serviceEntries: istio('ServiceEntry'),
      sidecars: istio('Sidecar'),
      authorizationPolicies: istio('AuthorizationPolicy'),
      peerAuthentications: istio('PeerAuthentication'),
      ingress: { ingresses, ingressClasses, mesh: DEFAULT_INGRESS_SETTINGS, ingressNamespace: DEFAULT_INGRESS_NAMESPACE },
    }],
  });
  return { snapshot, replaced };
}
