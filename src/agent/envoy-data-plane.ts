// Envoy as a pod's data plane (pilot-agent's main job): write the bootstrap, run Envoy under a
// supervisor, read its readiness and stats from its admin API on the pod IP.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drainListeners, adminText, envoyReady } from '../envoy/admin.js';
import { envoyBootstrap, ENVOY_PROMETHEUS_PORT } from '../envoy/bootstrap.js';
import { envoyVersion, type LocatedEnvoy } from '../envoy/locate.js';
import { EnvoySupervisor } from '../envoy/supervisor.js';
import type { AgentConfig } from './proxy-agent.js';
import type { DataPlane } from './data-plane.js';

export interface EnvoyDataPlaneOptions {
  envoy: LocatedEnvoy;
  adminPort: number;
  /** 0: no 15090 listener. */
  prometheusPort?: number;
  concurrency?: number;
  logLevel?: string;
  /** Incremental ADS. */
  delta?: boolean;
  /** The agent's XDS proxy and SDS sockets (a pod with certificates); Envoy goes to XDS_ADDRESS itself without. */
  agentSockets?: { xds: string; sds: string };
  /** The agent's access log service socket (`envoy_accesslog_service`). */
  accessLogSocket?: string;
  log: (line: string) => void;
}

export async function startEnvoyDataPlane(config: AgentConfig, opts: EnvoyDataPlaneOptions): Promise<DataPlane> {
  const { version } = envoyVersion(opts.envoy.path);
  const dir = mkdtempSync(join(tmpdir(), `meshwork-envoy-${config.podIp}-`));
  const bootstrapPath = join(dir, 'envoy-rev.json');
  const bootstrap = envoyBootstrap({
    nodeId: config.nodeId,
    cluster: config.clusterId,
    metadata: config.metadata,
    xdsAddress: config.xdsAddress,
    podIp: config.podIp,
    adminPort: opts.adminPort,
    prometheusPort: opts.prometheusPort ?? ENVOY_PROMETHEUS_PORT,
    delta: opts.delta ?? false,
    ...(opts.agentSockets ? { agentSockets: opts.agentSockets } : {}),
    ...(opts.accessLogSocket ? { accessLogSocket: opts.accessLogSocket } : {}),
  });
  writeFileSync(bootstrapPath, `${JSON.stringify(bootstrap, null, 2)}\n`);
  const supervisor = new EnvoySupervisor({
    binary: opts.envoy.path,
    bootstrapPath,
    concurrency: opts.concurrency ?? 1,
    logLevel: opts.logLevel ?? 'warning',
    drainTimeS: 5,
    log: opts.log,
  });
  supervisor.start();
  opts.log(`envoy ${version} (${opts.envoy.path}, from ${opts.envoy.source}) pid ${supervisor.pid}, admin ${config.podIp}:${opts.adminPort}, bootstrap ${bootstrapPath}`);
  const admin = { host: config.podIp, port: opts.adminPort };
  return {
    kind: 'envoy',
    version: `envoy ${version}`,
    adminAddress: admin,
    ready: () => envoyReady(admin),
    pid: () => supervisor.pid,
    restarts: () => supervisor.restarts,
    prometheus: () => adminText(admin, '/stats/prometheus'),
    drain: () => drainListeners(admin),
    async stop() {
      await supervisor.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
