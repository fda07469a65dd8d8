// Authorization of each request, as kube-apiserver's RequestInfo + RBAC authorizer do: the verb, API
// group, resource, subresource, namespace and name the request addresses (or its path and verb for
// non-resource URLs), checked against the cluster's RBAC objects; a denial is 403 Forbidden with
// kube-apiserver's message.
import { findByKind } from '../../k8s/kinds.js';
import { StatusError } from '../../k8s/status.js';
import type { ObjectStore } from '../store/store.js';
import { authorize, forbiddenMessage, type Decision, type RbacPolicy, type RequestAttributes } from '../../k8s/rbac/evaluate.js';
import { MASTERS_GROUP, type UserInfo } from '../../k8s/rbac/user.js';
import { parseRoute } from './routes.js';
import { queryBool } from './http.js';

const RBAC = 'rbac.authorization.k8s.io';

function rbacType(kind: string) {
  const t = findByKind(RBAC, kind);
  if (!t) throw new Error(`resource table has no ${RBAC}/v1 ${kind}`);
  return t;
}

/** The RBAC objects that can apply to a request in `namespace` (cluster-scoped ones only without). */
export function policyFrom(store: ObjectStore, namespace: string | undefined): RbacPolicy {
  const list = (kind: string, ns?: string) => store.list(rbacType(kind), ns !== undefined ? { namespace: ns } : {}).items;
  return {
    clusterRoles: list('ClusterRole'),
    clusterRoleBindings: list('ClusterRoleBinding'),
    roles: namespace ? list('Role', namespace) : [],
    roleBindings: namespace ? list('RoleBinding', namespace) : [],
  };
}

export function decide(store: ObjectStore, user: UserInfo, attrs: RequestAttributes): Decision {
  // system:masters needs no store read: the common case (kubectl, controllers' callers) stays cheap.
  if (user.groups.includes(MASTERS_GROUP)) return authorize(user, attrs, { clusterRoles: [], clusterRoleBindings: [], roles: [], roleBindings: [] });
  return authorize(user, attrs, policyFrom(store, attrs.resourceRequest ? attrs.namespace : undefined));
}

/** kube-apiserver's 403: `pods "x" is forbidden: User "..." cannot ...`, then `: <reason>` when RBAC gave one. */
export function forbidden(user: UserInfo, attrs: RequestAttributes, reason: string): StatusError {
  const why = forbiddenMessage(user, attrs) + (reason ? `: ${reason}` : '');
  if (!attrs.resourceRequest) return new StatusError(403, 'Forbidden', `forbidden: ${why}`, {});
  const qualified = attrs.apiGroup ? `${attrs.resource}.${attrs.apiGroup}` : attrs.resource;
  const subject = attrs.name ? `${qualified} "${attrs.name}"` : qualified;
  return new StatusError(403, 'Forbidden', `${subject} is forbidden: ${why}`, { ...(attrs.name ? { name: attrs.name } : {}), group: attrs.apiGroup, kind: attrs.resource });
}

export function requireAllowed(store: ObjectStore, user: UserInfo, attrs: RequestAttributes): void {
  const decision = decide(store, user, attrs);
  if (!decision.allowed) throw forbidden(user, attrs, decision.reason);
}

/**
 * What an HTTP request asks to do, by RBAC's vocabulary. `upgrade`: an exec or port-forward
 * connection, authorized as `create` on the subresource (what kubectl auth can-i checks and what
 * kube-apiserver requires of WebSocket upgrades since the AuthorizePodWebsocketUpgradeCreatePermission gate).
 */
export function requestAttributes(method: string, url: URL, upgrade = false): RequestAttributes {
  const path = url.pathname;
  const r = parseRoute(path);
  if (r.kind !== 'resource') {
    const verb = method === 'HEAD' ? 'get' : method.toLowerCase();
    return { resourceRequest: false, verb, path };
  }
  let verb: string;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = upgrade ? 'create' : r.watchPath || queryBool(url.searchParams, 'watch') ? 'watch' : r.name === undefined ? 'list' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = r.name === undefined ? 'deletecollection' : 'delete';
      break;
    default:
      verb = method.toLowerCase();
  }
  // A namespace's own path addresses that namespace: a RoleBinding there may grant reading it.
  const namespace = r.type.group === '' && r.type.plural === 'namespaces' ? r.name : r.namespace;
  return {
    resourceRequest: true,
    verb,
    apiGroup: r.group,
    resource: r.type.plural,
    ...(r.subresource ? { subresource: r.subresource } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(r.name !== undefined ? { name: r.name } : {}),
  };
}
