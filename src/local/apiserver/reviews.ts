// The review kinds kubectl's `auth` commands create: nothing is stored, the answer comes back in
// status. A local cluster has one identity, its admin token, in group system:masters: as on a real
// cluster, that group is allowed every request whatever the RBAC objects say (RBAC kinds are served
// and stored, never evaluated: there is nobody else to evaluate them for). So `kubectl auth can-i`
// answers yes to every verb a resource serves, and `auth whoami` names that admin.
import { findByPlural, type ResourceType } from '../../config/kinds.js';
import { isPlainObject } from './http.js';
import type { Reply } from './reply.js';

/** Who the admin token is: the user the cluster's kubeconfig authenticates as. */
export const ADMIN_USER_INFO = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };

const ALLOWED_REASON = 'the admin token is in group system:masters, which is allowed every request (ClusterRoleBinding cluster-admin); Roles and RoleBindings are stored, not enforced';

export function isReviewType(t: ResourceType): boolean {
  return (t.group === 'authorization.k8s.io' || t.group === 'authentication.k8s.io') && t.kind.endsWith('Review');
}

/**
 * Allowed, unless the resource is one this server serves without that verb (nodes cannot be deleted,
 * endpoints not written): the token could, the server will not, and "yes" would be a promise it breaks.
 */
function accessDecision(spec: Record<string, unknown>): { allowed: boolean; denied?: boolean; reason: string } {
  const attrs = isPlainObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const verb = typeof attrs?.verb === 'string' ? attrs.verb : '*';
  const resource = typeof attrs?.resource === 'string' ? attrs.resource : '*';
  const group = typeof attrs?.group === 'string' ? attrs.group : '';
  const t = attrs && resource !== '*' ? findByPlural(group, resource) : undefined;
  if (t && verb !== '*' && !(t.verbs as string[]).includes(verb)) {
    return { allowed: false, denied: true, reason: `${resource}${group ? '.' + group : ''} on this server supports only ${t.verbs.join(', ')}` };
  }
  return { allowed: true, reason: ALLOWED_REASON };
}

/** The created review: the request's spec with the answer in status. */
export function answerReview(t: ResourceType, apiVersion: string, body: Record<string, unknown>): Reply {
  const spec = isPlainObject(body.spec) ? body.spec : {};
  const base = { kind: t.kind, apiVersion, metadata: { creationTimestamp: null } };
  switch (t.kind) {
    case 'SelfSubjectAccessReview':
      return { code: 201, body: { ...base, spec, status: accessDecision(spec) } };
    case 'SelfSubjectRulesReview':
      return {
        code: 201,
        body: {
          ...base,
          spec,
          status: {
            resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
            nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
            incomplete: false,
          },
        },
      };
    case 'SelfSubjectReview':
      return { code: 201, body: { ...base, status: { userInfo: ADMIN_USER_INFO } } };
    default:
      throw new Error(`no answer for review kind ${t.kind}`);
  }
}
