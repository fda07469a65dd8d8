// The gateway pods behind a derived Service in one member cluster, from its EndpointSlices: pod IP and
// the resolved target port of the MCI's backend service port (the slice carries it under the port's name).
import type { EdgeBackend } from '../edge/edge-proxy.js';
import type { ServicePort } from './resources.js';

export interface EndpointSliceLike {
  ports?: { name?: string | null; port?: number | null }[] | null;
  endpoints?: {
    addresses?: string[] | null;
    conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } | null;
    targetRef?: { name?: string | null } | null;
    zone?: string | null;
  }[] | null;
}

/** Terminating gateways leave at once; the others are judged by the edge's own health check, as GCLB judges NEG members. */
export function gatewayBackends(cluster: string, slices: readonly EndpointSliceLike[], servicePort: ServicePort): EdgeBackend[] {
  const out = new Map<string, EdgeBackend>();
  for (const slice of slices) {
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === (servicePort.name ?? ''))?.port;
    if (typeof port !== 'number') continue;
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.terminating === true) continue;
      const ip = ep.addresses?.[0];
      if (!ip) continue;
      const pod = ep.targetRef?.name ?? ip;
      out.set(`${pod}|${ip}`, { cluster, pod, ip, port, ...(ep.zone ? { zone: ep.zone } : {}) });
    }
  }
  return [...out.values()].sort((a, b) => a.pod.localeCompare(b.pod) || a.ip.localeCompare(b.ip));
}
