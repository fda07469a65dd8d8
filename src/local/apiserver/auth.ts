// Authentication: who a request's bearer token is. The cluster's admin token (the kubeconfig `meshwork
// up` writes) is user `admin` in group system:masters; service-account tokens (bound or legacy,
// serviceaccount/tokens.ts) are their service account. Anything else is 401. Impersonation headers
// (kubectl --as/--as-group) then switch the user, if the real one may impersonate.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { StatusError } from '../../k8s/status.js';
import { AUTHENTICATED_GROUP, MASTERS_GROUP, parseServiceAccountUsername, serviceAccountGroups, type UserInfo } from '../../k8s/rbac/user.js';
import type { RequestAttributes } from '../../k8s/rbac/evaluate.js';
import type { BoundObjectLookup, ServiceAccountTokens } from '../serviceaccount/tokens.js';

/** Who the admin token is: the user the cluster's kubeconfig authenticates as. */
export const ADMIN_USER_INFO: UserInfo = { username: 'admin', groups: [MASTERS_GROUP, AUTHENTICATED_GROUP] };

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1];
}

export type Authenticate = (headers: IncomingHttpHeaders) => UserInfo | undefined;

export function createAuthenticator(opts: { adminToken: string; serviceAccounts?: ServiceAccountTokens; lookup?: BoundObjectLookup }): Authenticate {
  if (!opts.adminToken) throw new Error('the API server needs a non-empty admin token');
  // Digests first, so neither content nor length leaks through timing.
  const expected = createHash('sha256').update(opts.adminToken).digest();
  return (headers) => {
    const token = bearerToken(headers);
    if (token === undefined) return undefined;
    if (timingSafeEqual(createHash('sha256').update(token).digest(), expected)) return ADMIN_USER_INFO;
    if (!opts.serviceAccounts || !opts.lookup) return undefined;
    const checked = opts.serviceAccounts.check(token, opts.lookup);
    return checked.ok ? checked.user : undefined;
  };
}

const IMPERSONATE_USER = 'impersonate-user';
const IMPERSONATE_GROUP = 'impersonate-group';

/**
 * The user a request acts as: `user`, or the one its Impersonate-User / Impersonate-Group headers
 * name, after `authorize` allowed `user` to impersonate each (verb impersonate on users, groups, or
 * the service account). Impersonate-Uid and Impersonate-Extra-* are refused: not implemented.
 */
export function impersonatedUser(user: UserInfo, headers: IncomingHttpHeaders, authorize: (actor: UserInfo, attrs: RequestAttributes) => void): UserInfo {
  const names = Object.keys(headers).filter((h) => h.startsWith('impersonate-'));
  if (names.length === 0) return user;
  const unsupported = names.filter((h) => h !== IMPERSONATE_USER && h !== IMPERSONATE_GROUP);
  if (unsupported.length > 0) throw new StatusError(400, 'BadRequest', `impersonation headers ${unsupported.join(', ')} are not supported by this server: impersonate with --as and --as-group only`);
  const username = headers[IMPERSONATE_USER];
  if (typeof username !== 'string' || username === '') throw new StatusError(400, 'BadRequest', 'requested impersonation of groups without a user: add --as');
  const raw = headers[IMPERSONATE_GROUP];
  const groups = raw === undefined ? [] : (Array.isArray(raw) ? raw : [raw]).flatMap((g) => g.split(',')).map((g) => g.trim()).filter(Boolean);
  const sa = parseServiceAccountUsername(username);
  authorize(user, sa
    ? { resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name }
    : { resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'users', name: username });
  for (const group of groups) authorize(user, { resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'groups', name: group });
  const all = sa && groups.length === 0 ? serviceAccountGroups(sa.namespace) : groups;
  return { username, groups: all.includes(AUTHENTICATED_GROUP) ? all : [...all, AUTHENTICATED_GROUP] };
}
