// Where a Service port leads: its ready endpoints (pod IP : target port) from the Service's
// EndpointSlices, as kube-proxy and the API server's webhook service resolver read them. Pure over
// plain objects, so both the proxy's watch cache and a one-off store lookup use the same rules.
import type { KubeObject } from '../../k8s/object.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ServicePortInfo {
  name: string;
  port: number;
  protocol: string;
}

export interface ServiceInfo {
  namespace: string;
  name: string;
  clusterIP: string | undefined;
  ports: ServicePortInfo[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The fields of a Service that routing needs; ports without a number are left out. */
export function serviceInfo(svc: KubeObject): ServiceInfo {
  const spec = isRecord(svc.spec) ? svc.spec : {};
  const clusterIP = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && spec.clusterIP !== 'None' ? spec.clusterIP : undefined;
  const ports: ServicePortInfo[] = [];
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    if (!isRecord(p) || typeof p.port !== 'number') continue;
    ports.push({ name: typeof p.name === 'string' ? p.name : '', port: p.port, protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP' });
  }
  return { namespace: svc.metadata.namespace ?? '', name: svc.metadata.name ?? '', clusterIP, ports };
}

/**
 * `host:port` of every ready endpoint serving the service port named `portName` (the EndpointSlice
 * port carries the service port's name and the resolved target port), in slice order.
 */
export function readyBackends(slices: readonly KubeObject[], portName: string, protocol = 'TCP'): string[] {
  const out: string[] = [];
  for (const slice of slices) {
    if ((slice as { addressType?: unknown }).addressType !== undefined && slice.addressType !== 'IPv4') continue;
    const ports = Array.isArray(slice.ports) ? slice.ports : [];
    const port = ports.find((p): p is Record<string, unknown> => isRecord(p) && (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
    if (!port || typeof port.port !== 'number') continue;
    for (const ep of Array.isArray(slice.endpoints) ? slice.endpoints : []) {
      if (!isRecord(ep)) continue;
      const conditions = isRecord(ep.conditions) ? ep.conditions : {};
      // An unset ready condition means ready (EndpointConditions docs); terminating endpoints are not.
      if (conditions.ready === false) continue;
      const address = Array.isArray(ep.addresses) ? ep.addresses.find((a): a is string => typeof a === 'string') : undefined;
      if (address) out.push(`${address}:${port.port}`);
    }
  }
  return out;
}
