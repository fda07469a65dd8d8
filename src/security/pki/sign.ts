// What the cluster's intermediate signs: workload certificates from the agents' CSRs (Istio's
// CreateCertificate: the identity comes from the caller's token, never from the CSR) and the control
// plane's serving certificate for port 15012.
import { issueServerCertificate } from './authority.js';
import type { CaCerts } from './cacerts.js';
import { loadSigner, signCertificate, splitPemCertificates, x509, type Signer } from './x509.js';

/** Istio's default workload certificate lifetime (SECRET_TTL) and the CA's default maximum. */
export const DEFAULT_WORKLOAD_TTL_SECONDS = 24 * 60 * 60;
export const DEFAULT_MAX_WORKLOAD_TTL_SECONDS = 24 * 60 * 60;
/** Shorter than this, rotation (at half the lifetime) would be a storm of CSRs. */
export const MIN_WORKLOAD_TTL_SECONDS = 60;

/** A refusal the CA reports to the caller as it is (gRPC INVALID_ARGUMENT / PERMISSION_DENIED). */
export class CsrRefused extends Error {
  constructor(
    message: string,
    readonly kind: 'invalid' | 'forbidden',
  ) {
    super(message);
  }
}

/** The cluster's intermediate, ready to sign, with the chain that goes after each leaf. */
export interface IssuingCa {
  signer: Signer;
  /** PEM certificates after the leaf: the intermediate(s), the root last. */
  chainPems: string[];
  files: CaCerts;
}

export async function issuingCa(files: CaCerts): Promise<IssuingCa> {
  const signer = await loadSigner({ certPem: files.caCertPem, keyPem: files.caKeyPem }, 'ca-cert.pem / ca-key.pem');
  const chainPems = splitPemCertificates(files.certChainPem);
  const [root] = splitPemCertificates(files.rootCertPem);
  // cert-chain.pem normally ends with the root; the answer always does.
  const rootDer = new x509.X509Certificate(root!).rawData;
  const last = chainPems.at(-1);
  if (!last || Buffer.compare(Buffer.from(new x509.X509Certificate(last).rawData), Buffer.from(rootDer)) !== 0) chainPems.push(root!);
  return { signer, chainPems, files };
}

export interface WorkloadCsr {
  csrPem: string;
  /** The caller's identity, from its token: the only SAN the CSR may ask for. */
  spiffeId: string;
  /** Requested lifetime; 0 or absent: the default. */
  ttlSeconds?: number;
  maxTtlSeconds?: number;
}

const SAN_OID = '2.5.29.17';

function sanNames(csr: x509.Pkcs10CertificateRequest): Array<{ type: string; value: string }> {
  const ext = csr.extensions.find((e) => e.type === SAN_OID);
  if (!ext) return [];
  return new x509.SubjectAlternativeNameExtension(ext.rawData).names.items.map((n) => ({ type: n.type, value: n.value }));
}

/** The lifetime to issue: requested (or default), no more than the maximum; below the minimum is refused. */
export function workloadTtlSeconds(requested: number | undefined, maxTtlSeconds = DEFAULT_MAX_WORKLOAD_TTL_SECONDS): number {
  if (requested === undefined || requested === 0) return Math.min(DEFAULT_WORKLOAD_TTL_SECONDS, maxTtlSeconds);
  if (!Number.isFinite(requested) || requested < MIN_WORKLOAD_TTL_SECONDS) {
    throw new CsrRefused(`requested certificate lifetime ${requested}s is below the minimum of ${MIN_WORKLOAD_TTL_SECONDS}s (SECRET_TTL)`, 'invalid');
  }
  return Math.min(Math.floor(requested), maxTtlSeconds);
}

/**
 * Signs a workload CSR: its signature must verify (the caller holds the key) and its only SAN must be
 * the caller's SPIFFE ID. The answer is [leaf, intermediate..., root] as PEM strings.
 */
export async function signWorkloadCsr(ca: IssuingCa, req: WorkloadCsr, now = Date.now()): Promise<string[]> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(req.csrPem);
  } catch (err) {
    throw new CsrRefused(`the CSR is not a PEM PKCS#10 certificate request: ${(err as Error).message}`, 'invalid');
  }
  if (!(await csr.verify())) throw new CsrRefused('the CSR signature does not verify with its own public key', 'invalid');
  const names = sanNames(csr);
  const asked = names.map((n) => `${n.type === 'url' ? 'URI' : n.type.toUpperCase()}:${n.value}`);
  if (names.length !== 1 || names[0]!.type !== 'url' || names[0]!.value !== req.spiffeId) {
    throw new CsrRefused(
      `the CSR asks for ${asked.length > 0 ? asked.join(', ') : 'no subject alternative name'}, but the caller is ${req.spiffeId}: a workload gets a certificate for its own identity only (one URI SAN)`,
      'forbidden',
    );
  }
  const ttl = workloadTtlSeconds(req.ttlSeconds, req.maxTtlSeconds);
  const notAfter = new Date(Math.min(now + ttl * 1000, ca.signer.cert.notAfter.getTime()));
  const leaf = await signCertificate({
    issuer: ca.signer,
    // No subject: the identity is the SAN, which is then critical (RFC 5280 4.2.1.6), as Istio's.
    subject: [],
    publicKey: csr.publicKey,
    // Seconds resolution: notBefore is this second, so the lifetime is the TTL the agent asked for.
    notBefore: new Date(Math.floor(now / 1000) * 1000),
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: req.spiffeId }], true),
    ],
  });
  return [`${leaf.toString('pem')}\n`, ...ca.chainPems];
}

export interface ServingCertificate {
  /** The leaf, then the chain up to (not including) the root: what a TLS server sends. */
  certChainPem: string;
  keyPem: string;
}

/** The control plane's serving certificate, signed by the cluster's intermediate. */
export async function issueServingCertificate(ca: IssuingCa, names: { dnsNames: string[]; ipAddresses: string[] }): Promise<ServingCertificate> {
  const issued = await issueServerCertificate(
    { certPem: ca.files.caCertPem, keyPem: ca.files.caKeyPem },
    { commonName: names.dnsNames[0] ?? names.ipAddresses[0] ?? 'istiod', dnsNames: names.dnsNames, ipAddresses: names.ipAddresses, days: 365 },
  );
  const intermediates = ca.chainPems.slice(0, -1);
  return { certChainPem: [`${issued.certPem.trimEnd()}\n`, ...intermediates].join(''), keyPem: issued.keyPem };
}
