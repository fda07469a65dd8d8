// The review kinds: created, answered in status, never stored.
// - SelfSubjectAccessReview / SelfSubjectRulesReview (`kubectl auth can-i [--list]`) and
//   SubjectAccessReview: the RBAC decision for the requesting user (or the one the spec names).
// - SelfSubjectReview (`kubectl auth whoami`): the requesting user.
// - TokenReview: who a token is, for which audiences (what a control plane asks to authenticate a
//   workload by its service-account token).
import { findByPlural, type ResourceType } from '../../k8s/kinds.js';
import { isPlainObject } from './http.js';
import type { Reply } from './reply.js';
import type { UserInfo } from '../../k8s/rbac/user.js';
import { rulesFor, type RequestAttributes } from '../../k8s/rbac/evaluate.js';
import { decide, policyFrom } from './authorize.js';
import type { ObjectStore } from '../store/store.js';
import type { BoundObjectLookup, ServiceAccountTokens } from '../serviceaccount/tokens.js';
import { ADMIN_USER_INFO, type Authenticate } from './auth.js';

export interface ReviewContext {
  user: UserInfo;
  store: ObjectStore;
  authenticate: Authenticate;
  serviceAccounts: ServiceAccountTokens | undefined;
  lookup: BoundObjectLookup | undefined;
}

export function isReviewType(t: ResourceType): boolean {
  return (t.group === 'authorization.k8s.io' || t.group === 'authentication.k8s.io') && t.kind.endsWith('Review');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function attributesOf(spec: Record<string, unknown>): RequestAttributes {
  if (isPlainObject(spec.nonResourceAttributes)) {
    const a = spec.nonResourceAttributes;
    return { resourceRequest: false, verb: str(a.verb) ?? '', path: str(a.path) ?? '' };
  }
  const a = isPlainObject(spec.resourceAttributes) ? spec.resourceAttributes : {};
  const namespace = str(a.namespace);
  const subresource = str(a.subresource);
  const name = str(a.name);
  return {
    resourceRequest: true,
    verb: str(a.verb) ?? '',
    apiGroup: typeof a.group === 'string' ? a.group : '',
    resource: str(a.resource) ?? '',
    ...(subresource ? { subresource } : {}),
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
  };
}

/**
 * RBAC's answer; then, for an allowed verb this server does not serve on the resource (nodes cannot be
 * deleted, endpoints not written), a no with that reason: "yes" would be a promise the server breaks.
 */
function accessDecision(store: ObjectStore, user: UserInfo, spec: Record<string, unknown>): { allowed: boolean; denied?: boolean; reason?: string } {
  const attrs = attributesOf(spec);
  const decision = decide(store, user, attrs);
  if (!decision.allowed) return { allowed: false, ...(decision.reason ? { reason: decision.reason } : {}) };
  if (attrs.resourceRequest && !attrs.subresource && attrs.resource !== '*' && attrs.verb !== '*') {
    const t = findByPlural(attrs.apiGroup, attrs.resource);
    if (t && !(t.verbs as string[]).includes(attrs.verb)) {
      return { allowed: false, denied: true, reason: `${attrs.resource}${attrs.apiGroup ? '.' + attrs.apiGroup : ''} on this server supports only ${t.verbs.join(', ')}` };
    }
  }
  return { allowed: true, reason: decision.reason };
}

function rulesReview(store: ObjectStore, user: UserInfo, spec: Record<string, unknown>): object {
  const namespace = str(spec.namespace);
  const { rules, errors } = rulesFor(user, policyFrom(store, namespace));
  return {
    resourceRules: rules.filter((r) => (r.resources ?? []).length > 0).map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}) })),
    nonResourceRules: rules.filter((r) => (r.nonResourceURLs ?? []).length > 0).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
    incomplete: errors.length > 0,
    ...(errors.length > 0 ? { evaluationError: errors.join(', ') } : {}),
  };
}

function userInfoJson(user: UserInfo): object {
  return { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra && Object.keys(user.extra).length ? { extra: user.extra } : {}) };
}

function tokenReview(ctx: ReviewContext, spec: Record<string, unknown>): object {
  const token = str(spec.token) ?? '';
  const audiences = Array.isArray(spec.audiences) ? spec.audiences.filter((a): a is string => typeof a === 'string') : [];
  const apiAudiences = ctx.serviceAccounts?.apiAudiences ?? [];
  if (ctx.authenticate({ authorization: `Bearer ${token}` }) === ADMIN_USER_INFO) {
    // The admin token is valid for the API server's audiences only.
    const accepted = audiences.length === 0 ? apiAudiences : audiences.filter((a) => apiAudiences.includes(a));
    if (accepted.length > 0) return { authenticated: true, user: userInfoJson(ADMIN_USER_INFO), audiences: accepted };
  }
  if (!ctx.serviceAccounts || !ctx.lookup) return { user: {}, error: 'service-account tokens are not served by this API server' };
  const checked = ctx.serviceAccounts.check(token, ctx.lookup, audiences);
  if (!checked.ok) return { user: {}, error: `[invalid bearer token, ${checked.error}]` };
  return { authenticated: true, user: userInfoJson(checked.user), audiences: checked.audiences };
}

function subjectOf(spec: Record<string, unknown>): UserInfo {
  const groups = Array.isArray(spec.groups) ? spec.groups.filter((g): g is string => typeof g === 'string') : [];
  return { username: str(spec.user) ?? '', groups, ...(str(spec.uid) ? { uid: str(spec.uid) } : {}) };
}

/** The created review: the request's spec with the answer in status. */
export function answerReview(t: ResourceType, apiVersion: string, body: Record<string, unknown>, ctx: ReviewContext): Reply {
  const spec = isPlainObject(body.spec) ? body.spec : {};
  const base = { kind: t.kind, apiVersion, metadata: { creationTimestamp: null } };
  switch (t.kind) {
    case 'SelfSubjectAccessReview':
      return { code: 201, body: { ...base, spec, status: accessDecision(ctx.store, ctx.user, spec) } };
    case 'SubjectAccessReview':
      return { code: 201, body: { ...base, spec, status: accessDecision(ctx.store, subjectOf(spec), spec) } };
    case 'SelfSubjectRulesReview':
      return { code: 201, body: { ...base, spec, status: rulesReview(ctx.store, ctx.user, spec) } };
    case 'SelfSubjectReview':
      return { code: 201, body: { ...base, status: { userInfo: userInfoJson(ctx.user) } } };
    case 'TokenReview':
      return { code: 201, body: { ...base, spec, status: tokenReview(ctx, spec) } };
    default:
      throw new Error(`no answer for review kind ${t.kind}`);
  }
}
