// MultiClusterIngresses as the dashboard shows them (I/O): the objects of a context (the config cluster
// has them; other contexts do not serve the kind), the VIP from their status, and each gateway's
// health-check state as the edge itself sees it, from its admin port on the VIP: Envoy's
// /clusters?format=json (health flags), or GET /stats of the TypeScript edge.
//
// Exports: listMcis, readEdgeBackends, mciBackendsOfStats.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { fetchFailure } from '../net/fetch-error.js';
import { apiErrorCode, apiErrorMessage } from '../k8s/client/client.js';
import { edgeGatewaysOf } from '../mci/envoy-edge.js';
import type { MciBackend } from './topology.js';

const MCI = { group: 'networking.gke.io', version: 'v1beta1', plural: 'multiclusteringresses' };

/** The admin port the MCI controller gives every edge by default (`meshwork mci controller --admin-port`). */
export const DEFAULT_EDGE_ADMIN_PORT = 15000;

export interface MciObject {
  namespace: string;
  name: string;
  vip?: string;
}

/** The MCIs of the context; none when the cluster does not serve the kind. */
export async function listMcis(kc: KubeConfig): Promise<MciObject[]> {
  let body: unknown;
  try {
    body = await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject(MCI);
  } catch (err) {
    if (apiErrorCode(err) === 404) return [];
    throw new Error(`cannot list ${MCI.plural}.${MCI.group}: ${apiErrorMessage(err)}`);
  }
  const items = (body as { items?: Array<{ metadata?: { name?: string; namespace?: string }; status?: { VIP?: string } }> }).items ?? [];
  return items.map((i) => ({ namespace: i.metadata?.namespace ?? '', name: i.metadata?.name ?? '', ...(i.status?.VIP ? { vip: i.status.VIP } : {}) }));
}

interface EdgeStatsBackend {
  id?: string;
  cluster?: string;
  address?: string;
  healthy?: boolean;
  requests?: number;
  lastFailure?: string;
  consecutiveFailures?: number;
}

/** The TypeScript edge's GET /stats backends. */
export function mciBackendsOfStats(stats: unknown): Array<MciBackend & { total: number }> {
  const backends = (stats as { backends?: EdgeStatsBackend[] } | null)?.backends;
  if (!Array.isArray(backends)) throw new Error('not the edge\'s /stats: no backends list');
  return backends.map((b) => ({
    id: b.id ?? '',
    cluster: b.cluster ?? '',
    address: b.address ?? '',
    healthy: b.healthy === true,
    ...(b.healthy !== true && b.lastFailure ? { detail: `failed its health check: ${b.lastFailure}` } : {}),
    total: Number(b.requests ?? 0),
  }));
}

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(`GET ${url} failed: ${fetchFailure(err)}`);
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: undefined };
  }
}

/**
 * The gateways of the edge on `vip` with their health and their request counters (cumulative, `total`).
 * Envoy's admin first; an answer that is not Envoy's (404 or not JSON) is asked for the TypeScript edge's /stats.
 */
export async function readEdgeBackends(vip: string, adminPort = DEFAULT_EDGE_ADMIN_PORT, timeoutMs = 3_000): Promise<Array<MciBackend & { total: number }>> {
  const base = `http://${vip}:${adminPort}`;
  const envoy = await getJson(`${base}/clusters?format=json`, timeoutMs);
  if (envoy.status === 200 && envoy.body && typeof envoy.body === 'object' && 'cluster_statuses' in envoy.body) {
    return edgeGatewaysOf(envoy.body).map((g) => ({
      id: g.id,
      cluster: g.cluster,
      address: g.address,
      healthy: g.healthy,
      ...(g.healthy ? {} : { detail: 'Envoy marks it unhealthy (failed active health check, or its first check is pending)' }),
      total: g.requests,
    }));
  }
  const stats = await getJson(`${base}/stats`, timeoutMs);
  if (stats.status !== 200) throw new Error(`the edge admin on ${base} answered HTTP ${envoy.status} to /clusters and ${stats.status} to /stats`);
  return mciBackendsOfStats(stats.body);
}
