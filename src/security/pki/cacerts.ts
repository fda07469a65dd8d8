// The mesh's root of trust in Istio's plug-in CA layout. One mesh root (root-cert.pem, root-key.pem,
// kept outside the clusters); per cluster an intermediate signed by it, in Secret istio-system/cacerts:
//   ca-cert.pem     this cluster's intermediate (signs workload and control-plane certificates)
//   ca-key.pem      its key
//   root-cert.pem   the mesh root (what every workload trusts)
//   cert-chain.pem  the intermediate, then any further intermediates, then the root
// Istio reads the same Secret (`kubectl create secret generic cacerts --from-file=...`), so a user's
// own plug-in CA works unchanged. Checks say which file is wrong and why.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { KubeObject } from '../../k8s/object.js';
import { createCertificateAuthority } from './authority.js';
import { DAY_MS, generateKeys, loadSigner, privateKeyPem, signCertificate, splitPemCertificates, x509, type PemPair } from './x509.js';

export const CACERTS_SECRET = 'cacerts';
export const CA_CERT_FILE = 'ca-cert.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const ROOT_CERT_FILE = 'root-cert.pem';
export const CERT_CHAIN_FILE = 'cert-chain.pem';
/** Beside root-cert.pem in the mesh CA folder; never in a cluster. */
export const ROOT_KEY_FILE = 'root-key.pem';

export interface CaCerts {
  caCertPem: string;
  caKeyPem: string;
  rootCertPem: string;
  certChainPem: string;
}

const FILE_OF: Record<keyof CaCerts, string> = {
  caCertPem: CA_CERT_FILE,
  caKeyPem: CA_KEY_FILE,
  rootCertPem: ROOT_CERT_FILE,
  certChainPem: CERT_CHAIN_FILE,
};

const INTERMEDIATE_DAYS = 5 * 365;

/** The mesh root: a self-signed CA, ECDSA P-256, ten years. */
export async function createMeshRoot(): Promise<PemPair> {
  return createCertificateAuthority('meshwork mesh root CA');
}

/** A cluster's cacerts: a new intermediate for `clusterName` signed by the mesh root, and the chain. */
export async function createClusterCaCerts(root: PemPair, clusterName: string, now = Date.now()): Promise<CaCerts> {
  checkMeshRoot(root, 'the mesh root', new Date(now));
  const issuer = await loadSigner(root, 'the mesh root');
  const keys = await generateKeys();
  // An intermediate never outlives its root.
  const notAfter = new Date(Math.min(now + INTERMEDIATE_DAYS * DAY_MS, issuer.cert.notAfter.getTime()));
  const cert = await signCertificate({
    issuer,
    subject: [{ O: ['meshwork'] }, { CN: [`meshwork intermediate CA ${clusterName}`] }],
    publicKey: keys.publicKey,
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  const caCertPem = cert.toString('pem') + '\n';
  const rootCertPem = ensureNewline(root.certPem);
  return { caCertPem, caKeyPem: await privateKeyPem(keys.privateKey), rootCertPem, certChainPem: caCertPem + rootCertPem };
}

function ensureNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

/** "AB:CD:..." of the first certificate in `pem`: how users compare roots (openssl x509 -fingerprint -sha256). */
export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function parse(pem: string, what: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${what} holds no PEM certificate`);
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${what} is not a valid X.509 certificate: ${(err as Error).message}`);
  }
}

function describe(cert: X509Certificate): string {
  return `"${cert.subject.replace(/\n/g, ', ')}"`;
}

function checkTime(cert: X509Certificate, what: string, now: Date): void {
  if (new Date(cert.validTo).getTime() <= now.getTime()) throw new Error(`${what} (${describe(cert)}) expired on ${new Date(cert.validTo).toISOString()}`);
  if (new Date(cert.validFrom).getTime() > now.getTime()) throw new Error(`${what} (${describe(cert)}) is not valid until ${new Date(cert.validFrom).toISOString()}`);
}

function checkKeyMatches(cert: X509Certificate, keyPem: string, certWhat: string, keyWhat: string): void {
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`${keyWhat} is not a private key: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error(`${keyWhat} does not match the certificate in ${certWhat} (${describe(cert)}): they are not a pair`);
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** The mesh root folder's pair: a CA certificate, its key, in date. */
export function checkMeshRoot(root: PemPair, where: string, now = new Date()): void {
  const cert = parse(root.certPem, `${where}: ${ROOT_CERT_FILE}`);
  if (!cert.ca) throw new Error(`${where}: ${ROOT_CERT_FILE} (${describe(cert)}) is not a CA certificate (basicConstraints CA:TRUE)`);
  if (!issuedBy(cert, cert)) throw new Error(`${where}: ${ROOT_CERT_FILE} (${describe(cert)}) is not self-signed: a mesh root must be a root`);
  checkTime(cert, `${where}: ${ROOT_CERT_FILE}`, now);
  checkKeyMatches(cert, root.keyPem, `${where}: ${ROOT_CERT_FILE}`, `${where}: ${ROOT_KEY_FILE}`);
}

/**
 * Throws, naming the file and the fix, unless: ca-cert.pem is an in-date CA certificate whose key is
 * ca-key.pem; cert-chain.pem begins with it and leads, each certificate signed by the next, to
 * root-cert.pem; root-cert.pem is an in-date CA.
 */
export function checkCaCerts(files: CaCerts, where: string, now = new Date()): void {
  const name = (key: keyof CaCerts) => `${where}: ${FILE_OF[key]}`;
  const caCert = parse(files.caCertPem, name('caCertPem'));
  const root = parse(files.rootCertPem, name('rootCertPem'));
  if (!caCert.ca) throw new Error(`${name('caCertPem')} (${describe(caCert)}) is not a CA certificate (basicConstraints CA:TRUE): it cannot sign workload certificates`);
  if (!root.ca) throw new Error(`${name('rootCertPem')} (${describe(root)}) is not a CA certificate (basicConstraints CA:TRUE)`);
  checkTime(caCert, name('caCertPem'), now);
  checkTime(root, name('rootCertPem'), now);
  checkKeyMatches(caCert, files.caKeyPem, name('caCertPem'), name('caKeyPem'));

  const chain = splitPemCertificates(files.certChainPem).map((pem, i) => parse(pem, `${name('certChainPem')} certificate ${i + 1}`));
  if (chain.length === 0) throw new Error(`${name('certChainPem')} holds no PEM certificate: it must hold ${CA_CERT_FILE}, then the root`);
  if (chain[0]!.fingerprint256 !== caCert.fingerprint256) {
    throw new Error(`${name('certChainPem')} must begin with ${CA_CERT_FILE} (${describe(caCert)}), but begins with ${describe(chain[0]!)}`);
  }
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    checkTime(cert, `${name('certChainPem')} certificate ${i + 1}`, now);
    if (cert.fingerprint256 === root.fingerprint256) return;
    const issuer = chain[i + 1] ?? root;
    if (!issuedBy(cert, issuer)) {
      const issuerName = chain[i + 1] ? `${name('certChainPem')} certificate ${i + 2}` : name('rootCertPem');
      throw new Error(
        `${i === 0 ? `the intermediate ${name('caCertPem')}` : `${name('certChainPem')} certificate ${i + 1}`} (${describe(cert)}) is not signed by ${issuerName} (${describe(issuer)}): ` +
          `make the cluster's intermediate with the mesh root's key, or give the root that signed it`,
      );
    }
  }
}

/** The Secret istio-system/cacerts (type Opaque, as `kubectl create secret generic cacerts --from-file`). */
export function cacertsSecret(namespace: string, files: CaCerts): KubeObject {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CACERTS_SECRET, namespace },
    type: 'Opaque',
    data: {
      [CA_CERT_FILE]: b64(files.caCertPem),
      [CA_KEY_FILE]: b64(files.caKeyPem),
      [ROOT_CERT_FILE]: b64(files.rootCertPem),
      [CERT_CHAIN_FILE]: b64(files.certChainPem),
    },
  };
}

/** The four files out of a cacerts Secret, checked; throws naming the Secret, the key and the problem. */
export function readCacertsSecret(secret: { metadata?: { name?: string; namespace?: string }; data?: unknown }, now = new Date()): CaCerts {
  const where = `secret ${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? CACERTS_SECRET}`;
  const data = secret.data !== null && typeof secret.data === 'object' ? (secret.data as Record<string, unknown>) : {};
  const field = (key: keyof CaCerts): string => {
    const value = data[FILE_OF[key]];
    if (typeof value !== 'string' || value === '') {
      throw new Error(`${where} has no data key ${FILE_OF[key]}: Istio's plug-in CA Secret needs ${Object.values(FILE_OF).join(', ')}`);
    }
    return Buffer.from(value, 'base64').toString('utf8');
  };
  const files = { caCertPem: field('caCertPem'), caKeyPem: field('caKeyPem'), rootCertPem: field('rootCertPem'), certChainPem: field('certChainPem') };
  checkCaCerts(files, where, now);
  return files;
}
