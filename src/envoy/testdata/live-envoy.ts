// A real Envoy for tests: started on loopback against a test ADS server, stopped by its PID. Tests that
// need it skip with a reason when no Envoy is installed (`node scripts/ensure-envoy.mjs` installs it;
// CI always has it).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminJson, adminText, envoyReady, type AdminAddress } from '../admin.js';
import { envoyBootstrap } from '../bootstrap.js';
import { locateEnvoy } from '../locate.js';
import { SDS_CLUSTER } from '../../security/secrets.js';
import { EnvoySupervisor } from '../supervisor.js';
import type { ProxyStatus } from '../../xds/status.js';

/** The Envoy to test with, or the reason a test must skip (never on CI: there it is an error). */
export function testEnvoyPath(): string | undefined {
  const envoy = locateEnvoy();
  if (!envoy && process.env.CI === 'true') throw new Error('CI must have Envoy: .ci/run installs it with node scripts/ensure-envoy.mjs');
  return envoy?.path;
}
export const NO_ENVOY = 'no Envoy installed: run node scripts/ensure-envoy.mjs';

export interface TestEnvoy {
  admin: AdminAddress;
  pid: number | undefined;
  stop(): Promise<void>;
  configDump(query?: string): Promise<{ configs: Array<Record<string, unknown>> }>;
  stats(filter: string): Promise<Map<string, number>>;
  /** Envoy's own log lines so far (its stderr at the chosen level). */
  log(): string[];
}

export interface TestEnvoyOptions {
  binary: string;
  xdsPort: number;
  /** Where the ADS server listens (default 127.0.0.1). */
  xdsHost?: string;
  nodeId: string;
  metadata?: Record<string, string>;
  delta?: boolean;
  /** Where admin binds (default 127.0.0.1); the port is chosen by Envoy. */
  adminHost?: string;
  logLevel?: string;
  /** The pod agent's SDS server (test-sds.ts): Envoy's `sds-grpc` cluster, which translated TLS config refers to. */
  sdsPort?: number;
  /** ADS (and SDS) through an agent's Unix sockets rather than to xdsPort directly. */
  agentSockets?: { xds: string; sds: string };
  /** The `envoy_accesslog_service` cluster (the agent's access log service) through this Unix socket. */
  accessLogSocket?: string;
}

/** The agent's SDS cluster (a Unix socket in a pod, a loopback port here): gRPC needs HTTP/2. */
function withSdsCluster(bootstrap: Record<string, unknown>, port: number): void {
  const statics = bootstrap['static_resources'] as { clusters: Array<Record<string, unknown>> };
  if (statics.clusters.some((c) => c['name'] === SDS_CLUSTER)) return;
  statics.clusters.push({
    name: SDS_CLUSTER,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: SDS_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  });
}

export async function startTestEnvoy(opts: TestEnvoyOptions): Promise<TestEnvoy> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-test-envoy-'));
  const bootstrapPath = join(dir, 'bootstrap.json');
  const adminPath = join(dir, 'admin-address');
  const adminHost = opts.adminHost ?? '127.0.0.1';
  const bootstrap = envoyBootstrap({
    nodeId: opts.nodeId,
    cluster: 'test',
    metadata: opts.metadata ?? { CLUSTER_ID: 'cluster-1' },
    xdsAddress: `${opts.xdsHost ?? '127.0.0.1'}:${opts.xdsPort}`,
    podIp: adminHost,
    adminPort: 0,
    prometheusPort: 0,
    delta: opts.delta ?? false,
    ...(opts.agentSockets ? { agentSockets: opts.agentSockets } : {}),
    ...(opts.accessLogSocket ? { accessLogSocket: opts.accessLogSocket } : {}),
  });
  if (opts.sdsPort !== undefined) withSdsCluster(bootstrap, opts.sdsPort);
  writeFileSync(bootstrapPath, JSON.stringify(bootstrap));
  const lines: string[] = [];
  const supervisor = new EnvoySupervisor({
    binary: opts.binary,
    bootstrapPath,
    concurrency: 1,
    logLevel: opts.logLevel ?? 'warning',
    drainTimeS: 0,
    extraArgs: ['--admin-address-path', adminPath],
    log: (line) => lines.push(line),
    output: (chunk) => lines.push(chunk.toString()),
  });
  supervisor.start();
  const deadline = Date.now() + 15_000;
  while (!existsSync(adminPath) || readFileSync(adminPath, 'utf8').trim() === '') {
    if (Date.now() > deadline || !supervisor.running()) {
      await supervisor.stop();
      throw new Error(`envoy did not start: ${lines.join('').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const [host, port] = readFileSync(adminPath, 'utf8').trim().split(':');
  const admin = { host: host!, port: Number(port) };
  return {
    admin,
    pid: supervisor.pid,
    async stop() {
      await supervisor.stop(5000);
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => lines.join('').split('\n').filter(Boolean),
    configDump: async (query = '') => (await adminJson(admin, `/config_dump${query}`)) as { configs: Array<Record<string, unknown>> },
    async stats(filter: string) {
      const text = await adminText(admin, `/stats?filter=${encodeURIComponent(filter)}`);
      return new Map([...text.matchAll(/^(\S+): (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    },
  };
}

/**
 * Waits until Envoy is ready (LIVE, with LDS and CDS accepted) and the node's stream has every type it
 * was sent SYNCED. A NACK fails at once with Envoy's message: a NACK is a translate bug.
 */
export async function waitForEnvoySync(envoy: TestEnvoy, status: () => ProxyStatus[], nodeId: string, timeoutMs = 15_000): Promise<ProxyStatus> {
  const deadline = Date.now() + timeoutMs;
  let reason = '';
  for (;;) {
    const last = status().filter((s) => s.nodeId === nodeId).at(-1);
    for (const [type, s] of Object.entries(last?.types ?? {})) {
      if (s?.nack) throw new Error(`envoy NACKed ${type} version ${s.nack.version}: ${s.nack.message}`);
    }
    const ready = await envoyReady(envoy.admin);
    reason = ready.reason;
    const sent = Object.values(last?.types ?? {}).filter((s) => s && s.state !== 'NOT SENT');
    if (last && ready.ready && sent.every((s) => s?.state === 'SYNCED')) return last;
    if (Date.now() > deadline) throw new Error(`node ${nodeId} not synced after ${timeoutMs} ms (${reason}): ${JSON.stringify(last?.types ?? 'no stream')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
