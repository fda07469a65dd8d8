// An MCI's edge as a real Envoy: the controller's own ADS server (EdgeXds, one per controller, on
// loopback) serves each edge's Listener, Cluster and endpoints (edge-xds.ts); one Envoy per MCI runs
// under an EnvoySupervisor with a bootstrap that points at it, its admin API on the VIP. Gateway health
// is Envoy's own active health checking; the controller reads it back from admin /clusters for the
// MCI status and logs each gateway's transitions.
// With a state folder (`dir`), an edge outlives the controller's process: Envoy logs to a file, and
// the next controller adopts the running Envoy when its bootstrap is the same (same ADS address, VIP
// and ports), so the VIP keeps serving across a restart of `meshwork up`.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminJson, envoyReady, type AdminAddress } from '../envoy/admin.js';
import { envoyBootstrap } from '../envoy/bootstrap.js';
import { killRecordedEnvoys, runningRecordedEnvoy } from '../envoy/pid-records.js';
import { processRunning } from '../os/proc.js';
import { EnvoySupervisor } from '../envoy/supervisor.js';
import { SnapshotCache } from '../xds/cache.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import type { ProxyStatus } from '../xds/status.js';
import type { EdgeGateway, EdgeUpdate, MciEdge } from './edge.js';
import { edgeClusterName, edgeNodeId, edgeResources, edgeSnapshot } from './edge-xds.js';

/** The controller's ADS server for its Envoy edges. */
export class EdgeXds {
  private constructor(
    readonly host: string,
    readonly cache: SnapshotCache,
    private readonly server: RunningXdsServer,
  ) {}

  /**
   * Listens on `host` (loopback): on `preferredPort` when it is free (the port a previous controller
   * used, which adopted Envoys reconnect to), else on any free port.
   */
  static async start(host: string, log: (line: string) => void, preferredPort = 0): Promise<EdgeXds> {
    const cache = new SnapshotCache();
    const listen = (port: number) => startXdsServer({ host, port, cache, log: (line) => log(`edge ${line}`) });
    let server: RunningXdsServer;
    try {
      server = await listen(preferredPort);
    } catch (err) {
      if (preferredPort === 0) throw err;
      log(`edge xDS: port ${preferredPort} is taken (${(err as Error).message}); running Envoy edges cannot be adopted`);
      server = await listen(0);
    }
    return new EdgeXds(host, cache, server);
  }

  get port(): number {
    return this.server.port;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** The newest stream of the node, if it is connected. */
  status(nodeId: string): ProxyStatus | undefined {
    return this.server.xds.status().filter((s) => s.nodeId === nodeId).at(-1);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

export interface EnvoyEdgeOptions {
  /** `namespace/name` of the MultiClusterIngress. */
  name: string;
  /** The VIP: the listener and Envoy's admin bind it. */
  host: string;
  port: number;
  /** Used when `port` may not be bound by this user (EACCES). */
  fallbackPort?: number;
  /** HTTPS, for MCIs with tls entries (default 443; its fallback is as far from fallbackPort as 443 from port). */
  tlsPort?: number;
  /** Envoy's admin port on the VIP (0: any free port). */
  adminPort: number;
  binary: string;
  xds: EdgeXds;
  log: (line: string) => void;
  /** Envoy's --log-level (default warning). */
  logLevel?: string;
  /** Where the Envoy's pid is recorded for a later run to adopt or clean up (see src/envoy/pid-records.ts). */
  pidRecords?: string;
  /** This edge's own folder, kept across runs (bootstrap, admin address, Envoy's log); default: a temporary one. */
  dir?: string;
}

/** What an adopting controller must know of the running edge that its bootstrap does not say. */
interface EdgeRecord {
  boundPort: number;
  /** The HTTPS port bound (absent in records of edges from before HTTPS). */
  boundTlsPort?: number;
}

interface HostStatus {
  address?: { socket_address?: { address?: string; port_value?: number } };
  hostname?: string;
  locality?: { region?: string; zone?: string };
  stats?: { name?: string; value?: string | number }[];
  health_status?: Record<string, unknown> & { eds_health_status?: string };
}

export class EnvoyEdge implements MciEdge {
  readonly dataPlane = 'envoy';
  readonly nodeId: string;
  private readonly dir: string;
  private supervisor: EnvoySupervisor | undefined;
  private boundPort = 0;
  private boundTlsPort: number | undefined;
  private admin: AdminAddress | undefined;
  private known = new Map<string, string>();
  private health = new Map<string, boolean>();
  private clusterName = '';
  private partial = '';

  constructor(private readonly opts: EnvoyEdgeOptions) {
    this.nodeId = edgeNodeId(opts.name, opts.host);
    if (opts.dir) mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'meshwork-edge-'));
  }

  get address(): string {
    return this.boundPort === 80 ? this.opts.host : `${this.opts.host}:${this.boundPort}`;
  }

  get adminAddress(): string {
    return this.admin ? `${this.admin.host}:${this.admin.port}` : `${this.opts.host}:${this.opts.adminPort}`;
  }

  get pid(): number | undefined {
    return this.supervisor?.pid;
  }

  private get bootstrapPath(): string {
    return join(this.dir, 'bootstrap.json');
  }

  private bootstrap(): string {
    return JSON.stringify(envoyBootstrap({
      nodeId: this.nodeId,
      cluster: 'mci-edge',
      metadata: { MULTI_CLUSTER_INGRESS: this.opts.name },
      xdsAddress: this.opts.xds.address,
      podIp: this.opts.host,
      adminPort: this.opts.adminPort,
      prometheusPort: 0,
    }), null, 2);
  }

  private newSupervisor(): EnvoySupervisor {
    return new EnvoySupervisor({
      binary: this.opts.binary,
      bootstrapPath: this.bootstrapPath,
      concurrency: 1,
      logLevel: this.opts.logLevel ?? 'warning',
      drainTimeS: 1,
      extraArgs: ['--admin-address-path', join(this.dir, 'admin-address')],
      log: (line) => this.opts.log(`edge ${this.opts.name}: ${line}`),
      // An edge that may outlive this process logs to its folder, never into a pipe that dies with us.
      ...(this.opts.dir ? { logPath: join(this.dir, 'envoy.log') } : { output: (chunk: Buffer) => this.output(chunk) }),
      ...(this.opts.pidRecords ? { pidRecords: this.opts.pidRecords } : {}),
    });
  }

  /**
   * Takes over this edge's Envoy that a previous controller left running, when its bootstrap is the
   * one this edge would write (same ADS address, VIP, ports): it keeps serving, nothing restarts.
   */
  adoptRunning(): boolean {
    const records = this.opts.pidRecords;
    if (!records || !this.opts.dir || this.supervisor) return false;
    const running = runningRecordedEnvoy(records, this.bootstrapPath);
    const recordPath = join(this.dir, 'edge.json');
    if (running === undefined || !existsSync(recordPath) || !existsSync(this.bootstrapPath)) return false;
    if (readFileSync(this.bootstrapPath, 'utf8') !== this.bootstrap()) return false;
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as EdgeRecord;
    this.boundPort = record.boundPort;
    this.boundTlsPort = record.boundTlsPort;
    this.supervisor = this.newSupervisor();
    this.supervisor.adopt(running);
    this.opts.log(`edge ${this.opts.name}: adopted the running Envoy ${running} (it kept serving ${this.address} meanwhile)`);
    return true;
  }

  async start(): Promise<void> {
    if (this.adoptRunning()) return;
    const records = this.opts.pidRecords;
    // A leftover Envoy of this edge that cannot be adopted (another ADS address, VIP or port) holds the VIP.
    const leftover = records && this.opts.dir ? runningRecordedEnvoy(records, this.bootstrapPath) : undefined;
    if (leftover !== undefined && records) {
      killRecordedEnvoys(records, this.opts.log, new Set(), this.bootstrapPath);
      const deadline = Date.now() + 3000;
      while (processRunning(leftover) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    rmSync(join(this.dir, 'admin-address'), { force: true });
    this.boundPort = await bindablePort(this.opts.host, this.opts.port, this.opts.fallbackPort, this.opts.log);
    // HTTP must not depend on HTTPS: without a bindable HTTPS port the edge serves HTTP and says why.
    const tlsPort = this.opts.tlsPort ?? 443;
    this.boundTlsPort = await bindablePort(this.opts.host, tlsPort, (this.opts.fallbackPort ?? 10_000) - this.opts.port + tlsPort, this.opts.log).catch((err: unknown) => {
      this.opts.log(`edge ${this.opts.name}: no HTTPS: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
    writeFileSync(this.bootstrapPath, this.bootstrap());
    writeFileSync(join(this.dir, 'edge.json'), JSON.stringify({ boundPort: this.boundPort, boundTlsPort: this.boundTlsPort } satisfies EdgeRecord) + '\n');
    this.supervisor = this.newSupervisor();
    this.supervisor.start();
  }

  update({ plan, backends }: EdgeUpdate): void {
    const resources = edgeResources({ mci: this.opts.name, vip: this.opts.host, port: this.boundPort, ...(this.boundTlsPort !== undefined ? { tlsPort: this.boundTlsPort } : {}), plan, backends });
    this.clusterName = edgeClusterName(plan);
    // Throws (SnapshotError) when a resource does not fit its proto: the previous snapshot stays served.
    this.opts.xds.cache.setSnapshot(this.nodeId, edgeSnapshot(resources));
    const next = new Map(backends.map((b) => [`${b.cluster}/${b.pod}`, `${b.ip}:${b.port}`]));
    for (const [id, address] of next) {
      if (this.known.get(id) === address) continue;
      this.opts.log(`edge ${this.opts.name}: gateway ${id} (${address}) added, unhealthy until its first check on port ${plan.healthCheck.port} passes`);
      this.health.delete(id);
    }
    for (const [id, address] of this.known) {
      if (next.get(id) === address) continue;
      if (!next.has(id)) this.opts.log(`edge ${this.opts.name}: gateway ${id} removed`);
      this.health.delete(id);
    }
    this.known = next;
  }

  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let reason = 'envoy has not written its admin address';
    for (;;) {
      const rejected = this.rejected();
      if (rejected) throw new Error(rejected);
      const admin = this.adminFromFile();
      if (admin) {
        const r = await envoyReady(admin);
        if (r.ready && this.synced()) return;
        reason = r.ready ? 'envoy has not acknowledged every resource yet' : r.reason;
      }
      if (!this.supervisor?.running() && this.supervisor?.restarts) reason = `envoy exited (restarted ${this.supervisor.restarts} times)`;
      if (Date.now() > deadline) throw new Error(`the Envoy edge is not ready after ${timeoutMs} ms: ${reason}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  rejected(): string | undefined {
    for (const [type, s] of Object.entries(this.opts.xds.status(this.nodeId)?.types ?? {})) {
      if (s?.nack) return `Envoy rejected the edge's ${type} (version ${s.nack.version ?? '?'}): ${nackReason(s.nack.message)}`;
    }
    return undefined;
  }

  /** Gateways as Envoy sees them (admin /clusters); logs each change of health. */
  async gateways(): Promise<EdgeGateway[]> {
    const admin = this.adminFromFile();
    if (!admin) return [...this.known].map(([id, address]) => ({ id, cluster: id.split('/')[0] ?? '', address, healthy: false, requests: 0 }));
    // Only the gateways of the last update: Envoy may not have applied it yet.
    const out = edgeGatewaysOf(await adminJson(admin, '/clusters?format=json'), this.clusterName).filter((g) => this.known.get(g.id) === g.address);
    for (const g of out) {
      const before = this.health.get(g.id);
      if (before === g.healthy) continue;
      this.health.set(g.id, g.healthy);
      if (before === undefined && !g.healthy) continue;
      this.opts.log(`edge ${this.opts.name}: gateway ${g.id} is now ${g.healthy ? 'healthy' : 'unhealthy (failed its health check)'}`);
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.supervisor?.stop(5000);
    this.opts.xds.cache.clearSnapshot(this.nodeId);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private synced(): boolean {
    const types = Object.values(this.opts.xds.status(this.nodeId)?.types ?? {}).filter((s) => s && s.state !== 'NOT SENT');
    return types.length > 0 && types.every((s) => s?.state === 'SYNCED');
  }

  private adminFromFile(): AdminAddress | undefined {
    if (this.admin) return this.admin;
    let text = '';
    try {
      text = readFileSync(join(this.dir, 'admin-address'), 'utf8').trim();
    } catch {
      return undefined;
    }
    const i = text.lastIndexOf(':');
    if (i <= 0) return undefined;
    this.admin = { host: text.slice(0, i), port: Number(text.slice(i + 1)) };
    return this.admin;
  }

  private output(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString()).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) this.opts.log(`edge ${this.opts.name}: envoy: ${line.trim()}`);
  }
}

/** Envoy's NACK message without the resource it quotes in text format: `<resource>\n: <reason>`. */
export function nackReason(message: string): string {
  const i = message.lastIndexOf('\n: ');
  const reason = i >= 0 ? message.slice(i + 3) : message;
  return reason.replace(/\s+/g, ' ').trim().slice(0, 600);
}

/**
 * The edge's gateways in Envoy's admin `/clusters?format=json`: the hosts of `clusterName` (of every
 * cluster when not given, skipping hosts without a hostname such as the xDS server's). Healthy: no
 * health flag set (failed active check, pending first check, ...) and EDS says HEALTHY.
 */
export function edgeGatewaysOf(clustersJson: unknown, clusterName?: string): EdgeGateway[] {
  const dump = clustersJson as { cluster_statuses?: { name?: string; host_statuses?: HostStatus[] }[] };
  const hosts = (dump.cluster_statuses ?? []).filter((c) => clusterName === undefined || c.name === clusterName).flatMap((c) => c.host_statuses ?? []);
  return hosts.filter((h) => h.hostname).map((h): EdgeGateway => {
    const id = h.hostname ?? '';
    const sock = h.address?.socket_address;
    const flags = Object.entries(h.health_status ?? {}).filter(([k, v]) => k !== 'eds_health_status' && v === true);
    return {
      id,
      cluster: h.locality?.region ?? id.split('/')[0] ?? '',
      address: `${sock?.address ?? '?'}:${sock?.port_value ?? '?'}`,
      healthy: flags.length === 0 && (h.health_status?.eds_health_status ?? 'HEALTHY') === 'HEALTHY',
      requests: Number(h.stats?.find((s) => s.name === 'rq_total')?.value ?? 0),
    };
  });
}

/** `port` when this user may bind it on `host`, else `fallbackPort` (with a log line saying so). */
export async function bindablePort(host: string, port: number, fallbackPort: number | undefined, log: (line: string) => void): Promise<number> {
  const tryBind = (p: number): Promise<NodeJS.ErrnoException | undefined> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
      server.listen(p, host, () => server.close(() => resolve(undefined)));
    });
  const err = await tryBind(port);
  if (!err) return port;
  if (err.code !== 'EACCES' || fallbackPort === undefined) throw new Error(`cannot listen on ${host}:${port}: ${err.message}`);
  const second = await tryBind(fallbackPort);
  if (second) throw new Error(`cannot listen on ${host}:${fallbackPort}: ${second.message}`);
  log(`edge: port ${port} is privileged and this user may not bind it; serving ${host}:${port} on ${host}:${fallbackPort} instead`);
  return fallbackPort;
}
