// `meshwork proxy-status POD[.NAMESPACE]`: one proxy's config (its own config_dump) compared with what
// its control plane sends it (/debug/config_dump?proxyID=), type by type, as istioctl prints it:
// `Clusters Match`, or `Clusters Don't Match` and the resources that differ. Only the dynamic resources
// are compared: the static ones come from the proxy's bootstrap, never from the control plane.

import { loadKubeConfig } from '../k8s/client/client.js';
import { fromProtoJson } from './config-dump.js';
import { getJson, locateControlPlane } from './control-plane.js';
import { CommandError, errorMessage, outBlock, type CommandIo } from './io.js';
import { hasSidecar, parsePodRef, podLabel, resolvePod } from './pods.js';
import { ADMIN_PORT } from './proxy-dump.js';
import { formatStructured } from './output.js';
import { localKubeconfig } from '../runtime/state.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** Per type: the part of the dump, the list of dynamic entries, where the resource sits in an entry, its name. */
const TYPES = [
  { title: 'Clusters', part: 'ClustersConfigDump', entries: 'dynamic_active_clusters', resource: (e: Json) => e.cluster, name: 'name' },
  { title: 'Listeners', part: 'ListenersConfigDump', entries: 'dynamic_listeners', resource: (e: Json) => (isObject(e.active_state) ? e.active_state.listener : undefined), name: 'name' },
  { title: 'Routes', part: 'RoutesConfigDump', entries: 'dynamic_route_configs', resource: (e: Json) => e.route_config, name: 'name' },
  { title: 'Endpoints', part: 'EndpointsConfigDump', entries: 'dynamic_endpoint_configs', resource: (e: Json) => e.endpoint_config, name: 'cluster_name' },
] as const;

export interface TypeComparison {
  type: (typeof TYPES)[number]['title'];
  match: boolean;
  /** Sent by the control plane, not held by the proxy. */
  missing: string[];
  /** Held by the proxy, no longer sent. */
  extra: string[];
  /** Held by both, with different contents. */
  differing: string[];
  /** The proxy's newest update of this type (Envoy's last_updated). */
  lastLoaded?: string;
}

// proto3 leaves out fields at their zero value, and the enum values numbered 0 among them.
const ZERO_ENUMS = new Set(['ROUND_ROBIN', 'STATIC', 'DEFAULT', 'AUTO', 'UNKNOWN', 'TCP', 'V3', 'INBOUND_UNSPECIFIED', 'UNSPECIFIED']);

function isZero(v: unknown): boolean {
  if (v === false || v === 0 || v === '' || v === null || v === undefined) return true;
  if (typeof v === 'string') return ZERO_ENUMS.has(v);
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.values(v).every(isZero);
}

/**
 * Whether the proxy holds what was sent: every field sent is held with the same value, or left out
 * as proto3 leaves zero values out. Fields held beyond what was sent are defaults Envoy filled in
 * (`policy.overprovisioning_factor`, `health_check_config: {}`), not a difference.
 */
export function holdsWhatWasSent(sent: unknown, held: unknown): boolean {
  if (Array.isArray(sent)) return Array.isArray(held) && held.length === sent.length && sent.every((v, i) => holdsWhatWasSent(v, held[i]));
  if (isObject(sent)) {
    if (!isObject(held)) return isZero(sent) && held === undefined;
    return Object.entries(sent).every(([k, v]) => (k in held ? holdsWhatWasSent(v, held[k]) : isZero(v)));
  }
  // proto3 JSON writes 64-bit integers as strings (`host_selection_retry_max_attempts: "5"`).
  if (typeof sent === 'number' && typeof held === 'string') return held === String(sent);
  return sent === held || (held === undefined && isZero(sent));
}

/** name -> the resource in proto form (Envoy's proto3 JSON and our own dump compare alike). */
function dynamicResources(dump: unknown, t: (typeof TYPES)[number]): { resources: Map<string, unknown>; lastLoaded?: string } {
  const configs = isObject(dump) ? list(dump.configs) : [];
  const part = configs.find((c) => typeof c['@type'] === 'string' && c['@type'].endsWith(`.${t.part}`));
  const resources = new Map<string, unknown>();
  let lastLoaded: string | undefined;
  for (const entry of list(part?.[t.entries])) {
    const resource = t.resource(entry);
    if (!isObject(resource)) continue;
    const { '@type': _type, ...rest } = resource;
    resources.set(String(rest[t.name] ?? ''), fromProtoJson(rest));
    if (typeof entry.last_updated === 'string' && (!lastLoaded || entry.last_updated > lastLoaded)) lastLoaded = entry.last_updated;
  }
  return { resources, ...(lastLoaded ? { lastLoaded } : {}) };
}

/**
 * Compares the proxy's dump with the control plane's, type by type. A type neither has is left out.
 * Envoy lists the inline endpoints of its non-EDS clusters among its endpoints too (include_eds);
 * those never come from EDS, so they are not compared.
 */
export function compareDumps(controlPlane: unknown, proxy: unknown): TypeComparison[] {
  const heldClusters = dynamicResources(proxy, TYPES[0]).resources;
  const inline = new Set([...heldClusters].filter(([, c]) => isObject(c) && c.type !== 'EDS').map(([name]) => name));
  return TYPES.flatMap((t) => {
    const sent = dynamicResources(controlPlane, t).resources;
    const held = dynamicResources(proxy, t);
    if (t.title === 'Endpoints') for (const name of inline) if (!sent.has(name)) held.resources.delete(name);
    if (sent.size === 0 && held.resources.size === 0) return [];
    const missing = [...sent.keys()].filter((n) => !held.resources.has(n)).sort();
    const extra = [...held.resources.keys()].filter((n) => !sent.has(n)).sort();
    const differing = [...sent.keys()].filter((n) => held.resources.has(n) && !holdsWhatWasSent(sent.get(n), held.resources.get(n))).sort();
    const match = missing.length + extra.length + differing.length === 0;
    return [{ type: t.title, match, missing, extra, differing, ...(held.lastLoaded ? { lastLoaded: held.lastLoaded } : {}) }];
  });
}

/** `Routes Match (RDS last loaded at Wed, 02 Dec 2026 23:19:00 GMT)`, or `Listeners Don't Match` and what differs. */
export function formatComparison(results: readonly TypeComparison[]): string[] {
  return results.flatMap((r) => {
    const loaded = r.type === 'Routes' && r.lastLoaded && !Number.isNaN(Date.parse(r.lastLoaded)) ? ` (RDS last loaded at ${new Date(r.lastLoaded).toUTCString()})` : '';
    if (r.match) return [`${r.type} Match${loaded}`];
    return [
      `${r.type} Don't Match${loaded}`,
      ...r.missing.map((n) => `  - ${n} (sent by the control plane, not held by the proxy)`),
      ...r.extra.map((n) => `  + ${n} (held by the proxy, no longer sent)`),
      ...r.differing.map((n) => `  ~ ${n} (held with other contents than sent)`),
    ];
  });
}

export interface ProxyStatusOfOptions {
  kubeconfig?: string;
  context?: string;
  stateDir?: string;
  pod: string;
  namespace?: string;
  controlPlaneAddress?: string;
  output: 'table' | 'json' | 'yaml';
}

export async function runProxyStatusOf(opts: ProxyStatusOfOptions, io: CommandIo): Promise<number> {
  const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}), localKubeconfig: localKubeconfig(opts.stateDir) });
  const ref = parsePodRef(opts.pod, { allowDottedNamespace: opts.namespace === undefined });
  const namespace = opts.namespace ?? ref.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const pod = await resolvePod(kc, ref, namespace);
  const label = podLabel(pod);
  if (!hasSidecar(pod)) throw new CommandError(`${label} has no istio-proxy container: it has no proxy to compare`);
  const ip = pod.status?.podIP;
  if (!ip?.startsWith('127.')) throw new CommandError(`${label}: its proxy's admin port (pod IP ${ip ?? 'none'}) is not reachable from this machine (port-forwarding is not supported yet)`);
  const cp = await locateControlPlane(kc, opts.controlPlaneAddress ? { address: opts.controlPlaneAddress } : {});
  const proxyId = `${pod.metadata?.name ?? ref.name}.${pod.metadata?.namespace ?? namespace}`;
  let sent: unknown;
  try {
    sent = await getJson(cp.url, `/debug/config_dump?proxyID=${encodeURIComponent(proxyId)}`);
  } catch (err) {
    throw new CommandError(`${label}: the control plane ${cp.pod ?? cp.url} sends it nothing (${errorMessage(err)}): is its proxy connected? \`meshwork proxy-status\` lists the connected ones`);
  }
  const held = await getJson(`http://${ip}:${ADMIN_PORT}`, '/config_dump?include_eds', 5000);
  const results = compareDumps(sent, held);
  if (opts.output !== 'table') outBlock(io, formatStructured({ proxy: proxyId, controlPlane: cp.pod ?? cp.url, types: results }, opts.output));
  else outBlock(io, formatComparison(results).join('\n'));
  return 0;
}
