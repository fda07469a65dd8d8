// ServiceEntry basics: each host of a ServiceEntry becomes a service the mesh can route to.
// STATIC entries give their endpoints to EDS; DNS entries let the proxy resolve the names itself
// (a STRICT_DNS cluster). Wildcard hosts, resolution NONE and workloadSelector are reported as
// unsupported rather than half-translated.

import type { ServiceEntry } from '../config/istio-types.js';
import type { IstioObject, MeshEndpoint, MeshServicePort } from '../registry/model.js';
import type { ServiceView } from './context.js';
import { endpointPortKey } from './names.js';
import { problemAt, type ProblemLog } from './problems.js';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function serviceEntryServices(
  entry: IstioObject<ServiceEntry>,
  problems: ProblemLog,
): Array<{ service: ServiceView; endpoints: MeshEndpoint[] }> {
  const ref = { kind: 'ServiceEntry' as const, name: entry.name, namespace: entry.namespace };
  const spec = entry.spec;
  const resolution = spec.resolution ?? 'NONE';
  if (resolution === 'NONE') {
    problems.add(problemAt(ref, 'warning', 'unsupported', 'spec.resolution',
      'resolution NONE (pass-through to the original destination) is not supported; use STATIC with endpoints, or DNS.'));
    return [];
  }
  if (spec.workloadSelector) {
    problems.add(problemAt(ref, 'warning', 'unsupported', 'spec.workloadSelector',
      'workloadSelector is not supported; list the endpoints in spec.endpoints instead.'));
    return [];
  }
  const ports: MeshServicePort[] = (spec.ports ?? []).map((p) => ({
    name: p.name,
    port: p.number,
    protocol: 'TCP',
    appProtocol: p.protocol?.toLowerCase(),
    targetPort: p.targetPort,
  }));
  if (ports.length === 0) {
    problems.add(problemAt(ref, 'error', 'unknown-port', 'spec.ports', 'a ServiceEntry needs at least one port; add spec.ports.'));
    return [];
  }
  const out: Array<{ service: ServiceView; endpoints: MeshEndpoint[] }> = [];
  (spec.hosts ?? []).forEach((rawHost, hostIndex) => {
    const host = rawHost.toLowerCase();
    if (host.includes('*')) {
      problems.add(problemAt(ref, 'warning', 'unsupported', `spec.hosts[${hostIndex}]`,
        `wildcard host ${host} is not supported; list each host explicitly.`));
      return;
    }
    const service: ServiceView = {
      hostname: host,
      name: host,
      namespace: entry.namespace,
      ports,
      clusters: [entry.cluster],
      discovery: resolution === 'STATIC' ? 'eds' : 'dns',
      exportTo: spec.exportTo,
      origin: ref,
    };
    const workloads = spec.endpoints && spec.endpoints.length > 0 ? spec.endpoints : resolution === 'STATIC' ? [] : [{ address: host }];
    const endpoints: MeshEndpoint[] = [];
    workloads.forEach((w, i) => {
      const address = w.address ?? '';
      if (resolution === 'STATIC' && !IPV4.test(address)) {
        problems.add(problemAt(ref, 'error', 'invalid-route', `spec.endpoints[${i}].address`,
          `STATIC resolution needs IP addresses, got "${address}"; use resolution DNS for host names.`));
        return;
      }
      const [region = '', zone = '', subZone = ''] = (w.locality ?? '').split('/');
      const portMap: Record<string, number> = {};
      for (const p of ports) portMap[endpointPortKey(p)] = (p.name ? w.ports?.[p.name] : undefined) ?? (typeof p.targetPort === 'number' ? p.targetPort : p.port);
      endpoints.push({
        hostname: host,
        cluster: entry.cluster,
        address,
        ports: portMap,
        labels: w.labels ?? {},
        locality: { region, zone, ...(subZone ? { subZone } : {}) },
        ready: true,
        namespace: entry.namespace,
        hasSidecar: false,
      });
    });
    out.push({ service, endpoints });
  });
  return out;
}
