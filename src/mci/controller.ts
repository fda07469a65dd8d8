// The multi-cluster ingress controller (the role of GKE's MCI controller), as one long-running process:
// it reads MultiClusterService, BackendConfig and MultiClusterIngress in the config cluster, applies the
// derived Services into every member cluster, runs one edge per MCI over the gateway pods of all
// member clusters, and writes each MCI's status (VIP, Ready condition with a reason).
//
// An edge is an Envoy configured over xDS by this controller (its own ADS server on loopback, one Envoy
// per MCI: envoy-edge.ts, edge-xds.ts); when no Envoy is installed, the TypeScript edge proxy (src/edge/).
//
// It resyncs by listing every `resyncMs` (1 s by default) rather than watching: the lists are small, a
// missed event cannot leave it stale, and a member cluster that stops answering keeps its last known
// gateways (the edge's health checks then decide whether they still serve).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import type { EdgeBackend } from '../edge/edge-proxy.js';
import { locateEnvoy, type LocatedEnvoy } from '../envoy/locate.js';
import { killRecordedEnvoys } from '../envoy/pid-records.js';
import { credentialOf, type GatewayCredential } from '../security/credentials.js';
import { applyObjects } from '../k8s/client/apply.js';
import { apiErrorMessage, loadKubeConfig } from '../k8s/client/client.js';
import { MeshworkEdge, type EdgeGateway, type MciEdge } from './edge.js';
import { EdgeXds, EnvoyEdge } from './envoy-edge.js';
import { gatewayBackends, type EndpointSliceLike } from './gateways.js';
import {
  DERIVED_FROM_LABEL,
  derivedService,
  parseBackendConfig,
  parseMultiClusterIngress,
  parseMultiClusterService,
  planEdge,
  type EdgePlan,
  type MultiClusterIngress,
  type MultiClusterService,
} from './resources.js';
import { desiredStatus, statusChanged, type MciOutcome } from './status.js';
import { DEFAULT_VIP_RANGE, VipAllocator, type VipRange } from './vip.js';

export interface MciControllerOptions {
  configContext: string;
  memberContexts: readonly string[];
  kubeconfig?: string;
  vipRange?: VipRange;
  /** The port of every VIP (80), and where it goes when this user may not bind it. */
  edgePort?: number;
  edgeFallbackPort?: number;
  /** Admin port on every VIP: Envoy's admin API, or the TypeScript edge's GET /stats. */
  adminPort?: number;
  /** The Envoy binary of the edges (as `--envoy`); false runs the TypeScript edge; default: locateEnvoy(). */
  envoy?: string | false;
  /** Where the default Envoy comes from (tests replace it). */
  locateEnvoy?: typeof locateEnvoy;
  /** Loopback address of the edges' ADS server (127.0.0.1). */
  xdsHost?: string;
  /** How long a new Envoy edge may take to serve its first configuration. */
  edgeReadyTimeoutMs?: number;
  resyncMs?: number;
  /** Where edge Envoys record their pids, for the next run to adopt or kill if this process dies (src/envoy/pid-records.ts). */
  pidRecords?: string;
  /**
   * The edges' state across runs: the ADS port (`xds-port`) and a folder per edge. With it (and
   * pidRecords), Envoy edges outlive this process and the next controller adopts them.
   */
  edgesDir?: string;
  log?: (line: string) => void;
}

interface Member {
  name: string;
  kc: KubeConfig;
}

interface RunningEdge {
  edge: MciEdge;
  vip: string;
  /** The last gateway summary read from the edge, kept when its admin API does not answer once. */
  gateways: Record<string, string>;
}

const MCS = { group: 'networking.gke.io', version: 'v1', plural: 'multiclusterservices' };
const MCI = { group: 'networking.gke.io', version: 'v1beta1', plural: 'multiclusteringresses' };
const BACKEND_CONFIG = { group: 'cloud.google.com', version: 'v1', plural: 'backendconfigs' };

export class MciController {
  private readonly log: (line: string) => void;
  private readonly config: KubeConfig;
  private readonly members: Member[];
  private readonly vips: VipAllocator;
  private readonly edges = new Map<string, RunningEdge>();
  private readonly envoy: LocatedEnvoy | undefined;
  private xds: Promise<EdgeXds> | undefined;
  /** Last gateways seen per `cluster|namespace/derived-service`, kept while a cluster does not answer. */
  private readonly lastGateways = new Map<string, EdgeBackend[]>();
  /** Derived Services applied per `cluster|namespace/name`, as JSON, so unchanged ones are not re-sent. */
  private readonly applied = new Map<string, string>();
  /** Last logged error per subject, so a persisting error is logged once, not every resync. */
  private readonly reported = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly opts: MciControllerOptions) {
    this.log = opts.log ?? ((line) => process.stderr.write(line + '\n'));
    this.config = loadKubeConfig({ kubeconfig: opts.kubeconfig, context: opts.configContext });
    this.members = opts.memberContexts.map((name) => ({ name, kc: loadKubeConfig({ kubeconfig: opts.kubeconfig, context: name }) }));
    this.vips = new VipAllocator(opts.vipRange ?? DEFAULT_VIP_RANGE);
    this.envoy = opts.envoy === false ? undefined : (opts.locateEnvoy ?? locateEnvoy)({ explicit: opts.envoy });
  }

  /** Which data plane runs the edges. */
  get edgeDataPlane(): 'envoy' | 'meshwork' {
    return this.envoy ? 'envoy' : 'meshwork';
  }

  start(): void {
    this.log(this.envoy
      ? `mci-controller: edges run Envoy ${this.envoy.path} (${this.envoy.source}), configured over xDS`
      : `mci-controller: ${this.opts.envoy === false ? 'Envoy not wanted' : 'no Envoy found (node scripts/ensure-envoy.mjs installs one)'}; edges run the meshwork edge proxy`);
    let first = true;
    const loop = (): void => {
      if (this.stopped) return;
      this.running = this.reconcile()
        .then(() => {
          // Edge Envoys of a previous run that no MCI adopted (the MCI is gone) still hold their VIPs.
          if (first && this.opts.pidRecords) killRecordedEnvoys(this.opts.pidRecords, this.log, new Set([...this.edges.values()].flatMap((e) => (e.edge.pid ? [e.edge.pid] : []))));
          first = false;
        })
        .catch((err: unknown) => this.report('reconcile', `mci-controller: resync failed: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.opts.resyncMs ?? 1000);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await Promise.all([...this.edges.values()].map((e) => e.edge.stop()));
    this.edges.clear();
    const xds = await this.xds?.catch(() => undefined);
    await xds?.close();
  }

  /** One pass: config cluster -> derived Services -> gateways -> edges -> MCI status. */
  async reconcile(): Promise<void> {
    const custom = this.config.makeApiClient(CustomObjectsApi);
    const [mcsObjects, mciObjects, bcObjects] = await Promise.all([MCS, MCI, BACKEND_CONFIG].map((r) => listItems(custom, r)));
    const services = mcsObjects.map(parseMultiClusterService);
    const backendConfigs = bcObjects.map(parseBackendConfig);
    await Promise.all(this.members.map((m) => this.syncDerivedServices(m, services)));

    const mcis = mciObjects.map(parseMultiClusterIngress);
    const credentials = await this.tlsCredentials(mcis);
    const seen = new Set<string>();
    for (const mci of mcis) {
      const key = `${mci.namespace}/${mci.name}`;
      seen.add(key);
      const plan = planEdge(mci, services, backendConfigs, credentials);
      let outcome: MciOutcome;
      if (plan.ok) {
        try {
          const running = await this.ensureEdge(key, plan.value, mci.status.VIP);
          const rejected = running.edge.rejected();
          if (rejected) throw new Error(rejected);
          outcome = { ok: true, vip: running.edge.address, gateways: await this.gatewaySummary(running) };
          this.reported.delete(`mci ${key}`);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          const running = this.edges.get(key);
          outcome = { ok: false, reason: 'EdgeFailed', message, vip: running?.edge.address, servingLastGoodConfig: running !== undefined };
        }
      } else {
        const running = this.edges.get(key) ?? (await this.adoptStranded(key, mci.status.VIP));
        // The edge keeps its last good gateway set and health check (the checks still run and eject dead
        // gateways): the derived Service may be gone with the MCS, and its endpoints with it.
        outcome = { ok: false, reason: plan.reason, message: plan.message, vip: running?.edge.address, servingLastGoodConfig: running !== undefined };
      }
      if (!outcome.ok) this.report(`mci ${key}`, `MultiClusterIngress ${key}: ${outcome.reason}: ${outcome.message}`);
      await this.writeStatus(custom, mci.namespace, mci.name, mci.status, outcome);
    }
    for (const [key, running] of this.edges) {
      if (seen.has(key)) continue;
      this.log(`mci-controller: MultiClusterIngress ${key} deleted; stopping its edge on ${running.edge.address}`);
      this.edges.delete(key);
      this.vips.release(key);
      await running.edge.stop();
    }
  }

  /** The Secrets the MCIs' tls entries name, read in their namespaces of the config cluster (GKE reads them there). */
  private async tlsCredentials(mcis: readonly MultiClusterIngress[]): Promise<GatewayCredential[]> {
    const namespaces = [...new Set(mcis.filter((m) => m.tlsSecretNames.length > 0).map((m) => m.namespace))];
    if (namespaces.length === 0) return [];
    const core = this.config.makeApiClient(CoreV1Api);
    const lists = await Promise.all(namespaces.map((namespace) => core.listNamespacedSecret({ namespace })));
    return lists.flatMap((l) => l.items.map(credentialOf).filter((c): c is GatewayCredential => c !== undefined));
  }

  private async ensureEdge(key: string, plan: EdgePlan, statusVip: unknown): Promise<RunningEdge> {
    let running = this.edges.get(key);
    if (!running) {
      const vip = this.vips.assign(key, typeof statusVip === 'string' ? statusVip : undefined);
      const backends = await this.gateways(plan);
      let edge: MciEdge | undefined;
      try {
        edge = await this.newEdge(key, vip);
        await edge.start();
        edge.update({ plan, backends });
        await edge.ready(this.opts.edgeReadyTimeoutMs ?? 20_000);
      } catch (err) {
        this.vips.release(key);
        await edge?.stop();
        throw err;
      }
      running = { edge, vip, gateways: {} };
      this.edges.set(key, running);
      const admin = edge.dataPlane === 'envoy' ? `Envoy, admin http://${edge.adminAddress}/` : `admin http://${edge.adminAddress}/stats`;
      this.log(`mci-controller: MultiClusterIngress ${key}: edge on http://${edge.address}/ (${admin})`);
      return running;
    }
    running.edge.update({ plan, backends: await this.gateways(plan) });
    return running;
  }

  /**
   * An edge whose MCI cannot be planned now (its MultiClusterService is gone, ...) keeps serving its last
   * good config, also across a restart of this controller: the Envoy a previous run left is adopted as it is.
   */
  private async adoptStranded(key: string, statusVip: unknown): Promise<RunningEdge | undefined> {
    if (!this.envoy || !this.opts.edgesDir || !this.opts.pidRecords || typeof statusVip !== 'string') return undefined;
    const vip = this.vips.assign(key, statusVip);
    const edge = await this.newEdge(key, vip);
    if (!(edge instanceof EnvoyEdge) || !edge.adoptRunning()) {
      this.vips.release(key);
      return undefined;
    }
    const running: RunningEdge = { edge, vip, gateways: {} };
    this.edges.set(key, running);
    return running;
  }

  private async newEdge(key: string, vip: string): Promise<MciEdge> {
    const port = this.opts.edgePort ?? 80;
    const common = { name: key, host: vip, port, fallbackPort: this.opts.edgeFallbackPort ?? 10_000 + port, adminPort: this.opts.adminPort ?? 15000, log: this.log };
    if (!this.envoy) return new MeshworkEdge({ ...common, tlsPort: 443 });
    this.xds ??= this.startEdgeXds();
    const xds = await this.xds.catch((err: unknown) => {
      this.xds = undefined;
      throw new Error(`cannot start the edges' xDS server: ${err instanceof Error ? err.message : String(err)}`);
    });
    return new EnvoyEdge({
      ...common,
      binary: this.envoy.path,
      xds,
      ...(this.opts.pidRecords ? { pidRecords: this.opts.pidRecords } : {}),
      ...(this.opts.edgesDir ? { dir: join(this.opts.edgesDir, key.replace('/', '_')) } : {}),
    });
  }

  /** The edges' ADS server, on the port the previous run used when there was one (its Envoys reconnect there). */
  private async startEdgeXds(): Promise<EdgeXds> {
    const portFile = this.opts.edgesDir ? join(this.opts.edgesDir, 'xds-port') : undefined;
    const previous = portFile && existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) || 0 : 0;
    const xds = await EdgeXds.start(this.opts.xdsHost ?? '127.0.0.1', this.log, previous);
    if (portFile) {
      mkdirSync(dirname(portFile), { recursive: true });
      writeFileSync(portFile, `${xds.port}\n`);
    }
    return xds;
  }

  private async gateways(plan: EdgePlan): Promise<EdgeBackend[]> {
    const lists = await Promise.all(this.members.map((m) => this.memberGateways(m, plan)));
    return lists.flat();
  }

  /** `cluster-1: 1/1 healthy` per member cluster, as the edge judges its gateways. */
  private async gatewaySummary(running: RunningEdge): Promise<Record<string, string>> {
    let gateways: EdgeGateway[];
    try {
      gateways = await running.edge.gateways();
    } catch (err) {
      this.report(`gateways ${running.vip}`, `mci-controller: cannot read the gateways of the edge on ${running.edge.address}: ${err instanceof Error ? err.message : String(err)}`);
      return running.gateways;
    }
    this.reported.delete(`gateways ${running.vip}`);
    const byCluster: Record<string, { healthy: number; total: number }> = {};
    for (const g of gateways) {
      const c = (byCluster[g.cluster] ??= { healthy: 0, total: 0 });
      c.total++;
      if (g.healthy) c.healthy++;
    }
    running.gateways = Object.fromEntries(Object.entries(byCluster).map(([k, v]) => [k, `${v.healthy}/${v.total} healthy`]));
    return running.gateways;
  }

  private async memberGateways(member: Member, plan: EdgePlan): Promise<EdgeBackend[]> {
    const key = `${member.name}|${plan.mcs.namespace}/${plan.derivedServiceName}`;
    try {
      const api = member.kc.makeApiClient(DiscoveryV1Api);
      const list = await api.listNamespacedEndpointSlice({ namespace: plan.mcs.namespace, labelSelector: `kubernetes.io/service-name=${plan.derivedServiceName}` });
      const slices: EndpointSliceLike[] = list.items;
      const backends = gatewayBackends(member.name, slices, plan.servicePort);
      this.lastGateways.set(key, backends);
      this.reported.delete(`slices ${key}`);
      return backends;
    } catch (err) {
      const kept = this.lastGateways.get(key) ?? [];
      this.report(`slices ${key}`, `mci-controller: ${member.name}: cannot list EndpointSlices of ${plan.mcs.namespace}/${plan.derivedServiceName} (${apiErrorMessage(err)}); keeping its ${kept.length} last known gateway(s)`);
      return kept;
    }
  }

  /** Applies each MCS's derived Service into one member cluster and deletes those whose MCS is gone. */
  private async syncDerivedServices(member: Member, services: readonly MultiClusterService[]): Promise<void> {
    const core = member.kc.makeApiClient(CoreV1Api);
    let existing: { name: string; namespace: string }[];
    try {
      const list = await core.listServiceForAllNamespaces({ labelSelector: DERIVED_FROM_LABEL });
      // Checked again here: only Services this controller marked may ever be deleted.
      existing = list.items
        .filter((s) => s.metadata?.labels?.[DERIVED_FROM_LABEL] !== undefined)
        .map((s) => ({ name: s.metadata?.name ?? '', namespace: s.metadata?.namespace ?? '' }));
      this.reported.delete(`services ${member.name}`);
    } catch (err) {
      this.report(`services ${member.name}`, `mci-controller: ${member.name}: cannot list derived Services: ${apiErrorMessage(err)}`);
      return;
    }
    const wanted = new Set<string>();
    for (const mcs of services) {
      const svc = derivedService(mcs);
      const ref = `${mcs.namespace}/${svc.metadata.name ?? ''}`;
      const key = `${member.name}|${ref}`;
      wanted.add(ref);
      const json = JSON.stringify(svc);
      if (this.applied.get(key) === json && existing.some((e) => `${e.namespace}/${e.name}` === ref)) continue;
      try {
        const [result] = await applyObjects(member.kc, [{ object: svc, source: `MultiClusterService ${mcs.namespace}/${mcs.name}` }]);
        this.applied.set(key, json);
        this.reported.delete(`apply ${key}`);
        if (result && result.outcome !== 'unchanged') this.log(`mci-controller: ${member.name}: service/${svc.metadata.name ?? ''} ${result.outcome} in ${mcs.namespace} (derived from MultiClusterService ${mcs.name})`);
      } catch (err) {
        this.report(`apply ${key}`, `mci-controller: ${member.name}: cannot apply the derived Service ${ref}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const e of existing) {
      const ref = `${e.namespace}/${e.name}`;
      if (wanted.has(ref)) continue;
      try {
        await core.deleteNamespacedService({ name: e.name, namespace: e.namespace });
        this.applied.delete(`${member.name}|${ref}`);
        this.log(`mci-controller: ${member.name}: service/${e.name} deleted in ${e.namespace} (its MultiClusterService is gone)`);
      } catch (err) {
        this.report(`delete ${member.name}|${ref}`, `mci-controller: ${member.name}: cannot delete the derived Service ${ref}: ${apiErrorMessage(err)}`);
      }
    }
  }

  private async writeStatus(custom: CustomObjectsApi, namespace: string, name: string, previous: Record<string, unknown>, outcome: MciOutcome): Promise<void> {
    const status = desiredStatus(outcome, previous, new Date());
    if (!statusChanged(previous, status)) return;
    try {
      await custom.patchNamespacedCustomObjectStatus({ ...MCI, namespace, name, body: [{ op: 'add', path: '/status', value: status }] });
      this.reported.delete(`status ${namespace}/${name}`);
    } catch (err) {
      this.report(`status ${namespace}/${name}`, `mci-controller: cannot write the status of MultiClusterIngress ${namespace}/${name}: ${apiErrorMessage(err)}`);
    }
  }

  private report(subject: string, line: string): void {
    if (this.reported.get(subject) === line) return;
    this.reported.set(subject, line);
    this.log(line);
  }
}

async function listItems(api: CustomObjectsApi, r: { group: string; version: string; plural: string }): Promise<KubeObject[]> {
  try {
    const list: unknown = await api.listClusterCustomObject(r);
    const items = typeof list === 'object' && list !== null ? (list as { items?: unknown }).items : undefined;
    return Array.isArray(items) ? (items as KubeObject[]) : [];
  } catch (err) {
    throw new Error(`cannot list ${r.plural}.${r.group} in the config cluster: ${apiErrorMessage(err)}`);
  }
}
