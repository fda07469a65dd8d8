// The translator's simulate() walks the same resources for the same requests: where Envoy answered, its
// outcome (which upstreams the chosen route can reach, a redirect, no route, a missing cluster) must
// agree with what Envoy did. Envoy is the oracle for the simulator's match semantics too.

import type { ProxyResources } from '../translate/envoy-types.js';
import { simulate } from '../translate/simulate.js';
import type { CaseRequest, Observation } from './case.js';
import { DEFAULT_HOST } from './client.js';
import { targetResources, type CaseResources, type UpstreamAddress } from './resources.js';

const LISTEN = { host: '127.230.0.3', port: 15001 };

/** What simulate() predicts for a request, in the terms an observation can be checked against. */
export function simulatedOutcome(res: CaseResources, req: CaseRequest, upstreams: Map<string, UpstreamAddress>): { kind: string; upstreams?: string[]; status?: number } {
  const resources = { ...targetResources(res, LISTEN, (n) => upstreams.get(n)!), problems: [] } as unknown as ProxyResources;
  const byAddress = new Map([...upstreams].map(([name, a]) => [`${a.host}:${a.port}`, name]));
  // DNS clusters name the upstream on 127.0.0.1 'localhost' (see targetResources); simulate() does not resolve names.
  for (const [name, a] of upstreams) if (a.host === '127.0.0.1') byAddress.set(`localhost:${a.port}`, name);
  const result = simulate(resources, { listenerPort: LISTEN.port, host: req.host ?? DEFAULT_HOST, path: req.path, method: req.method ?? 'GET', headers: req.headers });
  if (result.outcome === 'direct-response') return { kind: 'direct-response', status: result.directResponse!.status };
  if (result.outcome !== 'routed') return { kind: result.outcome === 'no-virtual-host' ? 'no-route' : result.outcome };
  const names = result.endpoints.map((e) => byAddress.get(e) ?? e).sort();
  return names.length === 0 ? { kind: 'no-healthy-upstream' } : { kind: 'routed', upstreams: names };
}

/** Does Envoy's answer fit the simulated outcome? undefined when it does, else why not. */
export function disagreement(predicted: { kind: string; upstreams?: string[]; status?: number }, envoy: Observation): string | undefined {
  const fits =
    predicted.kind === 'routed'
      ? envoy.upstream !== undefined && predicted.upstreams!.includes(envoy.upstream)
      : predicted.kind === 'no-route'
        ? envoy.status === 404 && envoy.upstream === undefined
        : predicted.kind === 'direct-response'
          ? envoy.status === predicted.status && envoy.upstream === undefined
        : predicted.kind === 'redirect'
          ? envoy.status >= 300 && envoy.status < 400
          : predicted.kind === 'missing-cluster' || predicted.kind === 'no-healthy-upstream'
            ? envoy.status === 503 && envoy.upstream === undefined
            : predicted.kind === 'direct-response'
              ? envoy.status === predicted.status && envoy.upstream === undefined
              : false;
  return fits ? undefined : `simulate() predicts ${JSON.stringify(predicted)}, Envoy answered ${envoy.status} from ${envoy.upstream ?? 'no upstream'}`;
}
