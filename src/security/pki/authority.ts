// Certificates for the local clusters: one CA per cluster, a serving certificate for its API server and
// client certificates, ECDSA P-256 with SHA-256 (accepted by Go's crypto/tls, as in kubectl, and by
// Node's tls). Keys are PKCS#8 PEM ("PRIVATE KEY"), which both read.
import { isIP } from 'node:net';
import {
  generateKeys,
  loadSigner,
  privateKeyPem,
  serialNumber,
  signCertificate,
  SIGNING_ALGORITHM,
  validity,
  x509,
} from './x509.js';

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

const CA_DAYS = 3650;
const LEAF_DAYS = 365;

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
  const keys = await generateKeys();
  const cert = await signCertificate({
    issuer: await loadSigner(ca),
    subject,
    publicKey: keys.publicKey,
    ...validity(days),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage]),
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
