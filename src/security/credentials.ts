// Gateway credentials (credentialName) as Istio's credentials controller reads Kubernetes Secrets:
// a certificate and key from `tls.crt`/`tls.key` (type kubernetes.io/tls) or `cert`/`key` (generic),
// a CA for client certificates from `ca.crt` or `cacert`. The SDS name `kubernetes://X` is secret X's
// certificate; `kubernetes://X-cacert` is secret `X-cacert`'s CA if that secret exists, else secret X's
// own CA keys. Parsing checks what Envoy would otherwise refuse at handshake time (PEM that does not
// parse, a key that does not belong to the certificate), so a bad Secret is reported, not served.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CA_CERT_SUFFIX, CREDENTIAL_NAME_PREFIX } from './secrets.js';

/** What a Secret offers as a gateway credential (PEM text), or why it cannot be used. */
export interface GatewayCredential {
  namespace: string;
  name: string;
  certificateChainPem?: string;
  privateKeyPem?: string;
  caPem?: string;
  /** Set when the Secret has credential keys that cannot be used: what is wrong. */
  problem?: string;
}

/** The Secret fields read (client-node's V1Secret, data base64 as the API serves it). */
export interface SecretLike {
  type?: string;
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

const CERT_KEYS = [['tls.crt', 'tls.key'], ['cert', 'key']] as const;
const CA_KEYS = ['ca.crt', 'cacert'] as const;

/**
 * The credential a Secret holds, or undefined for Secrets that hold none (service-account tokens carry
 * a `ca.crt` of the API server and are never credentials, as Istio's field selector leaves them out).
 */
export function credentialOf(secret: SecretLike): GatewayCredential | undefined {
  const name = secret.metadata?.name;
  const namespace = secret.metadata?.namespace;
  if (!name || !namespace || secret.type === 'kubernetes.io/service-account-token') return undefined;
  const data = secret.data ?? {};
  const text = (key: string): string | undefined => (data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8'));
  const pair = CERT_KEYS.find(([c, k]) => data[c] !== undefined || data[k] !== undefined);
  const caKey = CA_KEYS.find((k) => data[k] !== undefined);
  if (!pair && !caKey) return undefined;
  const out: GatewayCredential = { namespace, name };
  const problems: string[] = [];
  if (pair) {
    const [certKey, keyKey] = pair;
    const cert = text(certKey);
    const key = text(keyKey);
    if (!cert || !key) problems.push(`it has ${cert ? certKey : keyKey} but no ${cert ? keyKey : certKey}`);
    else {
      const checked = checkKeyPair(cert, key, certKey, keyKey);
      if (checked) problems.push(checked);
      else Object.assign(out, { certificateChainPem: cert, privateKeyPem: key });
    }
  }
  if (caKey) {
    const ca = text(caKey) ?? '';
    try {
      new X509Certificate(ca);
      out.caPem = ca;
    } catch (err) {
      problems.push(`${caKey} is not a PEM certificate (${(err as Error).message})`);
    }
  }
  if (problems.length > 0) out.problem = problems.join('; ');
  return out;
}

function checkKeyPair(cert: string, key: string, certKey: string, keyKey: string): string | undefined {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    return `${certKey} is not a PEM certificate (${(err as Error).message})`;
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) return `${keyKey} is not the private key of the certificate in ${certKey}`;
  } catch (err) {
    return `${keyKey} is not a PEM private key (${(err as Error).message})`;
  }
  return undefined;
}

/** An Envoy SDS Secret resource (envoy.extensions.transport_sockets.tls.v3.Secret). */
export type SdsSecret =
  | { name: string; tls_certificate: { certificate_chain: { inline_string: string }; private_key: { inline_string: string } } }
  | { name: string; validation_context: { trusted_ca: { inline_string: string } } };

/** Where an SDS name `kubernetes://...` is looked up, or undefined for other names. */
export function credentialLookup(sdsName: string): { secret: string; part: 'certificate' } | { secrets: string[]; part: 'ca' } | undefined {
  if (!sdsName.startsWith(CREDENTIAL_NAME_PREFIX)) return undefined;
  const name = sdsName.slice(CREDENTIAL_NAME_PREFIX.length);
  if (name.endsWith(CA_CERT_SUFFIX)) return { secrets: [name, name.slice(0, -CA_CERT_SUFFIX.length)], part: 'ca' };
  return { secret: name, part: 'certificate' };
}

/**
 * The SDS Secret for `sdsName` from the credentials of one namespace, or why there is none. Istio's
 * SDS authorization: a gateway gets Secrets of its own namespace only, so callers pass only those.
 */
export function sdsSecret(sdsName: string, credentials: ReadonlyMap<string, GatewayCredential>): { secret: SdsSecret } | { missing: string } {
  const lookup = credentialLookup(sdsName);
  if (!lookup) return { missing: `${sdsName} is not a credentialName (kubernetes://<secret>)` };
  if (lookup.part === 'certificate') {
    const credential = credentials.get(lookup.secret);
    if (!credential) return { missing: `Secret ${lookup.secret} does not exist` };
    if (!credential.certificateChainPem || !credential.privateKeyPem) {
      return { missing: `Secret ${lookup.secret} has no usable certificate and key${credential.problem ? `: ${credential.problem}` : ' (tls.crt/tls.key or cert/key)'}` };
    }
    return { secret: { name: sdsName, tls_certificate: { certificate_chain: { inline_string: credential.certificateChainPem }, private_key: { inline_string: credential.privateKeyPem } } } };
  }
  const [own, base] = lookup.secrets;
  const credential = credentials.get(own)?.caPem ? credentials.get(own) : credentials.get(base);
  if (!credential?.caPem) {
    const problem = credentials.get(own)?.problem ?? credentials.get(base)?.problem;
    return { missing: `neither Secret ${own} nor Secret ${base} has a CA certificate (ca.crt or cacert)${problem ? `: ${problem}` : ''}` };
  }
  return { secret: { name: sdsName, validation_context: { trusted_ca: { inline_string: credential.caPem } } } };
}
