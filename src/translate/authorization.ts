// AuthorizationPolicy -> Envoy RBAC filters, as istiod writes them (pilot/pkg/security/authz: the
// builder, the model and its generators). Pure. Which policies apply to a proxy: those of the root
// namespace (mesh-wide) and of the proxy's namespace whose selector matches its labels (no selector:
// every workload there); a policy with targetRefs applies only to the Kubernetes Gateway it names.
// Per action one filter, in Istio's order: AUDIT (an RBAC filter with action LOG), DENY, ALLOW. An
// ALLOW filter exists only when some ALLOW policy applies, and then everything it does not match is
// denied. Each rule of a policy is one RBAC policy `ns[<ns>]-policy[<name>]-rule[<i>]`; a policy
// without rules is a policy that never matches. HTTP chains get envoy.filters.http.rbac, TCP chains
// envoy.filters.network.rbac, where HTTP-only attributes cannot be checked: an ALLOW rule that uses one
// is dropped (it allows nothing), a DENY or AUDIT rule is kept without it (it denies more).
// CUSTOM (ext_authz) is not implemented: its rules deny, as Istio does for a provider it cannot use.

import type { AuthorizationPolicy, AuthorizationRule } from '../config/istio-types.js';
import { mergeConfig, type IstioObject, type MeshSnapshot, type ProxyIdentity } from '../registry/model.js';
import type { FilterChain, HttpFilter, Listener, NetworkFilter, RbacRules } from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';
import { problemAt, type Problem } from '../config/problems.js';

export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
/** Istio's stat prefix of the network RBAC filter (RBACTCPFilterStatPrefix). */
export const TCP_RBAC_STAT_PREFIX = 'tcp.';
/** The label Kubernetes Gateway deployments carry: how a targetRef finds its proxy. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
const AUTHN_FILTER = 'istio_authn';
const SPIFFE_PREFIX = 'spiffe://';

type Json = Record<string, unknown>;
type Action = 'ALLOW' | 'DENY' | 'LOG';

/** The RBAC filters of one proxy: `http` goes before fault/CORS/router, `network` before tcp_proxy. */
export interface AuthorizationFilters {
  http: HttpFilter[];
  network: NetworkFilter[];
}

/** The AuthorizationPolicies that apply to a sidecar or gateway (Istio's ListAuthorizationPolicies). */
export function policiesFor(snapshot: MeshSnapshot, proxy: ProxyIdentity, rootNamespace: string): IstioObject<AuthorizationPolicy>[] {
  if (proxy.kind === 'proxyless' || !snapshot.authorizationPolicies?.length) return [];
  return mergeConfig(snapshot.authorizationPolicies, proxy.cluster).objects
    .filter((p) => (p.namespace === rootNamespace || p.namespace === proxy.namespace) && selects(p, proxy.labels, proxy.namespace));
}

/** Whether the policy's selector (or targetRefs) picks a workload with these labels in `namespace`. */
function selects(policy: IstioObject<AuthorizationPolicy>, labels: Record<string, string>, namespace: string): boolean {
  const refs = [...(policy.spec.targetRef ? [policy.spec.targetRef] : []), ...(policy.spec.targetRefs ?? [])];
  if (refs.length > 0) {
    return refs.some((r) => r.kind === 'Gateway' && (r.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io' &&
      (r.namespace ?? policy.namespace) === namespace && policy.namespace === namespace && labels[GATEWAY_NAME_LABEL] === r.name);
  }
  return Object.entries(policy.spec.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** The RBAC filters of a proxy the given policies apply to (none: no filter at all). */
export function authorizationFilters(policies: readonly IstioObject<AuthorizationPolicy>[]): AuthorizationFilters {
  const byAction = (a: AuthorizationPolicy['action']) => policies.filter((p) => (p.spec.action ?? 'ALLOW') === a);
  const http: HttpFilter[] = [];
  const network: NetworkFilter[] = [];
  const groups: Array<[IstioObject<AuthorizationPolicy>[], Action]> = [
    [byAction('CUSTOM'), 'DENY'],
    [byAction('AUDIT'), 'LOG'],
    [byAction('DENY'), 'DENY'],
    [byAction('ALLOW'), 'ALLOW'],
  ];
  for (const [group, action] of groups) {
    if (group.length === 0) continue;
    http.push({ name: HTTP_RBAC_FILTER, typed_config: { '@type': TYPE_URL.rbacHttp, rules: rbacRules(group, action, false) } });
    network.push({ name: NETWORK_RBAC_FILTER, typed_config: { '@type': TYPE_URL.rbacNetwork, rules: rbacRules(group, action, true), stat_prefix: TCP_RBAC_STAT_PREFIX } });
  }
  return { http, network };
}

/** A policy that never matches (Istio's rbacPolicyMatchNever), for a policy without rules. */
const MATCH_NEVER = { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] };

function rbacRules(policies: readonly IstioObject<AuthorizationPolicy>[], action: Action, forTCP: boolean): RbacRules {
  const out: RbacRules['policies'] = {};
  for (const policy of policies) {
    const rules = policy.spec.rules ?? [];
    rules.forEach((rule, i) => {
      const generated = generateRule(rule ?? {}, policy.namespace, forTCP, action);
      if (generated) out[`ns[${policy.namespace}]-policy[${policy.name}]-rule[${i}]`] = generated;
    });
    if (rules.length === 0) out[`ns[${policy.namespace}]-policy[${policy.name}]-rule[0]`] = MATCH_NEVER;
  }
  return { action, policies: out };
}

/** One condition of a rule: an attribute, its values (ORed) and not-values (none may match). */
interface Condition {
  key: string;
  values: readonly string[];
  notValues: readonly string[];
}

/** Why a value cannot become a matcher: HTTP-only on a TCP chain, or malformed. */
class GenerateError extends Error {}

/** Istio's Model.Generate: undefined when the rule is left out (an ALLOW rule that cannot be checked). */
function generateRule(rule: AuthorizationRule, namespace: string, forTCP: boolean, action: Action): { permissions: Json[]; principals: Json[] } | undefined {
  const whenPermissions: Condition[] = [];
  const whenPrincipals: Condition[] = [];
  for (const w of rule.when ?? []) {
    const c = { key: w.key, values: w.values ?? [], notValues: w.notValues ?? [] };
    if (isPermissionKey(w.key)) whenPermissions.push(c);
    else if (isPrincipalKey(w.key)) whenPrincipals.push(c);
    else return undefined; // Istio: "unknown attribute", the rule is skipped (validation refuses it first).
  }
  const cond = (key: string, values?: string[], notValues?: string[]): Condition[] =>
    (values?.length || notValues?.length) ? [{ key, values: values ?? [], notValues: notValues ?? [] }] : [];
  const principalLists = (rule.from ?? []).map(({ source: s }) => [
    ...cond('source.principal', s?.principals, s?.notPrincipals),
    // A service account without `<namespace>/` is in the policy's namespace.
    ...cond('source.serviceAccount', s?.serviceAccounts?.map((v) => (v.includes('/') ? v : `${namespace}/${v}`)), s?.notServiceAccounts?.map((v) => (v.includes('/') ? v : `${namespace}/${v}`))),
    ...cond('request.auth.principal', s?.requestPrincipals, s?.notRequestPrincipals),
    ...cond('source.namespace', s?.namespaces, s?.notNamespaces),
    ...cond('remote.ip', s?.remoteIpBlocks, s?.notRemoteIpBlocks),
    ...cond('source.ip', s?.ipBlocks, s?.notIpBlocks),
    ...whenPrincipals,
  ]);
  const permissionLists = (rule.to ?? []).map(({ operation: o }) => [
    ...cond(':authority', o?.hosts, o?.notHosts),
    ...cond(':method', o?.methods, o?.notMethods),
    ...cond('path-matcher', o?.paths, o?.notPaths),
    ...cond('destination.port', o?.ports, o?.notPorts),
    ...whenPermissions,
  ]);
  if (principalLists.length === 0) principalLists.push(whenPrincipals);
  if (permissionLists.length === 0) permissionLists.push(whenPermissions);
  try {
    return {
      permissions: permissionLists.map((l) => ({ and_rules: { rules: orEmpty(l.flatMap((c) => combine(c, forTCP, action, permission, 'rules', 'not_rule')), { any: true }) } })),
      principals: principalLists.map((l) => ({ and_ids: { ids: orEmpty(l.flatMap((c) => combine(c, forTCP, action, principal, 'ids', 'not_id')), { any: true }) } })),
    };
  } catch (e) {
    if (e instanceof GenerateError) return undefined;
    throw e;
  }
}

const orEmpty = (list: Json[], fallback: Json): Json[] => (list.length > 0 ? list : [fallback]);

/** Istio's rule.permission / rule.principal: values ORed, not-values ORed under a not. */
function combine(c: Condition, forTCP: boolean, action: Action, generate: (key: string, value: string, forTCP: boolean) => Json, set: 'rules' | 'ids', not: 'not_rule' | 'not_id'): Json[] {
  const orOf = (values: readonly string[]): Json[] => values.flatMap((v) => {
    try {
      return [generate(c.key, v, forTCP)];
    } catch (e) {
      // ALLOW: the rule is dropped (allows less); DENY and LOG: the value is ignored (denies more).
      if (e instanceof GenerateError && action !== 'ALLOW') return [];
      throw e;
    }
  });
  const out: Json[] = [];
  const values = orOf(c.values);
  if (values.length > 0) out.push({ [set === 'rules' ? 'or_rules' : 'or_ids']: { [set]: values } });
  const notValues = orOf(c.notValues);
  if (notValues.length > 0) out.push({ [not]: { [set === 'rules' ? 'or_rules' : 'or_ids']: { [set]: notValues } } });
  return out;
}

function isPermissionKey(key: string): boolean {
  return key === 'destination.ip' || key === 'destination.port' || key === 'connection.sni' || key.startsWith(ENVOY_FILTER_KEY);
}

/** `experimental.envoy.filters.a.b[c]`: Envoy dynamic metadata of filter a.b, key c. */
const ENVOY_FILTER_KEY = 'experimental.envoy.filters.';

function isPrincipalKey(key: string): boolean {
  return ['source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter'].includes(key) ||
    key.startsWith('request.headers[') || key.startsWith('request.auth.claims[');
}

function httpOnly(key: string, forTCP: boolean): void {
  if (forTCP) throw new GenerateError(`"${key}" is HTTP only`);
}

function permission(key: string, value: string, forTCP: boolean): Json {
  switch (key) {
    case ':authority':
      httpOnly(key, forTCP);
      return { header: value === '*' ? { name: key, present_match: true } : { name: key, string_match: { ...stringMatcher(value), ignore_case: true } } };
    case ':method':
      httpOnly(key, forTCP);
      return { header: headerMatcher(key, value) };
    case 'path-matcher':
      httpOnly(key, forTCP);
      if (value.includes('{')) throw new GenerateError(`path template ${value} is not supported`);
      return { url_path: { path: stringMatcher(value) } };
    case 'destination.port':
      return { destination_port: port(value) };
    case 'destination.ip':
      return { destination_ip: cidr(value) };
    case 'connection.sni':
      return { requested_server_name: stringMatcher(value) };
    default: {
      if (!key.startsWith(ENVOY_FILTER_KEY)) throw new GenerateError(`unknown attribute ${key}`);
      const parts = /^experimental\.(envoy\.filters\.[^[]+)\[(.+)\]$/.exec(key);
      if (!parts) throw new GenerateError(`invalid key ${key}`);
      const list = value.startsWith('[') && value.endsWith(']');
      const match = stringMatcher(list ? value.slice(1, -1) : value);
      return { metadata: { filter: parts[1], path: [{ key: parts[2] }], value: list ? { list_match: { one_of: { string_match: match } } } : { string_match: match } } };
    }
  }
}

function principal(key: string, value: string, forTCP: boolean): Json {
  if (key.startsWith('request.headers[')) {
    httpOnly(key, forTCP);
    return { header: headerMatcher(bracketName(key, 'request.headers'), value) };
  }
  if (key.startsWith('request.auth.')) {
    // JWT claims land in the istio_authn metadata, which only RequestAuthentication writes: without
    // one (none here yet) a value never matches and a not-value always does, as in Istio.
    httpOnly(key, forTCP);
    return { metadata: { filter: AUTHN_FILTER, path: [{ key }], value: { string_match: stringMatcher(value) } } };
  }
  switch (key) {
    case 'source.ip':
      return { direct_remote_ip: cidr(value) };
    case 'remote.ip':
      return { remote_ip: cidr(value) };
    case 'source.namespace':
      return { authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${value.replaceAll('*', '.*')}/.*` } } } };
    case 'source.principal':
      return { authenticated: { principal_name: stringMatcher(value, SPIFFE_PREFIX) } };
    case 'source.serviceAccount': {
      const [ns, sa] = value.split('/', 2);
      return { authenticated: { principal_name: { safe_regex: { regex: `spiffe://.+/ns/${ns}/(.+/|)sa/${sa}(/.+)?` } } } };
    }
    default:
      throw new GenerateError(`unknown attribute ${key}`);
  }
}

/** Istio's StringMatcherWithPrefix: `*` is any non-empty value, `*x` a suffix, `x*` a prefix. */
function stringMatcher(v: string, prefix = ''): Json {
  if (v === '*') return { safe_regex: { regex: '.+' } };
  if (v.startsWith('*')) return prefix ? { safe_regex: { regex: `${prefix}.*${v.slice(1)}` } } : { suffix: v.slice(1) };
  if (v.endsWith('*')) return { prefix: prefix + v.slice(0, -1) };
  return { exact: prefix + v };
}

/** Istio's HeaderMatcher: `*` is presence, else a string match. */
function headerMatcher(name: string, v: string): Json {
  return v === '*' ? { name, present_match: true } : { name, string_match: stringMatcher(v) };
}

function bracketName(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  if (!rest.startsWith('[') || !rest.endsWith(']') || rest.length < 3) throw new GenerateError(`bad key ${key}`);
  return rest.slice(1, -1);
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new GenerateError(`invalid port ${value}`);
  return n;
}

/** A single address or a CIDR, as Envoy's CidrRange. */
function cidr(value: string): Json {
  const [address = '', length] = value.split('/');
  const v6 = address.includes(':');
  if (!(v6 ? /^[0-9a-fA-F:.]+$/.test(address) : /^\d{1,3}(\.\d{1,3}){3}$/.test(address))) throw new GenerateError(`invalid IP block ${value}`);
  const prefixLen = length === undefined ? (v6 ? 128 : 32) : Number(length);
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > (v6 ? 128 : 32)) throw new GenerateError(`invalid IP block ${value}`);
  return { address_prefix: address, prefix_len: { value: prefixLen } };
}

/**
 * What `analyze` says about AuthorizationPolicies: CUSTOM is not implemented (its rules deny), request
 * authentication attributes never match (no RequestAuthentication yet), and a selector that matches no
 * workload of the mesh.
 */
export function checkAuthorizationPolicies(snapshot: MeshSnapshot, rootNamespace: string, add: (p: Problem) => void): void {
  const workloads = snapshot.endpoints;
  for (const policy of mergeConfig(snapshot.authorizationPolicies ?? []).objects) {
    const ref = { kind: 'AuthorizationPolicy' as const, name: policy.name, namespace: policy.namespace };
    const spec = policy.spec;
    if (spec.action === 'CUSTOM') {
      add(problemAt(ref, 'error', 'authz-unsupported', 'spec.action',
        `CUSTOM (ext_authz provider ${JSON.stringify(spec.provider?.name ?? '')}) is not supported: requests its rules match are denied (403), as Istio does for a provider it cannot use. Use ALLOW or DENY policies.`));
    }
    (spec.rules ?? []).forEach((rule, i) => {
      (rule?.from ?? []).forEach((from, j) => {
        for (const field of ['requestPrincipals', 'notRequestPrincipals'] as const) {
          if (from.source?.[field]?.length) {
            add(problemAt(ref, 'warning', 'authz-unsupported', `spec.rules[${i}].from[${j}].source.${field}`,
              `${field} needs a RequestAuthentication (JWT), which is not supported: no request has a request principal, so ${field === 'requestPrincipals' ? 'this never matches' : 'this always matches'}.`));
          }
        }
      });
      (rule?.when ?? []).forEach((w, j) => {
        if (w.key.startsWith('request.auth.')) {
          add(problemAt(ref, 'warning', 'authz-unsupported', `spec.rules[${i}].when[${j}].key`,
            `${w.key} needs a RequestAuthentication (JWT), which is not supported: values never match, notValues always do.`));
        }
      });
    });
    [...(spec.targetRef ? [spec.targetRef] : []), ...(spec.targetRefs ?? [])].forEach((r, i) => {
      if (r.kind !== 'Gateway' || (r.group ?? 'gateway.networking.k8s.io') !== 'gateway.networking.k8s.io') {
        add(problemAt(ref, 'warning', 'authz-unsupported', spec.targetRef ? 'spec.targetRef' : `spec.targetRefs[${i}]`,
          `a targetRef to ${r.group ?? ''}/${r.kind ?? ''} ${r.name ?? ''} is not supported (a Kubernetes Gateway is; Service and ServiceEntry need waypoints): this policy applies to no proxy. Use selector for sidecars.`));
      }
    });
    const selector = spec.selector?.matchLabels;
    if (selector && Object.keys(selector).length > 0 && !spec.targetRef && !spec.targetRefs?.length) {
      const inScope = (ns: string) => policy.namespace === rootNamespace || ns === policy.namespace;
      const matched = workloads.some((e) => inScope(e.namespace) && Object.entries(selector).every(([k, v]) => e.labels[k] === v));
      if (!matched) {
        add(problemAt(ref, spec.action === 'ALLOW' || spec.action === undefined ? 'warning' : 'info', 'no-matching-workloads', 'spec.selector',
          `no workload ${policy.namespace === rootNamespace ? 'in the mesh' : `in namespace ${policy.namespace}`} has the labels ${Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',')}: this policy applies to nothing.`));
      }
    }
  }
}

/**
 * The listener with the RBAC filters in every chain: the HTTP ones first in each connection manager
 * (before fault, CORS and router), the network ones before each tcp_proxy. A new object; `listener`
 * is left as it was.
 */
export function withAuthorization(listener: Listener, filters: AuthorizationFilters): Listener {
  if (filters.http.length === 0 || !listener.filter_chains) return listener;
  const chain = (c: FilterChain): FilterChain => ({
    ...c,
    filters: c.filters.flatMap((f): NetworkFilter[] => {
      const config = f.typed_config;
      if (config['@type'] === TYPE_URL.httpConnectionManager) return [{ ...f, typed_config: { ...config, http_filters: [...filters.http, ...config.http_filters] } }];
      if (config['@type'] === TYPE_URL.tcpProxy) return [...filters.network, f];
      return [f];
    }),
  });
  return { ...listener, ...(listener.filter_chains ? { filter_chains: listener.filter_chains.map(chain) } : {}) };
}
