// `meshwork rollout-status KIND/NAME`: waits until every proxy of every cluster has ACKed the config
// carrying the object's current version, as `istioctl experimental wait` does. Each cluster's control
// plane serves its own cluster's config (multi-primary), so in each context the object's
// resourceVersion is read from that cluster's API server and looked up in that cluster's control plane
// (/debug/config_distribution?resource=Kind/namespace/name). Exit 0 when all ACKed; 1 on a NACK (naming
// the proxy and Envoy's message); 2 on timeout (naming the proxies behind).

import { KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import { apiVersionOf, RESOURCE_TYPES, type ResourceType } from '../k8s/kinds.js';
import { formatStructured, formatTable } from './output.js';
import { apiErrorCode, apiErrorMessage, loadKubeConfig } from '../k8s/client/client.js';
import { localKubeconfig } from '../runtime/state.js';
import type { ConfigChange, ConfigDistributionReport, ProxyPropagation } from '../controlplane/propagation-report.js';
import { parseGoDuration } from '../config/duration.js';
import { getJson, locateControlPlane } from './control-plane.js';
import { CommandError, errorMessage, outBlock, type CommandIo } from './io.js';

/** The kinds whose changes the control plane tracks (controlplane/cluster-watch.ts). */
export const TRACKED_KINDS = ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'Sidecar', 'PeerAuthentication', 'AuthorizationPolicy', 'Service'] as const;

/** `virtualservice/helloworld`, `vs/helloworld`, `virtualservices.networking.istio.io/helloworld` -> the type and name. */
export function parseKindName(text: string): { type: ResourceType; name: string } {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1 || text.indexOf('/', slash + 1) >= 0) {
    throw new CommandError(`"${text}" is not KIND/NAME, e.g. virtualservice/helloworld (with -n for the namespace)`);
  }
  const word = text.slice(0, slash).toLowerCase();
  const name = text.slice(slash + 1);
  const [resource, ...groupParts] = word.split('.');
  const group = groupParts.join('.');
  const type = RESOURCE_TYPES.find(
    (t) =>
      (TRACKED_KINDS as readonly string[]).includes(t.kind) &&
      (group === '' || t.group === group) &&
      (t.kind.toLowerCase() === resource || t.plural === resource || t.singular === resource || t.shortNames.includes(resource ?? '')),
  );
  if (!type) {
    throw new CommandError(`"${text.slice(0, slash)}" is not a kind whose propagation the control plane tracks; use one of ${TRACKED_KINDS.map((k) => k.toLowerCase()).join(', ')} (or vs, dr, gw, se, pa, ap, svc)`);
  }
  return { type, name };
}

/** `60s`, `2m`, `90` (seconds) -> ms. */
export function parseTimeout(text: string): number {
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  try {
    return parseGoDuration(text, '--timeout');
  } catch (err) {
    throw new CommandError(errorMessage(err));
  }
}

/** What is awaited in one cluster: its control plane's change of the object at its resourceVersion there. */
export interface ClusterTarget {
  context: string;
  /** The control plane's cluster (its report's `cluster`), once it answered. */
  cluster?: string;
  /** The object's resourceVersion in this cluster; undefined when the object is not there. */
  resourceVersion?: string;
  /** The tracked change at (or after) that version, once the control plane has observed it. */
  change?: ConfigChange;
  /** Why this cluster could not be asked (control plane not found, API error). */
  problem?: string;
}

export interface RolloutRow {
  cluster: string;
  proxy: string;
  nodeId: string;
  state: ProxyPropagation['state'];
  /** ms from the watch event to the ACK. */
  ackedAfterMs?: number;
  error?: string;
}

export type Verdict = { kind: 'done' } | { kind: 'nacked'; rows: RolloutRow[] } | { kind: 'waiting'; behind: RolloutRow[]; unobserved: ClusterTarget[] };

const numeric = (rv: string): bigint | undefined => (/^\d+$/.test(rv) ? BigInt(rv) : undefined);

/**
 * The change a cluster's report holds for the object at `resourceVersion` in `cluster`: that exact one,
 * else a later one (resourceVersions compared as numbers, as istioctl does), newest first.
 */
export function targetChange(report: ConfigDistributionReport, resourceVersion: string): ConfigChange | undefined {
  const own = report.changes.filter((c) => c.sourceCluster === report.cluster);
  const exact = own.find((c) => c.resourceVersion === resourceVersion);
  if (exact) return exact;
  const wanted = numeric(resourceVersion);
  if (wanted === undefined) return undefined;
  return own.find((c) => {
    const rv = numeric(c.resourceVersion);
    return rv !== undefined && rv > wanted;
  });
}

export function rolloutRows(targets: readonly ClusterTarget[]): RolloutRow[] {
  return targets.flatMap((t) =>
    (t.change?.proxies ?? []).map((p) => ({
      cluster: p.cluster,
      proxy: p.pod ?? p.nodeId,
      nodeId: p.nodeId,
      state: p.state,
      ...(p.latencyMs !== undefined ? { ackedAfterMs: p.latencyMs } : {}),
      ...(p.error !== undefined ? { error: p.error } : {}),
    })),
  ).sort((a, b) => a.cluster.localeCompare(b.cluster) || a.proxy.localeCompare(b.proxy));
}

/** Done when every cluster that has the object has observed it and all its proxies ACKed; a NACK ends it at once. */
export function verdict(targets: readonly ClusterTarget[]): Verdict {
  const rows = rolloutRows(targets);
  const nacked = rows.filter((r) => r.state === 'nacked');
  if (nacked.length > 0) return { kind: 'nacked', rows: nacked };
  const unobserved = targets.filter((t) => t.resourceVersion !== undefined && !t.change);
  const behind = rows.filter((r) => r.state !== 'acked');
  return unobserved.length === 0 && behind.length === 0 ? { kind: 'done' } : { kind: 'waiting', behind, unobserved };
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)}s`);

export function formatRollout(rows: readonly RolloutRow[]): string {
  return formatTable(['CLUSTER', 'PROXY', 'STATE', 'ACKED AFTER'], rows.map((r) => [r.cluster, r.proxy, r.state.toUpperCase(), r.state === 'acked' ? seconds(r.ackedAfterMs) : '-']));
}

/** proxy-status's style: a row per proxy, its state for the change and what went wrong. */
export function formatSinceApply(rows: readonly RolloutRow[]): string {
  return formatTable(['NAME', 'CLUSTER', 'CHANGE', 'ACKED AFTER', 'ERROR'], rows.map((r) => [r.proxy, r.cluster, r.state.toUpperCase(), r.state === 'acked' ? seconds(r.ackedAfterMs) : '-', r.error ?? '']));
}

export function summaryLine(what: string, targets: readonly ClusterTarget[], rows: readonly RolloutRow[]): string {
  const versions = targets.filter((t) => t.resourceVersion !== undefined).map((t) => `${t.resourceVersion} in ${t.cluster ?? t.context}`).join(', ');
  const acked = rows.filter((r) => r.state === 'acked');
  const clusters = new Set(rows.map((r) => r.cluster)).size;
  const slowest = acked.reduce((m, r) => Math.max(m, r.ackedAfterMs ?? 0), 0);
  return `${what} (resourceVersion ${versions}): ${acked.length}/${rows.length} proxies ACKed in ${clusters} cluster${clusters === 1 ? '' : 's'}` + (acked.length > 0 ? `, slowest after ${seconds(slowest)}` : '');
}

function behindText(v: Extract<Verdict, { kind: 'waiting' }>): string {
  const parts = [
    ...v.unobserved.map((t) => `the control plane of ${t.cluster ?? t.context} has not observed resourceVersion ${t.resourceVersion} yet`),
    ...v.behind.map((r) => `${r.cluster} ${r.proxy} ${r.state.toUpperCase()}${r.error ? ` (${r.error})` : ''}`),
  ];
  return parts.join('; ');
}

export interface RolloutStatusOptions {
  /** KIND/NAME */
  resource: string;
  namespace?: string;
  /** Empty: every context of the kubeconfig. */
  contexts: string[];
  timeoutMs: number;
  kubeconfig?: string;
  stateDir?: string;
  controlPlaneAddress?: string;
  output: 'table' | 'json' | 'yaml';
  /** Between looks at the control planes (default 250 ms). */
  pollMs?: number;
  /**
   * `proxy-status --since-apply`: one look, proxy-status's table (NAME, CLUSTER, CHANGE, ACKED AFTER,
   * ERROR), exit 0 whatever it finds, as proxy-status does.
   */
  once?: boolean;
}

function kubeConfigFor(opts: RolloutStatusOptions, context?: string): KubeConfig {
  return loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), localKubeconfig: localKubeconfig(opts.stateDir), ...(context ? { context } : {}) });
}

/** The object's resourceVersion in the context's cluster; undefined when it is not there. */
async function currentVersion(kc: KubeConfig, type: ResourceType, namespace: string, name: string): Promise<string | undefined> {
  try {
    const obj = await KubernetesObjectApi.makeApiClient(kc).read({ apiVersion: apiVersionOf(type.group, type.versions[0]!), kind: type.kind, metadata: { name, namespace } });
    return obj.metadata?.resourceVersion;
  } catch (err) {
    if (apiErrorCode(err) === 404) return undefined;
    throw new CommandError(`context ${kc.getCurrentContext()}: reading ${type.kind} ${namespace}/${name}: ${apiErrorMessage(err)}`);
  }
}

export async function runRolloutStatus(opts: RolloutStatusOptions, io: CommandIo): Promise<number> {
  const { type, name } = parseKindName(opts.resource);
  const contexts = opts.contexts.length > 0 ? opts.contexts : kubeConfigFor(opts).getContexts().map((c) => c.name);
  if (contexts.length === 0) throw new CommandError('the kubeconfig has no contexts: run `meshwork up`, or give --kubeconfig');
  if (opts.controlPlaneAddress && contexts.length > 1) throw new CommandError('--control-plane-address names one control plane: give exactly one --context with it');
  const namespace = opts.namespace ?? kubeConfigFor(opts, contexts[0]).getContextObject(contexts[0]!)?.namespace ?? 'default';
  const what = `${type.kind} ${namespace}/${name}`;
  const resource = `${type.kind}/${namespace}/${name}`;

  const targets: ClusterTarget[] = [];
  const endpoints = new Map<string, string>();
  for (const context of contexts) {
    const kc = kubeConfigFor(opts, context);
    const target: ClusterTarget = { context };
    targets.push(target);
    try {
      const rv = await currentVersion(kc, type, namespace, name);
      if (rv === undefined) continue;
      target.resourceVersion = rv;
      const cp = await locateControlPlane(kc, opts.controlPlaneAddress ? { address: opts.controlPlaneAddress } : {});
      endpoints.set(context, cp.url);
    } catch (err) {
      target.problem = errorMessage(err).replace(`context ${context}: `, '');
    }
  }
  const broken = targets.filter((t) => t.problem);
  if (broken.length > 0) throw new CommandError(`cannot follow ${what} in every cluster:\n  ${broken.map((t) => `${t.context}: ${t.problem}`).join('\n  ')}`);
  const present = targets.filter((t) => t.resourceVersion !== undefined);
  if (present.length === 0) throw new CommandError(`${what} does not exist in any cluster (${contexts.join(', ')}): apply it first, or check -n and --context`);
  for (const t of targets.filter((x) => x.resourceVersion === undefined)) {
    io.err(`note: ${what} does not exist in ${t.context}; its control plane serves only its own cluster's config, so its proxies are not waited for`);
  }

  const deadline = Date.now() + opts.timeoutMs;
  let result: Verdict;
  for (;;) {
    for (const t of present) {
      const report = (await getJson(endpoints.get(t.context)!, `/debug/config_distribution?resource=${encodeURIComponent(resource)}`)) as ConfigDistributionReport;
      t.cluster = report.cluster;
      const change = targetChange(report, t.resourceVersion!);
      if (change) t.change = change;
      else delete t.change;
    }
    result = verdict(present);
    if (opts.once || result.kind !== 'waiting' || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }

  const rows = rolloutRows(present);
  if (opts.output !== 'table') {
    outBlock(io, formatStructured({ resource, clusters: present.map((t) => ({ context: t.context, cluster: t.cluster, resourceVersion: t.resourceVersion, ...(t.change ? { change: t.change } : {}) })), proxies: rows, done: result.kind === 'done' }, opts.output));
  } else {
    if (rows.length > 0) outBlock(io, opts.once ? formatSinceApply(rows) : formatRollout(rows));
    io.out(summaryLine(what, present, rows));
  }
  if (opts.once) {
    if (result.kind === 'waiting' && result.unobserved.length > 0) io.err(`note: ${behindText(result)}`);
    return 0;
  }
  if (result.kind === 'nacked') {
    throw new CommandError(`${what} was rejected: ${result.rows.map((r) => `${r.cluster} ${r.proxy} NACKed it: ${r.error ?? 'no message'}`).join('; ')}`, 1);
  }
  if (result.kind === 'waiting') {
    throw new CommandError(`timed out after ${seconds(opts.timeoutMs)} waiting for ${what}: ${behindText(result)}`, 2);
  }
  return 0;
}
