// What a pod with certificates runs in its agent beside the data plane: the workload certificate
// (WorkloadCertificates, from the CA), and for Envoy the agent's two Unix sockets in the agent's
// directory: `SDS` (the SDS server) and `XDS` (the XDS proxy to the control plane).
import { join } from 'node:path';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { startSdsServer, type RunningSdsServer } from '../sds-server.js';
import { startXdsProxy, type RunningXdsProxy } from '../xds-proxy.js';
import { CaClient } from './ca-client.js';
import type { IdentityConfig } from './config.js';
import { controlPlaneCredentials } from './credentials.js';
import { WorkloadCertificates } from './workload-certificates.js';

/** Socket names inside the agent's directory. */
export const XDS_SOCKET = 'XDS';
export const SDS_SOCKET = 'SDS';

export interface PodIdentity {
  readonly certificates: WorkloadCertificates;
  /** TLS with the mesh root and the pod's token, for every call to the control plane. */
  readonly credentials: ChannelCredentials;
  /** For Envoy: serves SDS and relays ADS on sockets in the agent's directory `dir`; answers their paths. */
  serveEnvoy(xdsAddress: string, dir: string): Promise<{ xds: string; sds: string }>;
  stop(): Promise<void>;
}

export function startPodIdentity(config: IdentityConfig, opts: { podIp: string; clusterId: string; log: (line: string) => void }): PodIdentity {
  const credentials = controlPlaneCredentials({ rootCertPem: config.rootCertPem, tokenPath: config.tokenPath });
  const ca = new CaClient(config.caAddress, credentials, opts.clusterId);
  const certificates = new WorkloadCertificates({ spiffeId: config.spiffeId, signer: ca, ttlMs: config.ttlMs, rootCertPem: config.rootCertPem, log: opts.log });
  certificates.start();
  let sds: RunningSdsServer | undefined;
  let xdsProxy: RunningXdsProxy | undefined;
  return {
    certificates,
    credentials,
    async serveEnvoy(xdsAddress: string, dir: string) {
      sds = await startSdsServer({ socketPath: join(dir, SDS_SOCKET), secrets: certificates, log: opts.log });
      xdsProxy = await startXdsProxy({ socketPath: join(dir, XDS_SOCKET), upstream: xdsAddress, credentials, log: opts.log });
      opts.log(`identity: ${config.spiffeId}; Envoy's SDS on ${sds.socketPath}, its ADS relayed from ${xdsProxy.socketPath} to ${xdsAddress} over TLS`);
      return { xds: xdsProxy.socketPath, sds: sds.socketPath };
    },
    async stop() {
      certificates.stop();
      ca.close();
      await xdsProxy?.close();
      await sds?.close();
    },
  };
}
