// Where a TLS context's certificate and trust bundle come from at the moment a connection needs them:
// inline in the resource, a Secret received over ADS (the ConfigStore), or the agent beside the proxy
// (LocalSecretSource, Envoy's `sds-grpc`). Each connection reads the current secrets, so a rotation
// applies to new connections while open ones keep the certificate they were made with.

import type { LocalSecretSource, TlsSecret } from '../../security/secrets.js';
import type { ConfigStore } from '../config/store.js';
import { secretRefs, type CommonTls, type SecretRef } from '../model/tls.js';

export class SecretResolver {
  constructor(
    private readonly store: ConfigStore,
    private readonly local: LocalSecretSource | undefined,
  ) {}

  resolve(ref: SecretRef): TlsSecret | undefined {
    if (ref.kind === 'inline') return ref.secret;
    if (ref.source === 'ads') return this.store.get('secrets').get(ref.name)?.value;
    return this.local?.current(ref.name);
  }

  /** Every secret the context names has arrived (Envoy warms a listener or cluster until then). */
  ready(tls: CommonTls): boolean {
    return secretRefs(tls).every((r) => this.resolve(r) !== undefined);
  }

  /** What is still missing, for logs: `name (ads)`. */
  missing(tls: CommonTls): string[] {
    return secretRefs(tls).flatMap((r) => (this.resolve(r) === undefined && r.kind === 'sds' ? [`${r.name} (${r.source === 'ads' ? 'ADS' : 'local agent'})`] : []));
  }

  /** Calls fn whenever a secret may have changed (ADS or the local agent); returns the unsubscribe. */
  onChange(fn: () => void): () => void {
    const offStore = this.store.watch('secrets').subscribe(() => fn());
    const offLocal = this.local?.onChange(() => fn());
    return () => {
      offStore();
      offLocal?.();
    };
  }
}
