// Certificates for the TLS conformance cases, made at run time: a mesh root with SPIFFE leaf
// certificates (the proxies' own, a client workload's, the TLS upstream's), and a second root whose
// client certificate no proxy trusts. Secrets go to both proxies the same way, as SDS Secret resources
// over ADS.

import { createCertificateAuthority, type CertificateAuthority, type IssuedCertificate } from '../security/pki/authority.js';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export const TRUST_DOMAIN = 'cluster.local';
export const spiffe = (ns: string, sa: string): string => `spiffe://${TRUST_DOMAIN}/ns/${ns}/sa/${sa}`;

/** The identities the cases use. */
export const PROXY_ID = spiffe('conformance', 'proxy');
export const CLIENT_ID = spiffe('sample', 'sleep');
export const UPSTREAM_ID = spiffe('sample', 'helloworld');
/** Another workload of sleep's namespace, and a namesake of sleep in another namespace (authorization cases). */
export const INTRUDER_ID = spiffe('sample', 'intruder');
export const OTHER_SLEEP_ID = spiffe('other', 'sleep');

export interface TestPki {
  root: CertificateAuthority;
  otherRoot: CertificateAuthority;
  /** Served by both proxies' TLS chains and presented by them to TLS upstreams. */
  proxy: IssuedCertificate;
  client: IssuedCertificate;
  /** A client certificate with a subject and a DNS SAN as well (XFCC Subject and DNS). */
  namedClient: IssuedCertificate;
  /** Issued by otherRoot. */
  foreignClient: IssuedCertificate;
  intruder: IssuedCertificate;
  otherSleep: IssuedCertificate;
  upstream: IssuedCertificate;
}

/** The client certificates a conformance request can present. */
export type ClientCertName = 'client' | 'namedClient' | 'foreignClient' | 'intruder' | 'otherSleep';

let pki: TestPki | undefined;

/** The PKI made by makeTestPki (the cases build their resources after the suite's set-up). */
export function testPki(): TestPki {
  if (!pki) throw new Error('the TLS conformance PKI is made in the suite set-up: call makeTestPki() first');
  return pki;
}

const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

/** A workload leaf as the mesh CA issues it: URI SAN only (plus optional DNS names and subject), server and client auth. */
async function workloadCertificate(ca: CertificateAuthority, uri: string, opts: { commonName?: string; dnsNames?: string[] } = {}): Promise<IssuedCertificate> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const [caKeyDer] = x509.PemConverter.decode(ca.keyPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', caKeyDer!, KEY, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(KEY, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^./, '1'),
    subject: opts.commonName ? [{ CN: [opts.commonName] }, { O: ['conformance'] }] : [],
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 24 * 3600_000),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }, ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value }))], !opts.commonName),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  const keyDer = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(keyDer, 'PRIVATE KEY') };
}

export async function makeTestPki(): Promise<TestPki> {
  const root = await createCertificateAuthority('conformance mesh root');
  const otherRoot = await createCertificateAuthority('conformance other root');
  pki = {
    root,
    otherRoot,
    proxy: await workloadCertificate(root, PROXY_ID),
    client: await workloadCertificate(root, CLIENT_ID),
    namedClient: await workloadCertificate(root, CLIENT_ID, { commonName: 'sleep', dnsNames: ['sleep.sample.svc'] }),
    foreignClient: await workloadCertificate(otherRoot, CLIENT_ID),
    intruder: await workloadCertificate(root, INTRUDER_ID),
    otherSleep: await workloadCertificate(root, OTHER_SLEEP_ID),
    upstream: await workloadCertificate(root, UPSTREAM_ID),
  };
  return pki;
}

/** The proxies' own certificate and the mesh root as SDS Secret resources named `certName` and `caName` (both proxies get them over ADS). */
export function adsSecrets(certName: string, caName: string): Record<string, unknown>[] {
  const { proxy, root } = testPki();
  return [
    { name: certName, tls_certificate: { certificate_chain: { inline_string: proxy.certPem }, private_key: { inline_string: proxy.keyPem } } },
    { name: caName, validation_context: { trusted_ca: { inline_string: root.certPem } } },
  ];
}
