// istio.v1.auth.IstioCertificateService from proto/istio-ca.proto, for the CA (control plane) and its
// callers (agents, tests): messages with the .proto field names, int64 as numbers.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface IstioCertificateRequest {
  csr: string;
  validity_duration?: number;
  metadata?: unknown;
}

export interface IstioCertificateResponse {
  cert_chain: string[];
}

let loaded: grpc.ServiceClientConstructor | undefined;

/** The service's client constructor; `.service` is its definition for Server.addService. */
export function certificateServiceClient(): grpc.ServiceClientConstructor {
  if (loaded) return loaded;
  const file = join(dirname(fileURLToPath(import.meta.url)), 'proto', 'istio-ca.proto');
  const definition = protoLoader.loadSync(file, { keepCase: true, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { istio: { v1: { auth: { IstioCertificateService: grpc.ServiceClientConstructor } } } };
  loaded = pkg.istio.v1.auth.IstioCertificateService;
  return loaded;
}
