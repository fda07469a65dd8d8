// The meshwork proxy: an xDS client (ADS) driving HTTP/1.1 + HTTP/2 listeners, a router, clusters
// with load balancing, outlier detection, retries, timeouts, faults, an admin listener and access log.
//
// `meshwork proxy` calls runProxyFromEnv(). Flags win over environment variables:
//   --xds HOST:PORT          MESHWORK_XDS_ADDRESS    ADS server (plaintext gRPC). Required.
//   --node-id ID             MESHWORK_NODE_ID        xDS node id, e.g. sidecar~127.10.0.5~sleep-1.sample~sample.svc.cluster.local.
//                                                    Required.
//   --cluster NAME           MESHWORK_NODE_CLUSTER   node.cluster (default: the node id's 3rd field's namespace, else 'meshwork').
//   --metadata K=V,K=V       MESHWORK_NODE_METADATA  node.metadata string fields (e.g. CLUSTER_ID=cluster-1,NAMESPACE=sample);
//                                                    a JSON object is accepted too (object values, e.g.
//                                                    PROXY_CONFIG, are sent as Structs).
//   --admin HOST:PORT        MESHWORK_ADMIN_ADDRESS  admin listener (default 127.0.0.1:15000; port 0 picks one).
//   --no-access-log          MESHWORK_ACCESS_LOG=0   turn the per-request stdout line off (on by default).
//   --log-level LEVEL        MESHWORK_LOG_LEVEL      debug | info | warn | error (default info), to stderr.
// SIGTERM / SIGINT stop the proxy (listeners closed, xDS stream cancelled) and exit 0.

import type { ChannelCredentials } from '@grpc/grpc-js';
import { splitHostPort } from '../net/host-port.js';
import type { LocalSecretSource } from '../security/secrets.js';
import { bufferedAccessLog } from './accesslog.js';
import type { GrpcAccessLogSink } from './grpc-access-log.js';
import { AdminServer } from './admin/server.js';
import { ProxyStats } from './admin/stats.js';
import { systemClock, type Clock } from '../clock.js';
import { ClusterManager } from './cluster/manager.js';
import { ConfigStore } from './config/store.js';
import { ListenerManager } from './listener/manager.js';
import { SecretResolver } from './tls/secrets.js';
import { stderrLogger, type Logger, type LogLevel } from './log.js';
import type { BackoffOptions } from './xds/backoff.js';
import { XdsClient } from './xds/client.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, SECRET_TYPE } from './xds/resource-types.js';

export interface ProxyOptions {
  /** host:port of the ADS server. */
  xdsServer: string;
  nodeId: string;
  cluster: string;
  metadata: Readonly<Record<string, unknown>>;
  adminAddress: { host: string; port: number };
  accessLog: boolean;
  clock?: Clock;
  /** Defaults to Math.random; tests inject a seeded one for weighted picks and faults. */
  random?: () => number;
  log?: Logger;
  /** xDS reconnect back-off. */
  backoff?: BackoffOptions;
  /** Grace for in-flight requests on a removed listener (default 5000 ms). */
  drainMs?: number;
  /** TLS to the control plane with the pod's token (given by the agent); plaintext xDS when absent. */
  xdsCredentials?: ChannelCredentials;
  /** Upstream connections to pod IPs leave from this address (the pod IP), as Envoy's bootstrap upstream_bind_config. */
  sourceAddress?: string;
  /** The workload certificate and root from the agent beside the proxy (secrets on the `sds-grpc` cluster). */
  localSecrets?: LocalSecretSource;
  /** The agent's access log service, served in process (HCM http_grpc loggers on `envoy_accesslog_service`). */
  accessLogService?: GrpcAccessLogSink;
}

export interface RunningProxy {
  /** The bound admin address (the real port when 0 was asked). */
  readonly adminAddress: { host: string; port: number };
  readonly store: ConfigStore;
  readonly xds: XdsClient;
  readonly clusters: ClusterManager;
  readonly stats: ProxyStats;
  /** Listener name -> bound address. */
  listeners(): Map<string, { host: string; port: number }>;
  /** LDS and CDS received and everything they refer to arrived (what /ready reports). */
  ready(): boolean;
  /** Resolves once ready() and every listener has tried to bind, or rejects after timeoutMs. */
  waitReady(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const log = opts.log ?? stderrLogger(`proxy[${opts.nodeId}]`);
  const store = new ConfigStore();
  const stats = new ProxyStats();
  const secrets = new SecretResolver(store, opts.localSecrets);
  const clusters = new ClusterManager(store, { clock, random, log, onEjection: (c) => stats.ejection(c), secrets, ...(opts.sourceAddress ? { sourceAddress: opts.sourceAddress } : {}) });
  const accessLog = opts.accessLog ? bufferedAccessLog((text) => process.stdout.write(text)) : undefined;
  const listeners = new ListenerManager(
    store,
    { clusters, clock, random, stats, accessLog: accessLog?.sink, log, ...(opts.accessLogService ? { accessLogService: opts.accessLogService } : {}) },
    { drainMs: opts.drainMs ?? 5000, secrets, onBindError: () => stats.internalError('listener_bind') },
  );
  const xds = new XdsClient({
    server: opts.xdsServer, nodeId: opts.nodeId, cluster: opts.cluster, metadata: opts.metadata, store, clock, log, backoff: opts.backoff, random,
    ...(opts.xdsCredentials ? { credentials: opts.xdsCredentials } : {}),
  });
  const shortOf = new Map([LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE, SECRET_TYPE].map((t) => [t.typeUrl, t.short]));
  xds.onEvent((e) => {
    if (e.kind === 'ack' || e.kind === 'nack') stats.xdsUpdate(shortOf.get(e.typeUrl) ?? e.typeUrl, e.kind === 'ack');
    if (e.kind === 'connected') stats.controlPlaneConnected.set(1);
    if (e.kind === 'disconnected') stats.controlPlaneConnected.set(0);
  });
  const admin = new AdminServer({
    store,
    clusters,
    stats,
    clock,
    log,
    ...(opts.localSecrets ? { localSecrets: opts.localSecrets } : {}),
    xdsErrors: () => {
      const s = xds.status();
      return {
        listeners: s.get(LISTENER_TYPE.typeUrl)?.lastError,
        routes: s.get(ROUTE_TYPE.typeUrl)?.lastError,
        clusters: s.get(CLUSTER_TYPE.typeUrl)?.lastError,
        endpoints: s.get(ENDPOINT_TYPE.typeUrl)?.lastError,
      };
    },
  });
  const adminAddress = await admin.listen(opts.adminAddress.host, opts.adminAddress.port);
  xds.start();
  log('info', `proxy ${opts.nodeId}: admin on ${adminAddress.host}:${adminAddress.port}, xDS server ${opts.xdsServer}`);

  let stopped = false;
  return {
    adminAddress,
    store,
    xds,
    clusters,
    stats,
    listeners: () => listeners.addresses(),
    ready: () => store.ready(),
    async waitReady(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!store.ready()) {
        if (Date.now() > deadline) throw new Error(`proxy ${opts.nodeId} not ready after ${timeoutMs} ms (LDS ${store.received.listeners}, CDS ${store.received.clusters})`);
        await new Promise((r) => setTimeout(r, 10));
      }
      await listeners.settled();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      xds.stop();
      await listeners.close();
      clusters.close();
      await admin.close();
      accessLog?.flush();
    },
  };
}

export function parseMetadata(value: string | undefined): Record<string, unknown> {
  if (!value) return {};
  if (value.trim().startsWith('{')) {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('metadata: expected a JSON object');
    // Objects (PROXY_CONFIG) stay objects, sent as Structs; other values as strings, as Istio's metadata has them.
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' || (typeof v === 'object' && v !== null && !Array.isArray(v)) ? v : JSON.stringify(v)]));
  }
  const out: Record<string, string> = {};
  for (const pair of value.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`metadata: expected K=V, got '${pair}'`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/** Options from flags (argv) over environment variables; throws a usage error naming what is missing. */
export function proxyOptionsFromEnv(argv: readonly string[], env: NodeJS.ProcessEnv): ProxyOptions & { logLevel: LogLevel } {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-access-log') flags.set('access-log', '0');
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
      else {
        const v = argv[i + 1];
        if (v === undefined) throw new Error(`flag ${a} needs a value`);
        flags.set(a.slice(2), v);
        i++;
      }
    } else throw new Error(`unexpected argument '${a}'`);
  }
  const known = new Set(['xds', 'node-id', 'cluster', 'metadata', 'admin', 'access-log', 'log-level']);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown flag --${k}`);
  const xdsServer = flags.get('xds') ?? env['MESHWORK_XDS_ADDRESS'];
  const nodeId = flags.get('node-id') ?? env['MESHWORK_NODE_ID'];
  if (!xdsServer) throw new Error('the xDS server address is required: --xds HOST:PORT or MESHWORK_XDS_ADDRESS');
  if (!nodeId) throw new Error('the node id is required: --node-id ID or MESHWORK_NODE_ID');
  splitHostPort(xdsServer, 'xds address');
  // Istio node ids: type~ip~pod.ns~ns.svc.cluster.local; the cluster defaults to the workload namespace.
  const ns = nodeId.split('~')[3]?.split('.')[0];
  const accessLog = (flags.get('access-log') ?? env['MESHWORK_ACCESS_LOG'] ?? '1') !== '0';
  const level = flags.get('log-level') ?? env['MESHWORK_LOG_LEVEL'] ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new Error(`log level must be debug, info, warn or error, got '${level}'`);
  return {
    xdsServer,
    nodeId,
    cluster: flags.get('cluster') ?? env['MESHWORK_NODE_CLUSTER'] ?? ns ?? 'meshwork',
    metadata: parseMetadata(flags.get('metadata') ?? env['MESHWORK_NODE_METADATA']),
    adminAddress: splitHostPort(flags.get('admin') ?? env['MESHWORK_ADMIN_ADDRESS'] ?? '127.0.0.1:15000', 'admin address'),
    accessLog,
    logLevel: level as LogLevel,
  };
}

/** Entry point of `meshwork proxy`: runs until SIGTERM/SIGINT. */
export async function runProxyFromEnv(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<RunningProxy> {
  const opts = proxyOptionsFromEnv(argv, env);
  const proxy = await startProxy({ ...opts, log: stderrLogger(`proxy[${opts.nodeId}]`, opts.logLevel) });
  const shutdown = (signal: string): void => {
    process.stderr.write(`proxy ${opts.nodeId}: ${signal}, stopping\n`);
    proxy.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`proxy ${opts.nodeId}: stop failed: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return proxy;
}
