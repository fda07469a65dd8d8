// What a Service's EndpointSlices should hold, as pure functions: the endpoints of the pods it selects
// (grouped by how its ports resolve on each pod) and how to spread them over slices of at most 100,
// keeping each endpoint in the slice it already is in so that updates touch as few slices as possible.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { findNamedContainerPort, isPodReady, isPodTerminal, podIP, podNodeName } from './pods.js';
import { MalformedObjectError, isRecord, optArray, optBool, optInt, optIntOrString, optRecord, optString, optStringMap } from './read.js';

export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface Endpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
  nodeName?: string;
  zone?: string;
}

export interface ServicePortView {
  name: string;
  port: number;
  targetPort: number | string;
  protocol: string;
  appProtocol?: string;
}

export interface ServiceView {
  name: string;
  namespace: string;
  uid: string;
  labels: Record<string, string>;
  /** Undefined: no selector, the endpoints are someone else's to manage. */
  selector: Record<string, string> | undefined;
  ports: ServicePortView[];
  publishNotReadyAddresses: boolean;
  headless: boolean;
}

export function readService(svc: StoredObject): ServiceView {
  const spec = optRecord(svc.spec, 'spec') ?? {};
  const selector = optStringMap(spec.selector, 'spec.selector');
  const type = optString(spec.type, 'spec.type');
  const ports = optArray(spec.ports, 'spec.ports').map((raw, i): ServicePortView => {
    const at = `spec.ports[${i}]`;
    if (!isRecord(raw)) throw new MalformedObjectError(at, 'an object', raw);
    const port = optInt(raw.port, `${at}.port`);
    if (port === undefined) throw new MalformedObjectError(`${at}.port`, 'a port number', raw.port);
    const appProtocol = optString(raw.appProtocol, `${at}.appProtocol`);
    return {
      name: optString(raw.name, `${at}.name`) ?? '',
      port,
      targetPort: optIntOrString(raw.targetPort, `${at}.targetPort`) ?? port,
      protocol: optString(raw.protocol, `${at}.protocol`) ?? 'TCP',
      ...(appProtocol !== undefined ? { appProtocol } : {}),
    };
  });
  return {
    name: svc.metadata.name,
    namespace: svc.metadata.namespace ?? '',
    uid: svc.metadata.uid,
    labels: svc.metadata.labels ?? {},
    // ExternalName services never have endpoints; an empty selector is "none" (it round-trips as nil).
    selector: type === 'ExternalName' || !selector || Object.keys(selector).length === 0 ? undefined : selector,
    ports,
    publishNotReadyAddresses: optBool(spec.publishNotReadyAddresses, 'spec.publishNotReadyAddresses') ?? false,
    headless: spec.clusterIP === 'None',
  };
}

/** The service's ports as this pod serves them; a named targetPort the pod lacks is left out (FindPort). */
export function resolvePorts(service: ServiceView, pod: KubeObject): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of service.ports) {
    const port = typeof sp.targetPort === 'number' ? sp.targetPort : /^\d+$/.test(sp.targetPort) ? Number(sp.targetPort) : findNamedContainerPort(pod, sp.targetPort, sp.protocol);
    if (port === undefined) continue;
    out.push({ name: sp.name, port, protocol: sp.protocol, ...(sp.appProtocol !== undefined ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

/** The endpoint for a pod, or undefined when the pod is not to be listed (finished, no IPv4 address). */
export function podEndpoint(service: ServiceView, pod: StoredObject, zone: string): Endpoint | undefined {
  if (isPodTerminal(pod)) return undefined;
  const ip = podIP(pod);
  if (!ip || ip.includes(':')) return undefined;
  const serving = isPodReady(pod);
  const terminating = pod.metadata.deletionTimestamp !== undefined;
  const nodeName = podNodeName(pod);
  return {
    addresses: [ip],
    conditions: { ready: service.publishNotReadyAddresses || (serving && !terminating), serving: service.publishNotReadyAddresses || serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, uid: pod.metadata.uid },
    ...(nodeName ? { nodeName, zone } : {}),
  };
}

export interface EndpointGroup {
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

/** Endpoints grouped by their resolved port list (pods may resolve a named port differently). */
export function endpointGroups(service: ServiceView, pods: StoredObject[], zone: string): EndpointGroup[] {
  const groups = new Map<string, EndpointGroup>();
  for (const pod of pods) {
    const endpoint = podEndpoint(service, pod, zone);
    if (!endpoint) continue;
    const ports = resolvePorts(service, pod);
    const key = portsKey(ports);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { ports, endpoints: [] }));
    group.endpoints.push(endpoint);
  }
  return [...groups.values()];
}

/** Identifies a resolved port list (cheaper than canonical JSON: this runs once per pod). */
export function portsKey(ports: readonly EndpointPort[]): string {
  return ports.map((p) => `${p.name}:${p.port}/${p.protocol}/${p.appProtocol ?? ''}`).join(',');
}

/** An existing slice, as far as the plan needs it. */
export interface ExistingSlice {
  name: string;
  portsKey: string;
  endpointUids: string[];
}

export interface SlicePlan {
  /** Slices to write with this content (existing name) or to create (name undefined). */
  slices: Array<{ name?: string; ports: EndpointPort[]; endpoints: Endpoint[] }>;
  /** Existing slices no longer needed. */
  deletes: string[];
}

/**
 * Places endpoints into slices: an endpoint stays in the slice it is in; new ones fill the slices of
 * their port group with room, then new slices. A service without endpoints keeps one empty slice, as
 * the endpointslice controller's placeholder.
 */
export function planSlices(groups: EndpointGroup[], existing: ExistingSlice[], maxPerSlice = MAX_ENDPOINTS_PER_SLICE): SlicePlan {
  const byName = [...existing].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const used = new Set<string>();
  const plan: SlicePlan = { slices: [], deletes: [] };
  const effective = groups.some((g) => g.endpoints.length > 0) ? groups.filter((g) => g.endpoints.length > 0) : [{ ports: [], endpoints: [] }];

  for (const group of effective) {
    const key = portsKey(group.ports);
    const candidates = byName.filter((s) => s.portsKey === key && !used.has(s.name));
    const remaining = new Map(group.endpoints.map((e) => [e.targetRef.uid, e]));
    const filled: Array<{ name?: string; endpoints: Endpoint[] }> = [];
    for (const slice of candidates) {
      const kept: Endpoint[] = [];
      for (const uid of slice.endpointUids) {
        const e = remaining.get(uid);
        if (e && kept.length < maxPerSlice) {
          kept.push(e);
          remaining.delete(uid);
        }
      }
      filled.push({ name: slice.name, endpoints: kept });
    }
    const rest = [...remaining.values()];
    for (const slot of filled) {
      while (slot.endpoints.length < maxPerSlice && rest.length > 0) slot.endpoints.push(rest.shift()!);
    }
    while (rest.length > 0) filled.push({ endpoints: rest.splice(0, maxPerSlice) });

    let keptEmpty = false;
    for (const slot of filled) {
      const placeholder = group.endpoints.length === 0 && !keptEmpty;
      if (slot.endpoints.length === 0 && !placeholder) {
        if (slot.name !== undefined) plan.deletes.push(slot.name);
        continue;
      }
      if (slot.endpoints.length === 0) keptEmpty = true;
      if (slot.name !== undefined) used.add(slot.name);
      slot.endpoints.sort((a, b) => (a.targetRef.name < b.targetRef.name ? -1 : a.targetRef.name > b.targetRef.name ? 1 : 0));
      plan.slices.push({ ...(slot.name !== undefined ? { name: slot.name } : {}), ports: group.ports, endpoints: slot.endpoints });
    }
    if (group.endpoints.length === 0 && !keptEmpty) plan.slices.push({ ports: group.ports, endpoints: [] });
  }
  for (const slice of byName) {
    if (!used.has(slice.name) && !plan.deletes.includes(slice.name)) plan.deletes.push(slice.name);
  }
  return plan;
}
