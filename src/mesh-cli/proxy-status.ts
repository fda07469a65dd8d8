// `meshwork proxy-status`: every proxy the control plane of each cluster has seen lately, and per xDS
// type whether it has ACKed what it was sent (SYNCED), has been sent nothing (NOT SENT), or has not
// ACKed (or NACKed) the last push (STALE), as `istioctl proxy-status` prints it. The STATUS column says
// whether the proxy is CONNECTED, STALE (it has not taken the latest version for a while: which type,
// the version it has) or DISCONNECTED (why, how long ago; listed for 10 minutes).

import type { KubeConfig } from '@kubernetes/client-node';
import { formatStructured, formatTable } from './output.js';
import { loadKubeConfig } from '../k8s/client/client.js';
import { parseNodeId } from '../controlplane/identity.js';
import { humanDuration } from '../k8s/age.js';
import { getJson, locateControlPlane } from './control-plane.js';
import { CommandError, errorMessage, outBlock, type CommandIo } from './io.js';
import { localKubeconfig } from '../runtime/state.js';

const TYPES = ['CDS', 'LDS', 'EDS', 'RDS'] as const;
type XdsType = (typeof TYPES)[number];

export interface TypeSync {
  state: string;
  sentVersion?: string;
  ackedVersion?: string;
  nack?: { version?: string; message: string; at?: string };
}

export interface StaleTypeInfo {
  type: string;
  has?: string;
  latest: string;
  why: string;
  since: string;
}

export interface RowStatus {
  state: 'CONNECTED' | 'STALE' | 'DISCONNECTED';
  /** The STATUS column: `DISCONNECTED (closed by the proxy, 3m ago)`. */
  summary: string;
  reason?: string;
  disconnectedAt?: string;
  stale?: StaleTypeInfo[];
}

export interface ProxyStatusRow {
  /** pod.namespace for sidecars and gateways, else the node id. */
  name: string;
  nodeId: string;
  cluster: string;
  status: RowStatus;
  types: Record<XdsType, TypeSync>;
  /** The control plane that serves it: istiod pod (or debug URL) and the context it was found in. */
  istiod: string;
  context: string;
  version: string;
  configRejected?: string;
  /** The control plane held a response back (e.g. over the proxy's receive limit). */
  sendError?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeSync(v: unknown): TypeSync {
  if (!isObject(v)) return { state: 'NOT SENT' };
  const nack = isObject(v.nack) ? { ...(typeof v.nack.version === 'string' ? { version: v.nack.version } : {}), message: String(v.nack.message ?? ''), ...(typeof v.nack.at === 'string' ? { at: v.nack.at } : {}) } : undefined;
  return {
    state: typeof v.state === 'string' ? v.state : 'NOT SENT',
    ...(typeof v.sentVersion === 'string' ? { sentVersion: v.sentVersion } : {}),
    ...(typeof v.ackedVersion === 'string' ? { ackedVersion: v.ackedVersion } : {}),
    ...(nack ? { nack } : {}),
  };
}

export function displayName(nodeId: string): string {
  const parsed = parseNodeId(nodeId);
  return parsed?.podName && parsed.namespace ? `${parsed.podName}.${parsed.namespace}` : nodeId;
}

/** The first 8 characters of a version, as short as a git hash is shown. */
const shortVersion = (v: string | undefined): string => (v === undefined ? 'nothing' : v.slice(0, 8));

function staleInfo(v: unknown): StaleTypeInfo | undefined {
  if (!isObject(v) || typeof v.type !== 'string' || typeof v.latest !== 'string' || typeof v.since !== 'string') return undefined;
  return { type: v.type, ...(typeof v.has === 'string' ? { has: v.has } : {}), latest: v.latest, why: String(v.why ?? ''), since: v.since };
}

/** `RDS has 1a2b3c4d, 9f8e7d6c not ACKed for 42s` */
function staleText(s: StaleTypeInfo, now: number): string {
  const age = humanDuration(now - Date.parse(s.since));
  const latest = shortVersion(s.latest);
  const what = s.why === 'nacked' ? `NACKed ${latest} ${age} ago` : s.why === 'not-sent' ? `${latest} held back for ${age}` : `${latest} not ACKed for ${age}`;
  return `${s.type} has ${shortVersion(s.has)}, ${what}`;
}

function rowStatus(p: Record<string, unknown>, disconnected: boolean, now: number): RowStatus {
  if (disconnected) {
    const reason = typeof p.reason === 'string' ? p.reason : 'unknown';
    const at = typeof p.disconnectedAt === 'string' ? p.disconnectedAt : undefined;
    const age = at ? `, ${humanDuration(now - Date.parse(at))} ago` : '';
    return { state: 'DISCONNECTED', summary: `DISCONNECTED (${reason}${age})`, reason, ...(at ? { disconnectedAt: at } : {}) };
  }
  const stale = (Array.isArray(p.stale) ? p.stale : []).map(staleInfo).filter((x): x is StaleTypeInfo => x !== undefined);
  if (p.state === 'STALE' && stale.length > 0) return { state: 'STALE', summary: `STALE (${stale.map((x) => staleText(x, now)).join('; ')})`, stale };
  return { state: 'CONNECTED', summary: 'CONNECTED' };
}

/**
 * The rows of one control plane's /debug/syncz: its connected proxies (of several streams of one
 * node, the newest) and those that went away lately. Ages are measured against the answer's `now`.
 */
export function syncRows(syncz: unknown, where: { istiod: string; context: string }): ProxyStatusRow[] {
  if (!isObject(syncz) || !Array.isArray(syncz.proxies)) throw new Error('not a /debug/syncz answer: expected {proxies: [...]}');
  const now = typeof syncz.now === 'string' && !Number.isNaN(Date.parse(syncz.now)) ? Date.parse(syncz.now) : Date.now();
  const newest = new Map<string, Record<string, unknown>>();
  for (const p of syncz.proxies) {
    if (!isObject(p) || typeof p.nodeId !== 'string') continue;
    const seen = newest.get(p.nodeId);
    if (!seen || String(p.connectedAt ?? '') >= String(seen.connectedAt ?? '')) newest.set(p.nodeId, p);
  }
  // An older control plane has no `disconnected` list.
  const gone = (Array.isArray(syncz.disconnected) ? syncz.disconnected : []).filter((p): p is Record<string, unknown> => isObject(p) && typeof p.nodeId === 'string' && !newest.has(p.nodeId));
  const row = (p: Record<string, unknown>, disconnected: boolean): ProxyStatusRow => {
    const nodeId = String(p.nodeId);
    const types = isObject(p.types) ? p.types : {};
    const metadata = isObject(p.metadata) ? p.metadata : {};
    return {
      name: displayName(nodeId),
      nodeId,
      cluster: typeof p.cluster === 'string' && p.cluster ? p.cluster : '-',
      status: rowStatus(p, disconnected, now),
      types: { CDS: typeSync(types.CDS), LDS: typeSync(types.LDS), EDS: typeSync(types.EDS), RDS: typeSync(types.RDS) },
      istiod: where.istiod,
      context: where.context,
      version: typeof p.userAgent === 'string' && p.userAgent !== '-' ? p.userAgent : typeof metadata.ISTIO_VERSION === 'string' ? metadata.ISTIO_VERSION : '-',
      ...(typeof p.configRejected === 'string' ? { configRejected: p.configRejected } : {}),
      ...(typeof p.sendError === 'string' ? { sendError: p.sendError } : {}),
    };
  };
  return [...[...newest.values()].map((p) => row(p, false)), ...gone.map((p) => row(p, true))].sort((a, b) => a.name.localeCompare(b.name));
}

export function formatProxyStatus(rows: readonly ProxyStatusRow[]): string {
  return formatTable(
    ['NAME', 'CLUSTER', 'STATUS', ...TYPES, 'ISTIOD', 'VERSION'],
    rows.map((r) => [r.name, r.cluster, r.status.summary, ...TYPES.map((t) => r.types[t].state), r.istiod, r.version]),
  );
}

export interface ProxyStatusOptions {
  kubeconfig?: string;
  stateDir?: string;
  /** Empty: every context of the kubeconfig that has a control plane. */
  contexts: string[];
  controlPlaneAddress?: string;
  /** Only proxies of this namespace (-n). */
  namespace?: string;
  output: 'table' | 'json' | 'yaml';
}

function kubeConfigFor(opts: ProxyStatusOptions, context?: string): KubeConfig {
  return loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), localKubeconfig: localKubeconfig(opts.stateDir), ...(context ? { context } : {}) });
}

export async function runProxyStatus(opts: ProxyStatusOptions, io: CommandIo): Promise<number> {
  const explicit = opts.contexts.length > 0;
  const contexts = explicit ? opts.contexts : kubeConfigFor(opts).getContexts().map((c) => c.name);
  if (opts.controlPlaneAddress && contexts.length > 1) throw new CommandError('--control-plane-address names one control plane: give exactly one --context with it');
  const rows: ProxyStatusRow[] = [];
  // A context whose control plane cannot be asked is named, never left out silently: its proxies
  // would look as if they did not exist.
  const unreachable: Array<{ context: string; reason: string }> = [];
  let found = 0;
  for (const context of contexts) {
    const kc = kubeConfigFor(opts, context);
    try {
      const cp = await locateControlPlane(kc, opts.controlPlaneAddress ? { address: opts.controlPlaneAddress } : {});
      rows.push(...syncRows(await getJson(cp.url, '/debug/syncz'), { istiod: cp.pod ?? cp.url, context }));
      found++;
    } catch (err) {
      if (explicit && contexts.length === 1) throw err;
      unreachable.push({ context, reason: errorMessage(err).replace(`context ${context}: `, '') });
    }
  }
  if (found === 0) {
    throw new CommandError(`no control plane answered in any context of the kubeconfig (${contexts.join(', ') || 'none'}):\n  ${unreachable.map((u) => `${u.context}: ${u.reason}`).join('\n  ')}`);
  }
  for (const u of unreachable) io.err(`warning: proxies of ${u.context} are not listed: ${u.reason}`);
  if (opts.namespace) {
    const suffix = `.${opts.namespace}`;
    rows.splice(0, rows.length, ...rows.filter((r) => r.name.endsWith(suffix)));
  }
  rows.sort((a, b) => a.name.localeCompare(b.name) || a.cluster.localeCompare(b.cluster));
  if (opts.output !== 'table') {
    outBlock(io, formatStructured(rows, opts.output));
  } else if (rows.length === 0) {
    io.out('no proxies are connected, and none went away in the last 10 minutes');
  } else {
    outBlock(io, formatProxyStatus(rows));
    for (const r of rows.filter((x) => x.configRejected)) io.err(`warning: ${r.name}: the control plane could not build its config: ${r.configRejected}`);
    for (const r of rows.filter((x) => x.sendError)) io.err(`warning: ${r.name}: ${r.sendError}`);
  }
  return 0;
}
