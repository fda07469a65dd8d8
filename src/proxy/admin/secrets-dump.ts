// The secrets the meshwork proxy holds from its agent (LocalSecretSource), in Envoy's config_dump shape
// (envoy.admin.v3.SecretsConfigDump, dynamic_active_secrets) so `proxy-config secret` reads both data
// planes alike. As Envoy, private keys are redacted: the dump never carries one.
import { ROOT_CA_SECRET, WORKLOAD_SECRET, type LocalSecretSource, type TlsSecret } from '../../security/secrets.js';

const SECRETS_DUMP = 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump';
const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
/** What Envoy writes in place of a private key: the bytes "[redacted]", base64 in JSON. */
const REDACTED = Buffer.from('[redacted]').toString('base64');

function base64(pem: string): string {
  return Buffer.from(pem).toString('base64');
}

/** Envoy's JSON of a Secret, the key redacted. */
export function dumpedSecret(name: string, secret: TlsSecret): Record<string, unknown> {
  const out: Record<string, unknown> = { '@type': SECRET, name };
  if (secret.certificateChainPem) {
    out.tls_certificate = { certificate_chain: { inline_bytes: base64(secret.certificateChainPem) }, ...(secret.privateKeyPem ? { private_key: { inline_bytes: REDACTED } } : {}) };
  }
  if (secret.trustedCaPem) out.validation_context = { trusted_ca: { inline_bytes: base64(secret.trustedCaPem) } };
  return out;
}

/** Watches a LocalSecretSource so each secret has a version and a last-updated time, as SDS gives Envoy. */
export class LocalSecretsDump {
  private readonly updates = new Map<string, { version: number; at: Date }>();
  private readonly unsubscribe: () => void;

  constructor(private readonly source: LocalSecretSource, now: () => Date = () => new Date()) {
    this.unsubscribe = source.onChange((name) => {
      this.updates.set(name, { version: (this.updates.get(name)?.version ?? 0) + 1, at: now() });
    });
    const start = now();
    for (const name of [WORKLOAD_SECRET, ROOT_CA_SECRET]) if (source.current(name)) this.updates.set(name, { version: 1, at: start });
  }

  dump(): Record<string, unknown> {
    const active = [WORKLOAD_SECRET, ROOT_CA_SECRET].flatMap((name) => {
      const secret = this.source.current(name);
      if (!secret) return [];
      const update = this.updates.get(name) ?? { version: 1, at: new Date() };
      this.updates.set(name, update);
      return [{ name, version_info: String(update.version), last_updated: update.at.toISOString(), secret: dumpedSecret(name, secret) }];
    });
    return { '@type': SECRETS_DUMP, dynamic_active_secrets: active };
  }

  close(): void {
    this.unsubscribe();
  }
}
