// The meshwork proxy as a pod's data plane: in the agent's own process.
import type { ChannelCredentials } from '@grpc/grpc-js';
import { startProxy } from '../proxy/main.js';
import type { LocalSecretSource } from '../security/secrets.js';
import type { GrpcAccessLogSink } from '../proxy/grpc-access-log.js';
import { MESHWORK_VERSION } from '../image.js';
import type { AgentConfig } from './proxy-agent.js';
import type { DataPlane } from './data-plane.js';

export interface MeshworkDataPlaneOptions {
  adminPort: number;
  accessLog: boolean;
  xdsCredentials?: ChannelCredentials;
  localSecrets?: LocalSecretSource;
  /** The agent's access log service, served in process (HCM loggers on `envoy_accesslog_service`). */
  accessLogService?: GrpcAccessLogSink;
}

export async function startMeshworkDataPlane(config: AgentConfig, opts: MeshworkDataPlaneOptions): Promise<DataPlane> {
  const proxy = await startProxy({
    xdsServer: config.xdsAddress,
    nodeId: config.nodeId,
    cluster: config.clusterId,
    metadata: config.metadata,
    adminAddress: { host: config.podIp, port: opts.adminPort },
    accessLog: opts.accessLog,
    sourceAddress: config.podIp,
    ...(opts.xdsCredentials ? { xdsCredentials: opts.xdsCredentials } : {}),
    ...(opts.localSecrets ? { localSecrets: opts.localSecrets } : {}),
    ...(opts.accessLogService ? { accessLogService: opts.accessLogService } : {}),
  });
  return {
    kind: 'meshwork',
    version: `meshwork ${MESHWORK_VERSION}`,
    adminAddress: proxy.adminAddress,
    ready: async () => (proxy.ready() ? { ready: true, reason: 'ready' } : { ready: false, reason: 'waiting for config from the control plane' }),
    pid: () => undefined,
    restarts: () => 0,
    prometheus: () => proxy.stats.text(),
    // In-flight requests finish on their pools when the listeners close in stop().
    drain: async () => {},
    stop: () => proxy.stop(),
  };
}
