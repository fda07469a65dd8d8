// Certificates for the local clusters: one CA per cluster, a serving certificate for its API server and
// client certificates, ECDSA P-256 with SHA-256 (accepted by Go's crypto/tls, as in kubectl, and by
// Node's tls). Keys are PKCS#8 PEM ("PRIVATE KEY"), which both read.
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata
// API loaded first; ES module imports are evaluated in order, so this one must stay above it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface ServerCertificateRequest {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  /** Validity in days; 365 when absent. */
  days?: number;
}

export interface ClientCertificateRequest {
  commonName: string;
  /** Subject O values: Kubernetes reads them as the user's groups. */
  organization?: string[];
  /** Validity in days; 365 when absent. */
  days?: number;
}

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Back-dated so that a clock a little behind on the verifying side still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;

function validity(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(days) || days <= 0) throw new Error(`certificate validity must be a positive number of days, got ${days}`);
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** A random positive 128-bit serial, hex (the high bit cleared so the DER integer stays positive). */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function loadAuthority(ca: CertificateAuthority): Promise<{ cert: x509.X509Certificate; key: webcrypto.CryptoKey }> {
  const cert = new x509.X509Certificate(ca.certPem);
  const [der] = x509.PemConverter.decode(ca.keyPem);
  if (!der) throw new Error('the CA key PEM holds no key');
  const key = await webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
  return { cert, key };
}

export async function createCertificateAuthority(commonName: string): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [commonName] }],
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(CA_DAYS),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function issue(
  ca: CertificateAuthority,
  subject: x509.JsonName,
  days: number,
  usage: x509.ExtendedKeyUsage,
  extra: x509.Extension[],
): Promise<IssuedCertificate> {
  const authority = await loadAuthority(ca);
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: authority.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: authority.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(days),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(authority.cert.publicKey),
      ...extra,
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** A serving certificate; Go's TLS checks host names and IPs only against the SANs, never the CN. */
export async function issueServerCertificate(ca: CertificateAuthority, req: ServerCertificateRequest): Promise<IssuedCertificate> {
  for (const ip of req.ipAddresses) if (isIP(ip) === 0) throw new Error(`not an IP address: ${ip}`);
  const names: x509.JsonGeneralName[] = [
    ...req.dnsNames.map((value): x509.JsonGeneralName => ({ type: 'dns', value })),
    ...req.ipAddresses.map((value): x509.JsonGeneralName => ({ type: 'ip', value })),
  ];
  if (names.length === 0) throw new Error('a server certificate needs at least one DNS name or IP address');
  return issue(ca, [{ CN: [req.commonName] }], req.days ?? LEAF_DAYS, x509.ExtendedKeyUsage.serverAuth, [
    new x509.SubjectAlternativeNameExtension(names, false),
  ]);
}

/** A client certificate: CN is the user name, O the groups (as the apiserver's x509 authenticator reads them). */
export async function issueClientCertificate(ca: CertificateAuthority, req: ClientCertificateRequest): Promise<IssuedCertificate> {
  const subject: x509.JsonName = [{ CN: [req.commonName] }];
  if (req.organization && req.organization.length > 0) subject.push({ O: req.organization });
  return issue(ca, subject, req.days ?? LEAF_DAYS, x509.ExtendedKeyUsage.clientAuth, []);
}
