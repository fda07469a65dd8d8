// Compact JSON Web Tokens signed with ES256 (ECDSA P-256, SHA-256), the form kube-apiserver gives
// service-account tokens: header {alg, kid}, claims, signature in IEEE P1363 (r||s) encoding.
// Pure apart from the crypto: no clock, no store.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export type JwtClaims = Record<string, unknown>;

export interface JwtHeader {
  alg: string;
  kid?: string;
  typ?: string;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** kube-apiserver's key id: the base64url SHA-256 of the public key's DER (SubjectPublicKeyInfo). */
export function keyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return b64url(createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest());
}

export function signJwt(claims: JwtClaims, privateKey: KeyObject): string {
  if (privateKey.asymmetricKeyType !== 'ec') throw new Error('ES256 tokens need an EC P-256 private key');
  const header: JwtHeader = { alg: 'ES256', kid: keyId(privateKey) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

/** Why a string is not a token this key signed. */
export class JwtError extends Error {}

function decodePart<T>(part: string, what: string): T {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as T;
  } catch {
    throw new JwtError(`malformed token: the ${what} is not base64url-encoded JSON`);
  }
}

/** Looks like a JWT (three base64url parts), whatever signed it. */
export function isJwtShaped(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/** The claims, once the signature is checked against `publicKey`; throws JwtError otherwise. */
export function verifyJwt(token: string, publicKey: KeyObject): JwtClaims {
  if (!isJwtShaped(token)) throw new JwtError('malformed token: not a compact JWT');
  const [h, c, s] = token.split('.') as [string, string, string];
  const header = decodePart<JwtHeader>(h, 'header');
  if (header.alg !== 'ES256') throw new JwtError(`unexpected signing algorithm ${JSON.stringify(header.alg)}: service-account tokens are ES256`);
  if (header.kid !== undefined && header.kid !== keyId(publicKey)) throw new JwtError('token signed by another key (kid does not match the service-account signing key)');
  const ok = verify('sha256', Buffer.from(`${h}.${c}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  if (!ok) throw new JwtError('invalid signature');
  return decodePart<JwtClaims>(c, 'claims');
}
