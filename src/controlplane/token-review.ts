// Who a caller of port 15012 is: its `authorization: Bearer <service-account token>` checked with the
// control plane's own cluster's TokenReview API (as istiod's kubernetes authenticator), so a token means
// what that cluster's API server says it means and a deleted pod's token stops working. Answers are
// cached briefly: an agent's xDS streams and certificate calls come together.
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type * as grpc from '@grpc/grpc-js';
import { apiErrorMessage } from '../k8s/client/client.js';

export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';

export interface CallerIdentity {
  /** system:serviceaccount:<ns>:<sa> */
  username: string;
  namespace: string;
  serviceAccount: string;
  /** The pod the token is bound to, when it is. */
  podName?: string;
}

export type ReviewResult =
  | { ok: true; identity: CallerIdentity }
  /** `unavailable`: the API server could not be asked (not a verdict on the token). */
  | { ok: false; error: string; unavailable?: boolean };

export interface TokenReviewerOptions {
  /** How long a verdict is reused (default 10 s; a failed review 2 s). */
  ttlMs?: number;
  failureTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/** The bearer token of a call, or undefined without an `authorization: Bearer ...` header. */
export function bearerToken(metadata: grpc.Metadata): string | undefined {
  for (const value of metadata.get('authorization')) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(String(value));
    if (match) return match[1];
  }
  return undefined;
}

/** A TokenReview status read as a service-account identity. */
export function identityFromReview(status: { authenticated?: boolean; error?: string; user?: { username?: string; extra?: Record<string, string[]> } } | undefined): ReviewResult {
  if (!status?.authenticated) return { ok: false, error: status?.error ? `the token was not accepted: ${status.error}` : 'the token was not accepted by the cluster\'s TokenReview' };
  const username = status.user?.username ?? '';
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (!match) return { ok: false, error: `the token is ${username || 'no user'}, not a service account (system:serviceaccount:<namespace>:<name>)` };
  const podName = status.user?.extra?.[POD_NAME_EXTRA]?.[0];
  return { ok: true, identity: { username, namespace: match[1]!, serviceAccount: match[2]!, ...(podName ? { podName } : {}) } };
}

export class TokenReviewer {
  private readonly api: AuthenticationV1Api;
  private readonly cache = new Map<string, { until: number; result: Promise<ReviewResult> }>();
  private readonly now: () => number;

  constructor(
    kubeConfig: KubeConfig,
    private readonly opts: TokenReviewerOptions = {},
  ) {
    this.api = kubeConfig.makeApiClient(AuthenticationV1Api);
    this.now = opts.now ?? Date.now;
  }

  review(token: string): Promise<ReviewResult> {
    const now = this.now();
    const cached = this.cache.get(token);
    if (cached && cached.until > now) return cached.result;
    const result = this.ask(token);
    const entry = { until: now + (this.opts.ttlMs ?? 10_000), result };
    this.cache.delete(token);
    this.cache.set(token, entry);
    void result.then((r) => {
      if (r.ok) return;
      // A cluster that did not answer is asked again next time; a refusal is kept a little.
      if (r.unavailable) this.cache.delete(token);
      else entry.until = Math.min(entry.until, this.now() + (this.opts.failureTtlMs ?? 2_000));
    });
    this.prune(now);
    return result;
  }

  private async ask(token: string): Promise<ReviewResult> {
    try {
      const review = await this.api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
      return identityFromReview(review.status);
    } catch (err) {
      return { ok: false, error: `TokenReview failed: ${apiErrorMessage(err)}`, unavailable: true };
    }
  }

  private prune(now: number): void {
    const max = this.opts.maxEntries ?? 10_000;
    for (const [token, entry] of this.cache) {
      if (this.cache.size <= max && entry.until > now) break;
      this.cache.delete(token);
    }
  }
}
