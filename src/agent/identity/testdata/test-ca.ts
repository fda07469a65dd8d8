// A small mesh CA for the agent's tests, standing in for the control plane's 15012: a gRPC server over
// TLS (serving certificate from a test root, IP SAN of where it listens) with
// IstioCertificateService/CreateCertificate, which checks the caller's Bearer token and signs the CSR's
// public key for the URI SAN the CSR asks (it must be the identity the token maps to), and optionally
// ADS on the same port (createXdsServer), as the control plane serves both there.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { createCertificateAuthority, issueServerCertificate, type CertificateAuthority } from '../../../security/pki/authority.js';
import type { XdsServer } from '../../../xds/server.js';
import { certificateServiceDefinition, type CertificateRequest, type CertificateResponse } from '../ca-client.js';

x509.cryptoProvider.set(webcrypto);

export interface TestCa {
  root: CertificateAuthority;
  address: string;
  /** Every CreateCertificate answered: the URI SAN and the lifetime granted (s). */
  issued: Array<{ uri: string; ttlSeconds: number; serial: string }>;
  /** Calls refused (no/bad token), CA and ADS. */
  readonly refused: number;
  /** ADS streams accepted (with a known token). */
  readonly xdsStreams: number;
  /** Token -> SPIFFE id it may ask for; change to revoke. */
  tokens: Map<string, string>;
  /** While down, every call fails with UNAVAILABLE; `unavailable` counts them. */
  down: boolean;
  readonly unavailable: number;
  close(): Promise<void>;
}

export async function startTestCa(opts: { host: string; maxTtlSeconds?: number; xds?: XdsServer }): Promise<TestCa> {
  const root = await createCertificateAuthority('meshwork test root');
  const serving = await issueServerCertificate(root, { commonName: 'istiod', dnsNames: ['istiod.istio-system.svc'], ipAddresses: [opts.host] });
  const rootCert = new x509.X509Certificate(root.certPem);
  const [rootKeyDer] = x509.PemConverter.decode(root.keyPem);
  const rootKey = await webcrypto.subtle.importKey('pkcs8', rootKeyDer!, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const issued: TestCa['issued'] = [];
  const tokens = new Map<string, string>();
  const state = { refused: 0, down: false, unavailable: 0, xdsStreams: 0 };

  const createCertificate = (call: grpc.ServerUnaryCall<CertificateRequest, CertificateResponse>, callback: grpc.sendUnaryData<CertificateResponse>): void => {
    void (async () => {
      if (state.down) {
        state.unavailable++;
        return callback({ code: grpc.status.UNAVAILABLE, details: 'test CA: down' });
      }
      const auth = String(call.metadata.get('authorization')[0] ?? '');
      const token = /^Bearer (.+)$/.exec(auth)?.[1];
      const allowed = token ? tokens.get(token) : undefined;
      if (!allowed) {
        state.refused++;
        return callback({ code: grpc.status.UNAUTHENTICATED, details: token ? 'test CA: unknown token' : 'test CA: no Bearer token' });
      }
      const csr = new x509.Pkcs10CertificateRequest(call.request.csr);
      if (!(await csr.verify())) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'test CA: CSR signature does not verify' });
      const sanExtension = csr.getExtension('2.5.29.17');
      const san = sanExtension ? new x509.SubjectAlternativeNameExtension(sanExtension.rawData) : undefined;
      const uris = san?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [];
      if (uris.length !== 1 || uris[0] !== allowed) {
        return callback({ code: grpc.status.PERMISSION_DENIED, details: `test CA: the token is ${allowed}, the CSR asks ${uris.join(', ') || 'nothing'}` });
      }
      const ttlSeconds = Math.min(Number(call.request.validity_duration) || 86_400, opts.maxTtlSeconds ?? 86_400);
      const now = Date.now();
      const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^./, '1');
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: '',
        issuer: rootCert.subjectName,
        publicKey: csr.publicKey,
        signingKey: rootKey,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + ttlSeconds * 1000),
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: allowed }], true),
        ],
      });
      issued.push({ uri: allowed, ttlSeconds, serial: leaf.serialNumber.toLowerCase() });
      callback(null, { cert_chain: [leaf.toString('pem'), root.certPem] });
    })().catch((err: Error) => callback({ code: grpc.status.INTERNAL, details: `test CA: ${err.message}` }));
  };

  const server = new grpc.Server();
  server.addService(certificateServiceDefinition(), { CreateCertificate: createCertificate });
  if (opts.xds) {
    // ADS as the control plane serves it on 15012: only with a known Bearer token.
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(opts.xds.handlers)) {
      handlers[method] = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const token = /^Bearer (.+)$/.exec(String(call.metadata.get('authorization')[0] ?? ''))?.[1];
        if (!token || !tokens.has(token)) {
          state.refused++;
          call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'test control plane: no or unknown Bearer token' });
          return;
        }
        state.xdsStreams++;
        (handler as (c: typeof call) => void)(call);
      };
    }
    server.addService(opts.xds.definition, handlers);
  }
  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(serving.certPem), private_key: Buffer.from(serving.keyPem) }], false);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${opts.host}:0`, credentials, (err, p) => (err ? reject(err) : resolve(p))));
  return {
    root,
    address: `${opts.host}:${port}`,
    issued,
    get refused() {
      return state.refused;
    },
    tokens,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    get xdsStreams() {
      return state.xdsStreams;
    },
    get unavailable() {
      return state.unavailable;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
