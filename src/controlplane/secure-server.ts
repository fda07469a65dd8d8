// Port 15012, as istiod's: one TLS gRPC server with ADS (the same XdsServer as the plaintext port) and
// the CA (istio.v1.auth.IstioCertificateService). Its serving certificate comes from the cluster's
// intermediate, so proxies verify it with the mesh root. Every call carries the pod's service-account
// token (`authorization: Bearer ...`), checked with the cluster's TokenReview: an xDS stream is served
// only for the caller's own pod, a certificate only for the caller's own SPIFFE ID.
import * as grpc from '@grpc/grpc-js';
import { certificateServiceClient, type IstioCertificateRequest, type IstioCertificateResponse } from '../security/ca-proto.js';
import { CsrRefused, signWorkloadCsr, type IssuingCa, type ServingCertificate } from '../security/pki/sign.js';
import { spiffeId } from '../security/spiffe.js';
import { listenGrpc, type StreamAuthorizer, type XdsServer } from '../xds/server.js';
import { nodeIdentityMismatch } from './node-authz.js';
import { bearerToken, type CallerIdentity, type ReviewResult } from './token-review.js';

export interface SecureServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  xds: XdsServer;
  ca: IssuingCa;
  serving: ServingCertificate;
  /** The cluster's TokenReview (TokenReviewer.review). */
  review: (token: string) => Promise<ReviewResult>;
  /** meshConfig.trustDomain now. */
  trustDomain: () => string;
  /** The longest workload certificate the CA issues (default 24 h). */
  maxCertTtlSeconds?: number;
  log: (line: string) => void;
  /** Counts CSRs received and certificates issued (citadel_server_* metrics). */
  metrics?: { csrReceived(): void; certificateIssued(): void };
}

type Authenticated = { ok: true; identity: CallerIdentity } | { ok: false; code: grpc.status; details: string };

async function authenticate(metadata: grpc.Metadata, review: SecureServerOptions['review']): Promise<Authenticated> {
  const token = bearerToken(metadata);
  if (!token) return { ok: false, code: grpc.status.UNAUTHENTICATED, details: 'no credentials: send gRPC metadata "authorization: Bearer <the pod\'s service-account token>"' };
  const result = await review(token);
  if (result.ok) return result;
  return { ok: false, code: result.unavailable ? grpc.status.UNAVAILABLE : grpc.status.UNAUTHENTICATED, details: `authentication failed: ${result.error}` };
}

export async function startSecureServer(opts: SecureServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const authorizeStream: StreamAuthorizer = async (node, metadata) => {
    const auth = await authenticate(metadata, opts.review);
    if (!auth.ok) return { code: auth.code, details: auth.details };
    const mismatch = nodeIdentityMismatch(node, auth.identity);
    return mismatch ? { code: grpc.status.PERMISSION_DENIED, details: mismatch } : undefined;
  };

  const createCertificate = (
    call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>,
    callback: grpc.sendUnaryData<IstioCertificateResponse>,
  ): void => {
    // As istiod: every CreateCertificate call counts as a CSR, before authentication.
    opts.metrics?.csrReceived();
    void (async () => {
      const auth = await authenticate(call.metadata, opts.review);
      if (!auth.ok) {
        opts.log(`ca: refused a CreateCertificate: ${auth.details}`);
        callback({ code: auth.code, details: auth.details });
        return;
      }
      const id = spiffeId({ trustDomain: opts.trustDomain(), namespace: auth.identity.namespace, serviceAccount: auth.identity.serviceAccount });
      try {
        const chain = await signWorkloadCsr(opts.ca, {
          csrPem: call.request.csr ?? '',
          spiffeId: id,
          ...(call.request.validity_duration ? { ttlSeconds: Number(call.request.validity_duration) } : {}),
          ...(opts.maxCertTtlSeconds ? { maxTtlSeconds: opts.maxCertTtlSeconds } : {}),
        });
        opts.metrics?.certificateIssued();
        callback(null, { cert_chain: chain });
      } catch (err) {
        const details = err instanceof Error ? err.message : String(err);
        const code = err instanceof CsrRefused ? (err.kind === 'forbidden' ? grpc.status.PERMISSION_DENIED : grpc.status.INVALID_ARGUMENT) : grpc.status.INTERNAL;
        opts.log(`ca: refused a certificate for ${id}${auth.identity.podName ? ` (pod ${auth.identity.namespace}/${auth.identity.podName})` : ''}: ${details}`);
        callback({ code, details });
      }
    })();
  };

  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(opts.serving.certChainPem), private_key: Buffer.from(opts.serving.keyPem) }], false);
  return listenGrpc(opts.host, opts.port, credentials, (server) => {
    opts.xds.addTo(server, authorizeStream);
    server.addService(certificateServiceClient().service, { CreateCertificate: createCertificate });
  });
}
