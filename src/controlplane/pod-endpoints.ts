// Services' endpoints made from their selectors and the Pods they select, for clusters whose API
// server will not hold the pods' addresses in EndpointSlices: kube-apiserver refuses loopback
// addresses there (ValidateEndpointIP), and pods of meshwork's process kubelet have loopback IPs
// (127.s.x.y), so the controller manager's EndpointSlice controller gets every write refused. The
// control plane then does what that controller would do, in memory: the slices it would write, one
// per Service and resolved port list, read by the registry as if listed from the API server.
// Pure: no I/O.
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL } from '../registry/build.js';

/** The label the slices made here carry (the controller manager's is endpointslice-controller.k8s.io). */
export const POD_ENDPOINTS_MANAGER = 'meshwork-control-plane.pod-endpoints';

interface ResolvedPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The Service's ports on this pod: a named targetPort the pod does not declare is left out, as FindPort does. */
function resolvePorts(service: V1Service, pod: V1Pod): ResolvedPort[] {
  const out: ResolvedPort[] = [];
  for (const sp of service.spec?.ports ?? []) {
    const protocol = sp.protocol ?? 'TCP';
    const target = sp.targetPort ?? sp.port;
    let port: number | undefined;
    if (typeof target === 'number') port = target;
    else if (/^\d+$/.test(target)) port = Number(target);
    else port = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []).find((p) => p.name === target && (p.protocol ?? 'TCP') === protocol)?.containerPort;
    if (port === undefined) continue;
    out.push({ name: sp.name ?? '', port, protocol, ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

/**
 * The EndpointSlices the controller manager would keep for `services` from `pods`: Services with a
 * selector (not ExternalName), their namespace's running pods with an IPv4 address, ready when the
 * pod is Ready (or the Service publishes not-ready addresses), not terminating.
 */
export function endpointSlicesFromPods(services: readonly V1Service[], pods: readonly V1Pod[]): V1EndpointSlice[] {
  const byNamespace = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const phase = pod.status?.phase;
    const ip = pod.status?.podIP;
    if (phase === 'Succeeded' || phase === 'Failed' || !ip || ip.includes(':')) continue;
    const ns = pod.metadata?.namespace ?? '';
    let list = byNamespace.get(ns);
    if (!list) byNamespace.set(ns, (list = []));
    list.push(pod);
  }
  const slices: V1EndpointSlice[] = [];
  for (const service of services) {
    const selector = service.spec?.selector;
    if (service.spec?.type === 'ExternalName' || !selector || Object.keys(selector).length === 0) continue;
    const namespace = service.metadata?.namespace ?? '';
    const name = service.metadata?.name ?? '';
    const groups = new Map<string, { ports: ResolvedPort[]; endpoints: NonNullable<V1EndpointSlice['endpoints']> }>();
    for (const pod of byNamespace.get(namespace) ?? []) {
      if (!selects(selector, pod.metadata?.labels)) continue;
      const ports = resolvePorts(service, pod);
      const key = JSON.stringify(ports);
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { ports, endpoints: [] }));
      const serving = podReady(pod);
      const terminating = pod.metadata?.deletionTimestamp !== undefined;
      const publish = service.spec?.publishNotReadyAddresses === true;
      group.endpoints.push({
        addresses: [pod.status!.podIP!],
        conditions: { ready: publish || (serving && !terminating), serving: publish || serving, terminating },
        targetRef: { kind: 'Pod', namespace, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
        ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      });
    }
    let i = 0;
    for (const group of groups.values()) {
      slices.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-pods-${i++}`, namespace, labels: { [SERVICE_NAME_LABEL]: name, 'endpointslice.kubernetes.io/managed-by': POD_ENDPOINTS_MANAGER } },
        addressType: 'IPv4',
        endpoints: group.endpoints,
        ports: group.ports,
      });
    }
  }
  return slices;
}

/**
 * What the registry reads with pod endpoints on: the slices made from pods, and the API server's
 * slices of Services without a selector (someone else's endpoints, kept as written).
 */
export function withPodEndpoints(services: readonly V1Service[], pods: readonly V1Pod[], listed: readonly V1EndpointSlice[]): V1EndpointSlice[] {
  const selected = new Set(services.filter((s) => s.spec?.type !== 'ExternalName' && Object.keys(s.spec?.selector ?? {}).length > 0).map((s) => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`));
  const own = listed.filter((slice) => !selected.has(`${slice.metadata?.namespace ?? ''}/${slice.metadata?.labels?.[SERVICE_NAME_LABEL] ?? ''}`));
  return [...own, ...endpointSlicesFromPods(services, pods)];
}
