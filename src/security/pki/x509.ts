// The X.509 machinery every certificate maker shares (the local clusters' CAs in authority.ts, the
// mesh CA here): ECDSA P-256 keys with SHA-256 (accepted by Go's crypto/tls, as in kubectl, by Node's
// tls and by Envoy), random serials, PKCS#8 PEM keys, and signing with an issuer whose key may also be
// RSA or P-384 (a user's plug-in CA, as Istio's samples/certs are RSA).
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata
// API loaded first; ES module imports are evaluated in order, so this one must stay above it.
import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };

export const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
export const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
export const DAY_MS = 24 * 60 * 60 * 1000;
/** Back-dated so that a clock a little behind on the verifying side still accepts a fresh certificate. */
export const CLOCK_SKEW_MS = 60 * 60 * 1000;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

/** notBefore back-dated by `backdateMs`, notAfter `lifetimeMs` from now. */
export function validityFor(lifetimeMs: number, backdateMs = CLOCK_SKEW_MS, now = Date.now()): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) throw new Error(`certificate lifetime must be positive, got ${lifetimeMs} ms`);
  return { notBefore: new Date(now - backdateMs), notAfter: new Date(now + lifetimeMs) };
}

export function validity(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(days) || days <= 0) throw new Error(`certificate validity must be a positive number of days, got ${days}`);
  return validityFor(days * DAY_MS);
}

/** A random positive 128-bit serial, hex (the high bit cleared so the DER integer stays positive). */
export function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

export async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

export async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** An issuer: its certificate, its signing key and the signature algorithm that key makes. */
export interface Signer {
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
  algorithm: webcrypto.EcdsaParams | webcrypto.Algorithm;
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/**
 * The issuer of `certPem` with `keyPem` (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY").
 * `what` names the pair in errors (e.g. "ca-cert.pem / ca-key.pem").
 */
export async function loadSigner(pair: PemPair, what = 'the CA'): Promise<Signer> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pair.certPem);
  } catch (err) {
    throw new Error(`${what}: the certificate is not PEM X.509: ${(err as Error).message}`);
  }
  let nodeKey;
  try {
    nodeKey = createPrivateKey(pair.keyPem);
  } catch (err) {
    throw new Error(`${what}: the private key does not parse: ${(err as Error).message}`);
  }
  const pkcs8 = nodeKey.export({ type: 'pkcs8', format: 'der' });
  if (nodeKey.asymmetricKeyType === 'ec') {
    const namedCurve = CURVES[nodeKey.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!namedCurve) throw new Error(`${what}: EC curve ${nodeKey.asymmetricKeyDetails?.namedCurve} is not supported (use P-256, P-384 or P-521)`);
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { cert, key, algorithm: { name: 'ECDSA', hash: namedCurve === 'P-256' ? 'SHA-256' : namedCurve === 'P-384' ? 'SHA-384' : 'SHA-512' } };
  }
  if (nodeKey.asymmetricKeyType === 'rsa') {
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    return { cert, key, algorithm: { name: 'RSASSA-PKCS1-v1_5' } };
  }
  throw new Error(`${what}: ${nodeKey.asymmetricKeyType} keys are not supported (use EC or RSA)`);
}

export interface SignRequest {
  issuer: Signer;
  subject: x509.JsonName | string;
  publicKey: webcrypto.CryptoKey | x509.PublicKey;
  notBefore: Date;
  notAfter: Date;
  extensions: x509.Extension[];
}

/** A certificate for `publicKey` signed by the issuer, with key identifiers (subject and authority). */
export async function signCertificate(req: SignRequest): Promise<x509.X509Certificate> {
  const spki = req.publicKey instanceof x509.PublicKey ? await req.publicKey.export() : req.publicKey;
  return x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: req.subject,
    issuer: req.issuer.cert.subjectName,
    publicKey: spki,
    signingKey: req.issuer.key,
    signingAlgorithm: req.issuer.algorithm,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    extensions: [
      ...req.extensions,
      await x509.SubjectKeyIdentifierExtension.create(spki),
      await x509.AuthorityKeyIdentifierExtension.create(req.issuer.cert.publicKey),
    ],
  });
}

/** PEM blocks of a bundle, in order. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}
