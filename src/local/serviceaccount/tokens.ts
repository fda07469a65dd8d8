// Service-account tokens as kube-apiserver issues and checks them.
// - Bound tokens (TokenRequest, what the kubelet projects into pods): ES256 JWTs with iss, aud, sub,
//   exp, iat, nbf, jti and the `kubernetes.io` claim naming the namespace, the service account and the
//   pod they are bound to (name + uid). Valid while unexpired and while that service account and pod
//   still exist with the same uids.
// - Legacy tokens (Secrets of type kubernetes.io/service-account-token, filled by the token
//   controller): no expiry, issuer `kubernetes/serviceaccount`, valid while the Secret still holds the
//   token and its service account exists with the same uid.
import { randomUUID, type KeyObject } from 'node:crypto';
import type { KubeObject } from '../../k8s/object.js';
import { JwtError, isJwtShaped, signJwt, verifyJwt, type JwtClaims } from './jwt.js';
import { serviceAccountGroups, serviceAccountUsername, type UserInfo } from '../../k8s/rbac/user.js';

/** The issuer kubeadm configures (`--service-account-issuer`); also the API server's own audience. */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';
export const DEFAULT_EXPIRATION_SECONDS = 3600;
/** kube-apiserver refuses shorter TokenRequests. */
export const MIN_EXPIRATION_SECONDS = 600;
/** Accepted clock difference for nbf and iat. */
const LEEWAY_SECONDS = 60;

/** What token validation needs to know about the cluster's objects right now. */
export interface BoundObjectLookup {
  serviceAccountUid(namespace: string, name: string): string | undefined;
  pod(namespace: string, name: string): { uid: string; nodeName?: string } | undefined;
  secret(namespace: string, name: string): KubeObject | undefined;
}

export interface BoundTokenRequest {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  /** The pod the token dies with. */
  pod?: { name: string; uid: string; nodeName?: string };
  /** Empty: the API server's own audiences. */
  audiences?: string[];
  expirationSeconds?: number;
}

export interface IssuedToken {
  token: string;
  expirationTimestamp: number;
}

export type TokenCheck = { ok: true; user: UserInfo; audiences: string[] } | { ok: false; error: string };

interface KubernetesClaim {
  namespace?: string;
  pod?: { name?: string; uid?: string };
  serviceaccount?: { name?: string; uid?: string };
  node?: { name?: string };
}

export class ServiceAccountTokens {
  constructor(
    private readonly key: { privateKey: KeyObject; publicKey: KeyObject },
    readonly issuer = DEFAULT_ISSUER,
    private readonly now: () => number = Date.now,
  ) {}

  /** The audiences a token must have to be accepted by this API server. */
  get apiAudiences(): string[] {
    return [this.issuer];
  }

  issueBound(req: BoundTokenRequest): IssuedToken {
    const seconds = req.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    if (!Number.isInteger(seconds) || seconds < MIN_EXPIRATION_SECONDS) {
      throw new RangeError(`spec.expirationSeconds: Invalid value: ${seconds}: may not specify a duration less than 10 minutes`);
    }
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + seconds;
    const k8s: KubernetesClaim = {
      namespace: req.namespace,
      serviceaccount: { name: req.serviceAccount.name, uid: req.serviceAccount.uid },
      ...(req.pod ? { pod: { name: req.pod.name, uid: req.pod.uid } } : {}),
      ...(req.pod?.nodeName ? { node: { name: req.pod.nodeName } } : {}),
    };
    const claims: JwtClaims = {
      aud: req.audiences && req.audiences.length > 0 ? req.audiences : this.apiAudiences,
      exp,
      iat,
      iss: this.issuer,
      jti: randomUUID(),
      'kubernetes.io': k8s,
      nbf: iat,
      sub: serviceAccountUsername(req.namespace, req.serviceAccount.name),
    };
    return { token: signJwt(claims, this.key.privateKey), expirationTimestamp: exp * 1000 };
  }

  /** The token a `kubernetes.io/service-account-token` Secret holds. */
  issueLegacy(namespace: string, serviceAccount: { name: string; uid: string }, secretName: string): string {
    return signJwt(
      {
        iss: LEGACY_ISSUER,
        'kubernetes.io/serviceaccount/namespace': namespace,
        'kubernetes.io/serviceaccount/secret.name': secretName,
        'kubernetes.io/serviceaccount/service-account.name': serviceAccount.name,
        'kubernetes.io/serviceaccount/service-account.uid': serviceAccount.uid,
        sub: serviceAccountUsername(namespace, serviceAccount.name),
      },
      this.key.privateKey,
    );
  }

  /**
   * Who the token is, if it is a valid service-account token for one of `audiences` (the API
   * server's when empty), as the TokenReview answers it. A token this key did not sign is `ok: false`.
   */
  check(token: string, lookup: BoundObjectLookup, audiences: string[] = []): TokenCheck {
    if (!isJwtShaped(token)) return { ok: false, error: 'invalid bearer token' };
    let claims: JwtClaims;
    try {
      claims = verifyJwt(token, this.key.publicKey);
    } catch (err) {
      return { ok: false, error: err instanceof JwtError ? err.message : String(err) };
    }
    const wanted = audiences.length > 0 ? audiences : this.apiAudiences;
    return claims.iss === LEGACY_ISSUER ? this.checkLegacy(token, claims, lookup, wanted) : this.checkBound(claims, lookup, wanted);
  }

  private checkBound(claims: JwtClaims, lookup: BoundObjectLookup, wanted: string[]): TokenCheck {
    if (claims.iss !== this.issuer) return { ok: false, error: `token issuer ${JSON.stringify(claims.iss)} is not ${JSON.stringify(this.issuer)}` };
    const nowSec = Math.floor(this.now() / 1000);
    if (typeof claims.exp !== 'number' || nowSec >= claims.exp) return { ok: false, error: 'service account token has expired' };
    if (typeof claims.nbf === 'number' && nowSec + LEEWAY_SECONDS < claims.nbf) return { ok: false, error: 'service account token is not valid yet' };
    const tokenAudiences = Array.isArray(claims.aud) ? claims.aud.filter((a): a is string => typeof a === 'string') : typeof claims.aud === 'string' ? [claims.aud] : [];
    const accepted = wanted.filter((a) => tokenAudiences.includes(a));
    if (accepted.length === 0) return { ok: false, error: `token audiences ${JSON.stringify(tokenAudiences)} is invalid for the target audiences ${JSON.stringify(wanted)}` };
    const k8s = (claims['kubernetes.io'] ?? {}) as KubernetesClaim;
    const namespace = k8s.namespace;
    const sa = k8s.serviceaccount;
    if (!namespace || !sa?.name || !sa.uid) return { ok: false, error: 'token lacks the kubernetes.io namespace and serviceaccount claims' };
    const saUid = lookup.serviceAccountUid(namespace, sa.name);
    if (saUid === undefined) return { ok: false, error: `service account ${namespace}/${sa.name} has been deleted` };
    if (saUid !== sa.uid) return { ok: false, error: `service account UID (${sa.uid}) does not match service account ${namespace}/${sa.name} (${saUid})` };
    const extra: Record<string, string[]> = {};
    if (k8s.pod) {
      const pod = lookup.pod(namespace, k8s.pod.name ?? '');
      if (!pod) return { ok: false, error: `pod ${namespace}/${k8s.pod.name} has been deleted` };
      if (pod.uid !== k8s.pod.uid) return { ok: false, error: `pod UID (${k8s.pod.uid}) does not match pod ${namespace}/${k8s.pod.name} (${pod.uid})` };
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name ?? ''];
      extra['authentication.kubernetes.io/pod-uid'] = [pod.uid];
      if (k8s.node?.name) extra['authentication.kubernetes.io/node-name'] = [k8s.node.name];
    }
    if (typeof claims.jti === 'string') extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`];
    return { ok: true, audiences: accepted, user: { username: serviceAccountUsername(namespace, sa.name), uid: sa.uid, groups: serviceAccountGroups(namespace), extra } };
  }

  private checkLegacy(token: string, claims: JwtClaims, lookup: BoundObjectLookup, wanted: string[]): TokenCheck {
    // Legacy tokens carry no audience: kube-apiserver accepts them for its own audiences only.
    const accepted = wanted.filter((a) => this.apiAudiences.includes(a));
    if (accepted.length === 0) return { ok: false, error: `legacy service account tokens are valid only for the API server's audiences ${JSON.stringify(this.apiAudiences)}` };
    const namespace = claims['kubernetes.io/serviceaccount/namespace'];
    const secretName = claims['kubernetes.io/serviceaccount/secret.name'];
    const saName = claims['kubernetes.io/serviceaccount/service-account.name'];
    const saUidClaim = claims['kubernetes.io/serviceaccount/service-account.uid'];
    if (typeof namespace !== 'string' || typeof secretName !== 'string' || typeof saName !== 'string' || typeof saUidClaim !== 'string') {
      return { ok: false, error: 'legacy token lacks its kubernetes.io/serviceaccount claims' };
    }
    const secret = lookup.secret(namespace, secretName);
    const data = secret?.data as Record<string, string> | undefined;
    if (!secret || Buffer.from(data?.token ?? '', 'base64').toString('utf8') !== token) {
      return { ok: false, error: `token secret ${namespace}/${secretName} has been deleted or no longer holds this token` };
    }
    const saUid = lookup.serviceAccountUid(namespace, saName);
    if (saUid === undefined || saUid !== saUidClaim) return { ok: false, error: `service account ${namespace}/${saName} has been deleted or recreated` };
    return {
      ok: true,
      audiences: accepted,
      user: { username: serviceAccountUsername(namespace, saName), uid: saUid, groups: serviceAccountGroups(namespace), extra: { 'authentication.kubernetes.io/credential-id': [`Secret=${namespace}/${secretName}`] } },
    };
  }
}
