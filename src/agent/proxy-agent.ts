// `meshwork proxy sidecar|router`: what Istio's pilot-agent does beside Envoy. It turns the injected
// environment (POD_NAME, POD_NAMESPACE, INSTANCE_IP, XDS_ADDRESS, CLUSTER_ID, ISTIO_META_*) into the
// proxy's xDS node identity, starts the proxy, and serves the status port (15021):
// GET /healthz/ready is 200 only once the proxy has its config from the control plane, and 503 before
// that and while draining on SIGTERM.
import { createServer, type Server } from 'node:http';
import { startProxy, type RunningProxy } from '../proxy/main.js';

export type ProxyMode = 'sidecar' | 'router';

export const ADMIN_PORT = 15000;
export const STATUS_PORT = 15021;

export interface AgentConfig {
  mode: ProxyMode;
  nodeId: string;
  podIp: string;
  xdsAddress: string;
  clusterId: string;
  metadata: Record<string, string>;
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
  const metadata: Record<string, string> = { NAMESPACE: namespace, CLUSTER_ID: clusterId, POD_NAME: pod, INSTANCE_IPS: ip };
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('ISTIO_META_') && value !== undefined) metadata[key.slice('ISTIO_META_'.length)] = value;
  }
  return {
    mode,
    // Istio's node id: <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local
    nodeId: `${mode}~${ip}~${pod}.${namespace}~${namespace}.svc.cluster.local`,
    podIp: ip,
    xdsAddress: env.XDS_ADDRESS!,
    clusterId,
    metadata,
  };
}

export interface RunningAgent {
  proxy: RunningProxy;
  statusPort: number;
  /** Marks the proxy not ready, lets in-flight requests finish, then stops it. */
  drainAndStop(drainMs: number): Promise<void>;
}

export async function startAgent(config: AgentConfig, opts: { statusPort?: number; adminPort?: number; accessLog?: boolean } = {}): Promise<RunningAgent> {
  const proxy = await startProxy({
    xdsServer: config.xdsAddress,
    nodeId: config.nodeId,
    cluster: config.clusterId,
    metadata: config.metadata,
    adminAddress: { host: config.podIp, port: opts.adminPort ?? ADMIN_PORT },
    accessLog: opts.accessLog ?? true,
  });
  let draining = false;
  const status: Server = createServer((req, res) => {
    if (req.url === '/healthz/ready') {
      const ready = !draining && proxy.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(draining ? 'draining\n' : ready ? 'ready\n' : 'waiting for config from the control plane\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: the status port serves GET /healthz/ready\n');
  });
  await new Promise<void>((resolve, reject) => {
    status.once('error', reject);
    status.listen(opts.statusPort ?? STATUS_PORT, config.podIp, () => resolve());
  });
  const address = status.address();
  return {
    proxy,
    statusPort: typeof address === 'object' && address ? address.port : STATUS_PORT,
    async drainAndStop(drainMs: number) {
      draining = true;
      await new Promise((r) => setTimeout(r, drainMs));
      await proxy.stop();
      await new Promise<void>((resolve) => status.close(() => resolve()));
    },
  };
}
