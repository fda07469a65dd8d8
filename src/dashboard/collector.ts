// The dashboard's collector (I/O, the DashboardSource of `meshwork dashboard`): every refresh it reads
// each kubeconfig context (cluster-reader.ts), reads the mesh's request counters over the window
// (telemetry-source.ts) and the MCI edges' gateways (mci-source.ts), and builds the DashboardState from
// the pure parts: topology.ts, splits.ts, canaries.ts, inventory.ts. One collection at a time: a page
// asking while one runs gets that one's result.
//
// Exports: CollectorOptions, DashboardCollector.
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../k8s/client/client.js';
import { localKubeconfig } from '../runtime/state.js';
import { errorMessage } from '../mesh-cli/io.js';
import { canaryView } from './canaries.js';
import { readCluster, type ClusterRead } from './cluster-reader.js';
import { inventoryOf, propagationOf } from './inventory.js';
import { DEFAULT_EDGE_ADMIN_PORT, readEdgeBackends } from './mci-source.js';
import type { CanaryView, DashboardSource, DashboardState, SplitPanel } from './model.js';
import { SampleWindow } from './sample-window.js';
import { judgeSplit, splitSpecs, type SplitSpec } from './splits.js';
import { PrometheusTelemetry, ScrapeTelemetry, type TelemetrySource } from './telemetry-source.js';
import { buildTopology, type MciView, type ServiceInventory } from './topology.js';
import { edgeTraffic, workloadKey } from './traffic.js';

export interface CollectorOptions {
  kubeconfig?: string;
  stateDir?: string;
  /** Empty: every context of the kubeconfig. */
  contexts: readonly string[];
  windowMs: number;
  /** Prometheus' base URL: its PromQL instead of scraping the pods. */
  prometheus?: string;
  edgeAdminPort?: number;
  now?: () => number;
}

const MCI_REQUESTS = 'meshwork_edge_backend_requests';

export class DashboardCollector implements DashboardSource {
  private readonly telemetry: TelemetrySource;
  /** The MCI edges' per-gateway request counters, for the rates of the MCI's edges. */
  private readonly edgeWindow: SampleWindow;
  /** When each split's current weights were first seen: its observation starts then. */
  private readonly weightsSince = new Map<string, { key: string; since: number }>();
  private running: Promise<DashboardState> | undefined;
  private collections = 0;
  private readonly now: () => number;

  constructor(private readonly opts: CollectorOptions) {
    this.telemetry = opts.prometheus ? new PrometheusTelemetry(opts.prometheus) : new ScrapeTelemetry(opts.windowMs);
    this.edgeWindow = new SampleWindow(opts.windowMs);
    this.now = opts.now ?? Date.now;
  }

  /** The kubeconfig's contexts to read (checked once per collection: a kubeconfig may gain a cluster). */
  private contexts(): { contexts: string[]; base: KubeConfig } {
    const base = loadKubeConfig({ ...(this.opts.kubeconfig ? { kubeconfig: this.opts.kubeconfig } : {}), localKubeconfig: localKubeconfig(this.opts.stateDir) });
    const known = base.getContexts().map((c) => c.name);
    if (this.opts.contexts.length === 0) return { contexts: known, base };
    const missing = this.opts.contexts.filter((c) => !known.includes(c));
    if (missing.length > 0) throw new Error(`context ${missing.join(', ')} not in the kubeconfig (contexts: ${known.join(', ') || 'none'})`);
    return { contexts: [...this.opts.contexts], base };
  }

  collect(): Promise<DashboardState> {
    this.running ??= this.collectOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async collectOnce(): Promise<DashboardState> {
    this.collections++;
    const problems: string[] = [];
    let reads: ClusterRead[] = [];
    try {
      const { contexts } = this.contexts();
      reads = await Promise.all(
        contexts.map((context) => {
          const kc = loadKubeConfig({ ...(this.opts.kubeconfig ? { kubeconfig: this.opts.kubeconfig } : {}), localKubeconfig: localKubeconfig(this.opts.stateDir), context });
          return readCluster(kc, context);
        }),
      );
    } catch (err) {
      problems.push(`kubeconfig: ${errorMessage(err)}`);
    }
    for (const r of reads) problems.push(...r.problems);
    const now = this.now();

    const { workloads, targets, meshNamespaces } = inventoryOf(reads.map((r) => ({ cluster: r.info.name, pods: r.pods })));
    problems.push(...(await this.telemetry.refresh(targets, now)));
    const byKey = new Map(workloads.map((w) => [workloadKey(w), w]));
    const hasSidecar = (key: string) => byKey.get(key)?.sidecar ?? false;
    const isGateway = (cluster: string, namespace: string, workload: string) => byKey.get(workloadKey({ cluster, namespace, workload }))?.gateway ?? false;

    let windowSeconds = this.opts.windowMs / 1000;
    let traffic: ReturnType<typeof edgeTraffic> = [];
    try {
      const window = await this.telemetry.increases(now, this.opts.windowMs);
      // While the window fills, rates are over the time it covers so far.
      if (window.coveredMs > 0) windowSeconds = window.coveredMs / 1000;
      traffic = edgeTraffic(window.samples, hasSidecar);
    } catch (err) {
      problems.push(`telemetry: ${errorMessage(err)}`);
    }

    const mcis = await this.mciViews(reads, now, problems);
    const services = new Map<string, ServiceInventory>();
    // Every control plane lists the services of every member cluster: one entry per (cluster, host).
    for (const r of reads) for (const s of r.services) if (meshNamespaces.has(s.namespace) && !services.has(`${s.cluster}/${s.host}`)) services.set(`${s.cluster}/${s.host}`, s);

    const topology = buildTopology({ workloads, services: [...services.values()], traffic, windowSeconds, mcis });
    const splits = await this.splits(reads, now, isGateway, problems);

    const canaries: CanaryView[] = reads.flatMap((r) => r.canaries.map((c) => canaryView(c, r.info.name)));
    canaries.sort((a, b) => `${a.namespace}/${a.name}@${a.cluster}`.localeCompare(`${b.namespace}/${b.name}@${b.cluster}`));

    return {
      collectedAt: new Date(now).toISOString(),
      windowSeconds: Math.round(windowSeconds * 10) / 10,
      clusters: reads.map((r) => r.info),
      topology,
      splits,
      propagation: propagationOf(reads.map((r) => r.changes)),
      canaries,
      problems,
    };
  }

  private async mciViews(reads: readonly ClusterRead[], now: number, problems: string[]): Promise<MciView[]> {
    const seen = new Set<string>();
    const views: MciView[] = [];
    const live = new Set<string>();
    for (const r of reads) {
      for (const mci of r.mcis) {
        const key = `${mci.namespace}/${mci.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (!mci.vip) {
          views.push({ namespace: mci.namespace, name: mci.name, error: 'no VIP in its status yet (is the MCI controller running?)', backends: [] });
          continue;
        }
        try {
          const backends = await readEdgeBackends(mci.vip, this.opts.edgeAdminPort ?? DEFAULT_EDGE_ADMIN_PORT);
          const target = `mci:${key}`;
          live.add(target);
          this.edgeWindow.add(target, now, backends.map((b) => ({ name: MCI_REQUESTS, labels: { backend: b.id }, value: b.total })));
          const increase = new Map(this.edgeWindow.increases(now, this.opts.windowMs).samples.filter((s) => s.name === MCI_REQUESTS).map((s) => [s.labels.backend, s.value]));
          views.push({ namespace: mci.namespace, name: mci.name, vip: mci.vip, backends: backends.map(({ total: _total, ...b }) => ({ ...b, requests: increase.get(b.id) ?? 0 })) });
        } catch (err) {
          problems.push(`MultiClusterIngress ${key}: its edge on ${mci.vip} could not be read: ${errorMessage(err)}`);
          views.push({ namespace: mci.namespace, name: mci.name, vip: mci.vip, error: errorMessage(err), backends: [] });
        }
      }
    }
    this.edgeWindow.retain(live);
    return views;
  }

  private async splits(reads: readonly ClusterRead[], now: number, isGateway: (c: string, n: string, w: string) => boolean, problems: string[]): Promise<SplitPanel[]> {
    const specs: SplitSpec[] = [];
    for (const r of reads) {
      if (!r.config) continue;
      const found = splitSpecs({ cluster: r.info.name, virtualServices: r.config.virtualServices, destinationRules: r.config.destinationRules });
      specs.push(...found.specs);
      problems.push(...found.problems);
    }
    const live = new Set(specs.map((s) => s.id));
    for (const id of [...this.weightsSince.keys()]) if (!live.has(id)) this.weightsSince.delete(id);
    const panels: SplitPanel[] = [];
    const bySince = new Map<number | undefined, Promise<Awaited<ReturnType<TelemetrySource['increases']>>>>();
    for (const spec of specs) {
      // New weights (or a new route): what was counted before them is another split, and the observation
      // starts now. Only routes found by the first collection count the whole window: their weights are older.
      const seen = this.weightsSince.get(spec.id);
      let since: number | undefined;
      if (!seen || seen.key !== spec.weightsKey) {
        const fresh = this.collections > 1 ? now : -Infinity;
        this.weightsSince.set(spec.id, { key: spec.weightsKey, since: fresh });
        since = Number.isFinite(fresh) ? fresh : undefined;
      } else if (Number.isFinite(seen.since)) {
        since = seen.since;
      }
      if (since !== undefined && since <= now - this.opts.windowMs) since = undefined;
      if (!bySince.has(since)) bySince.set(since, this.telemetry.increases(now, this.opts.windowMs, since));
      try {
        const window = await bySince.get(since)!;
        panels.push(judgeSplit(spec, window.samples, isGateway));
      } catch (err) {
        problems.push(`split ${spec.id}: ${errorMessage(err)}`);
      }
    }
    return panels.sort((a, b) => a.id.localeCompare(b.id));
  }
}
