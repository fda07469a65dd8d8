// The Canary controller process: watches Canaries in the config cluster and, one serialized reconcile
// per Canary (on its timer, and at once on a change of its spec), reads the live owned routes in the
// member clusters, asks the planner (plan.ts) what to do, and does it: route writes (JSON patches that
// test the route they read), then the audit line and the Events on the Canary, then the status (status
// subresource): a kill before the status write is completed by the next instance, which never loses the
// audit line (and does not repeat it, audit-log.ts; an Event may be repeated, never lost). It keeps nothing it needs to resume: a new instance carries on from
// the status. stop() lets a reconcile in flight finish its writes.
//
// Exports: startCanaryController(options) -> CanaryController, CanaryControllerOptions.
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { startResourceWatch, type ResourceWatch } from '../k8s/client/resource-watch.js';
import { apiErrorCode, apiErrorMessage } from '../k8s/client/client.js';
import { sideSelector, subsetLabels, verdict } from './analysis.js';
import { appendAudit } from './audit-log.js';
import type { KubeIo } from './kube-io.js';
import { PrometheusSource, ProxyScrapeSource, podScrapeTargets, type MeasureRequest, type MetricsSource } from './metrics-source.js';
import { plan, type Decision, type LiveRoute, type PlanInput } from './plan.js';
import { ownedRouteIndexes, routeLabel, routePatch } from './routes.js';
import { resolveSpec, type ResolvedCanarySpec } from '../config/canary/spec.js';
import { CANARY_GROUP, CANARY_PLURAL, CANARY_VERSION, type Canary, type CanaryAnalysisResult } from '../config/canary/types.js';
import { callWebhooks } from './webhooks.js';

export interface CanaryControllerOptions {
  /** The cluster holding the Canaries. */
  config: KubeIo;
  /** The member clusters (named as the kubeconfig's contexts); spec.clusters picks among them. */
  members: KubeIo[];
  /** Append one JSON line per weight change here. */
  auditLog?: string;
  log: (line: string) => void;
  now?: () => number;
  /** The window of a proxies check with no earlier scrape (default min(interval, 10 s)). */
  scrapeFallbackWindowMs?: (intervalMs: number) => number;
  /** Retry delay after a failed reconcile (default 2 s). */
  retryMs?: number;
}

export interface CanaryController {
  /** Reconciles `namespace/name` now (after one in flight) and resolves when done. */
  reconcileNow(key: string): Promise<void>;
  stop(): Promise<void>;
}

interface Worker {
  timer?: NodeJS.Timeout;
  dueAt?: number;
  running?: Promise<void>;
  again: boolean;
  generation?: number;
}

const WEIGHT_CHANGES = new Set<Decision['action']>(['step', 'promote', 'restore']);

export function startCanaryController(opts: CanaryControllerOptions): CanaryController {
  const now = opts.now ?? Date.now;
  const log = (line: string): void => opts.log(`canary-controller: ${line}`);
  const workers = new Map<string, Worker>();
  const scrapes = new ProxyScrapeSource({
    targets: (namespace, service) => podScrapeTargets(opts.members, namespace, service),
    ...(opts.scrapeFallbackWindowMs ? { fallbackWindowMs: opts.scrapeFallbackWindowMs } : {}),
  });
  let stopped = false;

  const memberByName = new Map(opts.members.map((m) => [m.cluster, m]));

  function sourceFor(spec: ResolvedCanarySpec): MetricsSource {
    return spec.prometheus ? new PrometheusSource(spec.prometheus) : scrapes;
  }

  function drivenClusters(spec: ResolvedCanarySpec, problems: string[]): KubeIo[] {
    if (!spec.clusters) return opts.members;
    const out: KubeIo[] = [];
    for (const name of spec.clusters) {
      const io = memberByName.get(name);
      if (io) out.push(io);
      else problems.push(`spec.clusters names ${name}, which is not a member cluster (known: ${[...memberByName.keys()].join(', ')})`);
    }
    return out;
  }

  /** The live owned routes: by the status' references once recorded, else found in the driven clusters. */
  async function readLive(canary: Canary, spec: ResolvedCanarySpec): Promise<{ live: LiveRoute[]; problems: string[] }> {
    const ns = canary.metadata.namespace;
    const problems: string[] = [];
    const recorded = canary.status?.routes ?? [];
    if (recorded.length > 0) {
      const live = await Promise.all(
        recorded.map(async (r): Promise<LiveRoute> => {
          const io = memberByName.get(r.cluster);
          const vs = io ? await io.getVirtualService(ns, r.virtualService) : undefined;
          const route = (vs?.spec as { http?: Array<{ route?: unknown[] }> } | undefined)?.http?.[r.routeIndex]?.route;
          return { ref: { cluster: r.cluster, virtualService: r.virtualService, routeIndex: r.routeIndex }, ...(Array.isArray(route) ? { route } : {}) };
        }),
      );
      return { live, problems };
    }
    const live: LiveRoute[] = [];
    for (const io of drivenClusters(spec, problems)) {
      let owned = 0;
      for (const name of spec.virtualServices) {
        const vs = await io.getVirtualService(ns, name);
        if (!vs) {
          if (spec.clusters) problems.push(`VirtualService ${ns}/${name} not found in cluster ${io.cluster}`);
          continue;
        }
        for (const i of ownedRouteIndexes(vs.spec, spec.host, ns)) {
          live.push({ ref: { cluster: io.cluster, virtualService: name, routeIndex: i }, route: (vs.spec as { http: Array<{ route: unknown[] }> }).http[i]!.route });
          owned++;
        }
      }
      if (owned === 0) continue;
      const rules = await io.listDestinationRules(ns);
      for (const subset of [spec.baseline, spec.canary]) {
        try {
          subsetLabels(rules, spec.host, ns, subset, `cluster ${io.cluster}`);
        } catch (err) {
          problems.push((err as Error).message);
        }
      }
    }
    return { live, problems };
  }

  async function measureRequest(canary: Canary, spec: ResolvedCanarySpec, canaryWeight: number): Promise<MeasureRequest> {
    const ns = canary.metadata.namespace;
    const clusters = [...new Set((canary.status?.routes ?? []).map((r) => r.cluster))].map((c) => memberByName.get(c)).filter((io): io is KubeIo => io !== undefined);
    let lastError: Error | undefined;
    for (const io of clusters.length > 0 ? clusters : opts.members) {
      try {
        const rules = await io.listDestinationRules(ns);
        const where = `cluster ${io.cluster}`;
        return {
          key: `${ns}/${canary.metadata.name}`,
          namespace: ns,
          service: spec.service,
          intervalMs: spec.intervalMs,
          canaryWeight,
          baseline: sideSelector(spec.baseline, subsetLabels(rules, spec.host, ns, spec.baseline, where), spec.service, ns),
          canary: sideSelector(spec.canary, subsetLabels(rules, spec.host, ns, spec.canary, where), spec.service, ns),
        };
      } catch (err) {
        lastError = err as Error;
      }
    }
    throw lastError ?? new Error('no member cluster to read the DestinationRule from');
  }

  async function analyse(canary: Canary, spec: ResolvedCanarySpec, canaryWeight: number): Promise<CanaryAnalysisResult> {
    const time = new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const empty = { requests: 0 };
    try {
      const req = await measureRequest(canary, spec, canaryWeight);
      const m = await sourceFor(spec).measure(req);
      return { time, canaryWeight, source: m.source, canary: m.canary, baseline: m.baseline, ...verdict(m.canary, spec.metrics, spec.minRequests) };
    } catch (err) {
      // No numbers is not a failed canary: the check is inconclusive and says why.
      return { time, canaryWeight, source: spec.prometheus ? 'prometheus' : 'proxies', canary: empty, baseline: empty, verdict: 'inconclusive', reasons: [(err as Error).message] };
    }
  }

  async function decide(canary: Canary): Promise<{ decision: Decision; input: PlanInput; spec?: ResolvedCanarySpec }> {
    let spec: ResolvedCanarySpec | undefined;
    try {
      spec = resolveSpec(canary.spec);
    } catch {
      spec = undefined; // plan() reports it
    }
    const { live, problems } = spec ? await readLive(canary, spec) : { live: [], problems: [] };
    const input: PlanInput = { canary, live, problems, now: now() };
    let decision = plan(input);
    for (let round = 0; round < 2 && decision.request && spec; round++) {
      const request = decision.request;
      if ('analyse' in request) input.analysis = await analyse(canary, spec, request.analyse.canaryWeight);
      else {
        const weights = { [spec.baseline]: 100 - request.webhooks.canaryWeight, [spec.canary]: request.webhooks.canaryWeight };
        input.webhooks = await callWebhooks(spec.webhooks, request.webhooks.types, { name: canary.metadata.name, namespace: canary.metadata.namespace, phase: canary.status?.phase ?? 'Initializing', step: request.webhooks.step, canaryWeight: request.webhooks.canaryWeight, weights });
      }
      decision = plan(input);
    }
    return { decision, input, ...(spec ? { spec } : {}) };
  }

  async function perform(canary: Canary, d: Decision, spec: ResolvedCanarySpec | undefined): Promise<void> {
    const ns = canary.metadata.namespace;
    for (const w of d.writes) {
      const io = memberByName.get(w.ref.cluster);
      if (!io) throw new Error(`cluster ${w.ref.cluster} is not a member cluster`);
      try {
        await io.patchVirtualService(ns, w.ref.virtualService, routePatch(w.ref.routeIndex, w.live, w.route));
      } catch (err) {
        const message = `write of ${routeLabel(w.ref, ns)} refused: ${apiErrorMessage(err)}`;
        const code = apiErrorCode(err);
        if (code === 403 || code === 404) {
          // Not allowed, or gone: retrying changes nothing. The routes stay as they are; abort restores them.
          const base = canary.status ?? { phase: 'Failed' as const, currentStep: -1, canaryWeight: 0, failedChecks: 0, routes: [], conditions: [] };
          await opts.config.writeStatus(canary, { ...base, phase: 'Failed', message });
          await opts.config.createEvent(canary, { type: 'Warning', reason: 'Failed', message }, now()).catch(() => undefined);
          return;
        }
        // A failed test op: the route changed since it was read. Nothing more is written; the next reconcile sees why.
        throw new Error(message);
      }
    }
    if (d.audit && opts.auditLog) appendAudit(opts.auditLog, d.audit);
    for (const e of d.events) {
      try {
        await opts.config.createEvent(canary, e, now());
      } catch (err) {
        log(`event ${e.reason} for ${ns}/${canary.metadata.name} not recorded: ${(err as Error).message}`);
      }
    }
    if (d.status && JSON.stringify(d.status) !== JSON.stringify(canary.status)) await opts.config.writeStatus(canary, d.status);
    if (spec && !spec.prometheus && d.status && (WEIGHT_CHANGES.has(d.action) || d.action === 'resume')) {
      try {
        await scrapes.prime(await measureRequest({ ...canary, status: d.status }, spec, d.status.canaryWeight));
      } catch (err) {
        log(`could not scrape ${ns}/${canary.metadata.name}'s pods after the change (the next check measures a short window instead): ${(err as Error).message}`);
      }
    }
  }

  async function reconcile(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const canary = await opts.config.getCanary(ns, name);
    const worker = workers.get(key);
    if (!canary) {
      scrapes.forget(key);
      if (worker?.timer) clearTimeout(worker.timer);
      workers.delete(key);
      return;
    }
    if (worker) worker.generation = canary.metadata.generation;
    const { decision, spec } = await decide(canary);
    if (decision.action !== 'wait') log(`${key}: ${decision.action}${decision.status?.message ? `: ${decision.status.message}` : ''}`);
    await perform(canary, decision, spec);
    if (decision.requeueAt !== undefined) schedule(key, decision.requeueAt);
  }

  function worker(key: string): Worker {
    let w = workers.get(key);
    if (!w) {
      w = { again: false };
      workers.set(key, w);
    }
    return w;
  }

  function run(key: string): Promise<void> {
    const w = worker(key);
    if (w.running) {
      w.again = true;
      return w.running;
    }
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    w.dueAt = undefined;
    w.running = (async () => {
      do {
        w.again = false;
        if (stopped) break;
        try {
          await reconcile(key);
        } catch (err) {
          log(`${key}: ${(err as Error).message}; retrying`);
          if (!stopped) schedule(key, now() + (opts.retryMs ?? 2_000));
        }
      } while (w.again && !stopped);
      w.running = undefined;
    })();
    return w.running;
  }

  function schedule(key: string, at: number): void {
    if (stopped) return;
    const w = worker(key);
    if (w.dueAt !== undefined && w.dueAt <= at && w.timer) return;
    if (w.timer) clearTimeout(w.timer);
    w.dueAt = at;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      w.dueAt = undefined;
      void run(key);
    }, Math.max(0, at - now()));
  }

  const watch: ResourceWatch<KubernetesObject> = startResourceWatch<KubernetesObject>({
    kubeConfig: opts.config.kubeConfig,
    path: `/apis/${CANARY_GROUP}/${CANARY_VERSION}/${CANARY_PLURAL}`,
    list: async () => ({ apiVersion: 'v1', kind: 'List', metadata: {}, items: (await opts.config.listCanaries()) as unknown as KubernetesObject[] }) as KubernetesListObject<KubernetesObject>,
    what: `${opts.config.cluster} canaries`,
    // A spec change (its generation) reconciles at once; the controller's own status writes do not.
    significant: { of: (c) => `${c.metadata?.generation ?? ''}`, onUnchanged: () => undefined },
    onChange: () => {
      const seen = new Set<string>();
      for (const c of watch.list()) {
        const key = `${c.metadata?.namespace}/${c.metadata?.name}`;
        seen.add(key);
        const w = workers.get(key);
        if (!w || w.generation !== c.metadata?.generation) void run(key);
      }
      for (const key of [...workers.keys()]) if (!seen.has(key)) void run(key);
    },
    log,
  });

  return {
    reconcileNow: (key) => run(key),
    async stop() {
      stopped = true;
      await watch.stop();
      for (const w of workers.values()) if (w.timer) clearTimeout(w.timer);
      await Promise.all([...workers.values()].map((w) => w.running).filter(Boolean));
    },
  };
}
