// How the agent authenticates to the control plane (xDS and CA on 15012): TLS verified against the mesh
// root, and `authorization: Bearer <pod's service-account token>` on every call. The token is read from
// its file for each call: the kubelet rotates it in place, and a token read once would expire.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

export interface ControlPlaneAuth {
  /** The mesh root PEM the control plane's serving certificate chains to. */
  rootCertPem: string;
  /** The pod's service-account token file. */
  tokenPath: string;
}

/** The Bearer token of the pod, read now; throws naming the file when it is missing or empty. */
export function readToken(tokenPath: string): string {
  let token: string;
  try {
    token = readFileSync(tokenPath, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read the service-account token ${tokenPath}: ${(err as Error).message}`);
  }
  if (!token) throw new Error(`the service-account token file ${tokenPath} is empty`);
  return token;
}

export function controlPlaneCredentials(auth: ControlPlaneAuth): grpc.ChannelCredentials {
  const perCall = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    try {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${readToken(auth.tokenPath)}`);
      callback(null, metadata);
    } catch (err) {
      callback(err as Error);
    }
  });
  return grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(Buffer.from(auth.rootCertPem)), perCall);
}
