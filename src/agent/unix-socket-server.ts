// The agent serves its data plane over Unix sockets in the pod's agent dir (Istio's XDS and SDS sockets,
// and the access log service): a stale socket file is replaced, and closing removes it. Envoy's streams
// never end by themselves, so closing is a forced shutdown, not a graceful one that would wait on Envoy.
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

/** Binds `server` (its services added) to `socketPath`; the returned close stops it and removes the file. */
export async function serveOnUnixSocket(server: grpc.Server, socketPath: string): Promise<() => void> {
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  return () => {
    server.forceShutdown();
    rmSync(socketPath, { force: true });
  };
}
