// What a PEM certificate (chain) says about itself, for logs and `proxy-config secret`: serial, validity,
// URI SANs (the SPIFFE identity), SHA-256 fingerprint. Reads; never touches keys.
import { X509Certificate } from 'node:crypto';

export interface CertificateInfo {
  /** Lower-case hex without separators, as istioctl prints it. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  uriSans: string[];
  /** SHA-256 of the DER, upper-case hex pairs joined by ':' (openssl's form). */
  fingerprintSha256: string;
  subject: string;
  issuer: string;
}

/** The PEM blocks of a chain, in order. */
export function splitPemChain(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((block) => `${block}\n`) ?? [];
}

/** The first certificate of `pem`; throws when there is none or it does not parse. */
export function certificateInfo(pem: string): CertificateInfo {
  const first = splitPemChain(pem)[0];
  if (!first) throw new Error('no PEM certificate (-----BEGIN CERTIFICATE-----) in the text');
  const cert = new X509Certificate(first);
  const uriSans = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length));
  return {
    serialNumber: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    uriSans,
    fingerprintSha256: cert.fingerprint256,
    subject: cert.subject,
    issuer: cert.issuer,
  };
}
