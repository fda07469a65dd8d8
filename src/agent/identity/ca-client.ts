// The agent's client of the mesh CA: istio.v1.auth.IstioCertificateService/CreateCertificate at CA_ADDR,
// over TLS with the pod's token (credentials.ts). Answers the chain as the CA sent it: leaf first, root last.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../../security/proto/istio-ca.proto', import.meta.url));
const SERVICE = 'istio.v1.auth.IstioCertificateService';

export interface CertificateRequest {
  csr: string;
  /** Seconds; the CA may shorten it. */
  validity_duration: number;
  metadata?: { fields: Record<string, unknown> };
}

export interface CertificateResponse {
  cert_chain: string[];
}

let definition: grpc.ServiceDefinition | undefined;

/** The service definition (for a client, and for test CAs that serve it). */
export function certificateServiceDefinition(): grpc.ServiceDefinition {
  if (definition) return definition;
  const packageDefinition = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, defaults: true, oneofs: true });
  const service = grpc.loadPackageDefinition(packageDefinition).istio as unknown as { v1: { auth: { IstioCertificateService: grpc.ServiceClientConstructor } } };
  definition = service.v1.auth.IstioCertificateService.service;
  return definition;
}

export class CaClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string, credentials: grpc.ChannelCredentials, private readonly clusterId: string) {
    const Client = grpc.makeGenericClientConstructor(certificateServiceDefinition(), SERVICE);
    this.client = new Client(address, credentials);
  }

  /** The signed chain for a CSR; rejects with the CA's status (e.g. UNAUTHENTICATED) in the message. */
  createCertificate(csrPem: string, ttlSeconds: number, timeoutMs = 10_000): Promise<string[]> {
    const request: CertificateRequest = {
      csr: csrPem,
      validity_duration: ttlSeconds,
      // As Istio's agent: the caller's cluster, for a CA serving several.
      metadata: { fields: { ClusterID: { string_value: this.clusterId } } },
    };
    return new Promise((resolve, reject) => {
      const method = (this.client as unknown as Record<string, (req: CertificateRequest, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: CertificateResponse) => void) => void>)['CreateCertificate']!;
      method.call(this.client, request, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) return reject(new Error(`CreateCertificate at ${this.address}: ${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`));
        const chain = res?.cert_chain ?? [];
        if (chain.length === 0) return reject(new Error(`CreateCertificate at ${this.address}: the CA answered an empty cert_chain`));
        resolve(chain);
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
