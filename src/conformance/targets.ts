// The two data planes under comparison, started once for the whole table against one ADS server:
// a real Envoy (the oracle) and the meshwork proxy, each with its own node id and listener address.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAccessLogServer, type RunningAccessLogServer } from '../agent/access-log-server.js';
import { startTestEnvoy, waitForEnvoySync, type TestEnvoy } from '../envoy/testdata/live-envoy.js';
import { startProxy, type RunningProxy } from '../proxy/main.js';
import type { LogLevel } from '../proxy/log.js';
import { freePort } from '../proxy/testutil/upstream.js';
import { SnapshotCache } from '../xds/cache.js';
import { SHORT_TYPE_NAMES, TYPE_URLS } from '../xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import type { XdsSnapshot } from '../xds/snapshot.js';
import type { HttpAccessLogEntry } from '../telemetry/access-log-entry.js';

/** Addresses this suite binds: 127.230.0.0/16, a range nothing else on the machine uses. */
export const XDS_HOST = '127.230.0.10';
export const ENVOY_HOST = '127.230.0.1';
export const MESHWORK_HOST = '127.230.0.2';

export interface Target {
  name: 'envoy' | 'meshwork';
  nodeId: string;
  listen: { host: string; port: number };
}

/** One entry of an HCM's http_grpc access logger, as the access log service received it. */
export interface LoggedEntry {
  logName: string;
  entry: HttpAccessLogEntry;
}

export interface Targets {
  cache: SnapshotCache;
  xds: RunningXdsServer;
  envoy: Target;
  meshwork: Target;
  list: Target[];
  proxyLogs: string[];
  /**
   * What each target's access loggers on `envoy_accesslog_service` sent, in arrival order: Envoy's over
   * gRPC to an access log service on a Unix socket (the agent's, in a pod), the meshwork proxy's to the
   * sink the agent gives it in process.
   */
  accessLogs: Record<Target['name'], LoggedEntry[]>;
  /** Serves each target its snapshot and waits until both applied it; returns the meshwork NACK, if any. */
  push(snapshotFor: (t: Target) => XdsSnapshot, hosts: Record<string, number>): Promise<{ meshworkNack: string | undefined }>;
  close(): Promise<void>;
}

const node = (ip: string, name: string): string => `sidecar~${ip}~${name}.conformance~conformance.svc.cluster.local`;

/** The first snapshot: a listener and no routes yet, so that both start listening. */
export async function startTargets(envoyBinary: string, initial: (t: Target) => XdsSnapshot): Promise<Targets> {
  const cache = new SnapshotCache();
  const xds = await startXdsServer({ host: XDS_HOST, port: 0, cache, log: () => {} });
  const port = await freePort(ENVOY_HOST);
  const envoyTarget: Target = { name: 'envoy', nodeId: node(ENVOY_HOST, 'envoy'), listen: { host: ENVOY_HOST, port } };
  const meshworkTarget: Target = { name: 'meshwork', nodeId: node(MESHWORK_HOST, 'meshwork'), listen: { host: MESHWORK_HOST, port } };
  const list = [envoyTarget, meshworkTarget];
  for (const t of list) cache.setSnapshot(t.nodeId, initial(t));
  let envoy: TestEnvoy | undefined;
  let proxy: RunningProxy | undefined;
  let accessLogServer: RunningAccessLogServer | undefined;
  const proxyLogs: string[] = [];
  const accessLogs: Targets['accessLogs'] = { envoy: [], meshwork: [] };
  const socketDir = mkdtempSync(join(tmpdir(), 'meshwork-conformance-als-'));
  try {
    accessLogServer = await startAccessLogServer({
      socketPath: join(socketDir, 'ALS'),
      onEntry: (logName, entry) => accessLogs.envoy.push({ logName, entry }),
      log: (line) => proxyLogs.push(`envoy access log service: ${line}`),
    });
    envoy = await startTestEnvoy({
      binary: envoyBinary,
      xdsPort: xds.port,
      xdsHost: XDS_HOST,
      nodeId: envoyTarget.nodeId,
      adminHost: ENVOY_HOST,
      logLevel: 'error',
      accessLogSocket: accessLogServer.socketPath,
    });
    proxy = await startProxy({
      xdsServer: `${XDS_HOST}:${xds.port}`,
      nodeId: meshworkTarget.nodeId,
      cluster: 'conformance',
      metadata: { CLUSTER_ID: 'cluster-1', NAMESPACE: 'conformance' },
      adminAddress: { host: MESHWORK_HOST, port: 0 },
      accessLog: false,
      drainMs: 0,
      log: (level: LogLevel, m: string) => proxyLogs.push(`${level} ${m}`),
      backoff: { initialMs: 50, maxMs: 200, multiplier: 2, jitter: 0 },
      accessLogService: (logName, entry) => accessLogs.meshwork.push({ logName, entry }),
    });
    await waitForEnvoySync(envoy, () => xds.xds.status(), envoyTarget.nodeId);
    await proxy.waitReady(10_000);
  } catch (e) {
    await proxy?.stop();
    await envoy?.stop();
    await accessLogServer?.close();
    rmSync(socketDir, { recursive: true, force: true });
    await xds.close();
    throw e;
  }
  const runningEnvoy = envoy;
  const runningProxy = proxy;

  /** Every type the node was sent is ACKed at the version now in the cache (or NACKed at it). */
  async function applied(t: Target, hosts: Record<string, number>, timeoutMs = 10_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const prepared = cache.getPrepared(t.nodeId);
      const status = xds.xds.status().filter((s) => s.nodeId === t.nodeId).at(-1);
      let done = prepared !== undefined && status !== undefined;
      let nack: string | undefined;
      for (const url of Object.values(TYPE_URLS)) {
        const type = prepared?.types.get(url);
        if (!type || type.size === 0) continue;
        const s = status?.types[SHORT_TYPE_NAMES[url]];
        if (s?.nack && s.nack.version === type.version) nack = `${SHORT_TYPE_NAMES[url]}: ${s.nack.message}`;
        else if (s?.ackedVersion !== type.version) done = false;
      }
      if (done && nack) return nack;
      if (done && t.name === 'envoy') {
        // A cluster that is still warming (waiting for its endpoints) does not serve yet.
        const warming = (await runningEnvoy.stats('cluster_manager.warming_clusters')).get('cluster_manager.warming_clusters') ?? 0;
        if (warming === 0) return undefined;
      } else if (done) {
        // Our proxy learns of a new cluster's endpoints in an EDS response after the CDS one.
        if (Object.entries(hosts).every(([cluster, n]) => runningProxy.clusters.get(cluster)?.hosts.length === n)) return undefined;
      }
      if (Date.now() > deadline) {
        const want = Object.fromEntries([...(prepared?.types ?? [])].map(([url, type]) => [SHORT_TYPE_NAMES[url], type.version]));
        throw new Error(`${t.name} did not apply the snapshot in ${timeoutMs} ms: has ${JSON.stringify(status?.types)}, want ${JSON.stringify(want)}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  return {
    cache,
    xds,
    envoy: envoyTarget,
    meshwork: meshworkTarget,
    list,
    proxyLogs,
    accessLogs,
    async push(snapshotFor, hosts) {
      for (const t of list) cache.setSnapshot(t.nodeId, snapshotFor(t));
      const [envoyNack, meshworkNack] = await Promise.all(list.map((t) => applied(t, hosts)));
      if (envoyNack) throw new Error(`Envoy NACKed the case's config: ${envoyNack}`);
      return { meshworkNack };
    },
    async close() {
      await runningProxy.stop();
      await runningEnvoy.stop();
      await accessLogServer?.close();
      rmSync(socketDir, { recursive: true, force: true });
      await xds.close();
    },
  };
}
