// envoy.extensions.filters.{http,network}.rbac.v3.RBAC -> RbacFilter. The matchers Istio writes are
// understood; any other (a matcher this proxy cannot evaluate) is a NACK naming it, never a silent allow.
// shadow_rules are read for shape only: they are never enforced (Envoy only counts them).

import type { CidrRange } from '../model/listener.js';
import type { Permission, Principal, RbacAction, RbacFilter, RbacPolicy, RbacRules } from '../model/rbac.js';
import { bool, enumName, isObj, join, num, obj, objs, str, wrappedNum, type Obj, type Problems } from './fields.js';
import { decodeHeaderMatcher, decodeStringMatcher } from './headers.js';
import { isIP } from 'node:net';

export const HTTP_RBAC_FILTER_NAME = 'envoy.filters.http.rbac';
export const HTTP_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const NETWORK_RBAC_FILTER_NAME = 'envoy.filters.network.rbac';
export const NETWORK_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';

const ACTIONS: readonly RbacAction[] = ['ALLOW', 'DENY', 'LOG'];
/** Oneof names the proto decoder leaves next to the set field. */
const ONEOF_NAMES = new Set(['rule', 'identifier', 'match_pattern', 'header_match_specifier']);

export function decodeRbacFilter(o: Obj, path: string, p: Problems, network: boolean): RbacFilter {
  const known = new Set(['@type', 'rules', 'shadow_rules', network ? 'stat_prefix' : 'rules_stat_prefix', 'shadow_rules_stat_prefix', 'track_per_rule_stats']);
  for (const [key, value] of Object.entries(o)) {
    if (known.has(key) || (Array.isArray(value) && value.length === 0) || value === '' || value === false) continue;
    p.add(join(path, key), 'is not supported by the meshwork proxy\'s RBAC filter');
  }
  if (o['matcher'] !== undefined || o['shadow_matcher'] !== undefined) p.add(path, 'matcher-based RBAC is not supported (rules is)');
  const rulesObj = obj(o, 'rules', path, p);
  const rules = rulesObj ? decodeRules(rulesObj, join(path, 'rules'), p) : undefined;
  const shadow = obj(o, 'shadow_rules', path, p);
  if (shadow) decodeRules(shadow, join(path, 'shadow_rules'), p);
  const enforcement = o['enforcement_type'];
  if (network && enforcement !== undefined && enforcement !== 'ONE_TIME_ON_FIRST_BYTE') p.add(join(path, 'enforcement_type'), `${String(enforcement)} is not supported (ONE_TIME_ON_FIRST_BYTE is)`);
  return { rules, statPrefix: str(o, network ? 'stat_prefix' : 'rules_stat_prefix', path, p) ?? '' };
}

function decodeRules(o: Obj, path: string, p: Problems): RbacRules {
  const action = enumName(o, 'action', ACTIONS, path, p) ?? 'ALLOW';
  if (o['audit_logging_options'] !== undefined) p.add(join(path, 'audit_logging_options'), 'is not supported');
  const policies: RbacPolicy[] = [];
  const map = obj(o, 'policies', path, p) ?? {};
  for (const name of Object.keys(map).sort()) {
    const pPath = join(join(path, 'policies'), name);
    const policy = map[name];
    if (!isObj(policy)) {
      p.add(pPath, 'expected a Policy');
      continue;
    }
    if (policy['condition'] !== undefined || policy['checked_condition'] !== undefined) p.add(pPath, 'CEL conditions are not supported');
    const permissions = objs(policy, 'permissions', pPath, p).flatMap(({ value, path: v }) => decodePermission(value, v, p) ?? []);
    const principals = objs(policy, 'principals', pPath, p).flatMap(({ value, path: v }) => decodePrincipal(value, v, p) ?? []);
    if (permissions.length === 0) p.add(join(pPath, 'permissions'), 'must not be empty');
    if (principals.length === 0) p.add(join(pPath, 'principals'), 'must not be empty');
    policies.push({ name, permissions, principals });
  }
  return { action, policies };
}

/** The one set field of a Permission or Principal (decoded protos also carry the oneof's name). */
function setField(o: Obj, path: string, p: Problems): [string, unknown] | undefined {
  const fields = Object.entries(o).filter(([k, v]) => !ONEOF_NAMES.has(k) && v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0));
  if (fields.length !== 1) {
    p.add(path, fields.length === 0 ? 'one rule is required' : `exactly one rule expected, got ${fields.map(([k]) => k).join(', ')}`);
    return undefined;
  }
  return fields[0];
}

function decodePermission(o: Obj, path: string, p: Problems): Permission | undefined {
  const field = setField(o, path, p);
  if (!field) return undefined;
  const [key, value] = field;
  const here = join(path, key);
  const sub = (v: unknown, at: string): Obj | undefined => (isObj(v) ? v : (p.add(at, 'expected an object'), undefined));
  switch (key) {
    case 'any':
      return { kind: 'any' };
    case 'and_rules':
    case 'or_rules': {
      const set = sub(value, here);
      const rules = set ? objs(set, 'rules', here, p).flatMap(({ value: r, path: rp }) => decodePermission(r, rp, p) ?? []) : [];
      return key === 'and_rules' ? { kind: 'and', rules } : { kind: 'or', rules };
    }
    case 'not_rule': {
      const inner = sub(value, here);
      const rule = inner && decodePermission(inner, here, p);
      return rule && { kind: 'not', rule };
    }
    case 'header': {
      const m = sub(value, here);
      const matcher = m && decodeHeaderMatcher(m, here, p);
      return matcher && { kind: 'header', matcher };
    }
    case 'url_path': {
      const matcher = decodePathMatcher(value, here, p);
      return matcher && { kind: 'url_path', matcher };
    }
    case 'destination_ip': {
      const cidr = decodeCidr(value, here, p);
      return cidr && { kind: 'destination_ip', cidr };
    }
    case 'destination_port': {
      const port = typeof value === 'number' ? value : Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) p.add(here, `must be a port, got ${JSON.stringify(value)}`);
      return { kind: 'destination_port', port };
    }
    case 'destination_port_range': {
      const r = sub(value, here);
      return r && { kind: 'destination_port_range', start: num(r, 'start', here, p) ?? 0, end: num(r, 'end', here, p) ?? 0 };
    }
    case 'requested_server_name': {
      const m = sub(value, here);
      const matcher = m && decodeStringMatcher(m, here, p);
      return matcher && { kind: 'requested_server_name', matcher };
    }
    case 'metadata': {
      const m = sub(value, here);
      return m && { kind: 'metadata', invert: decodeMetadataMatcher(m, here, p) };
    }
    default:
      p.add(here, 'this RBAC permission is not supported by the meshwork proxy');
      return undefined;
  }
}

function decodePrincipal(o: Obj, path: string, p: Problems): Principal | undefined {
  const field = setField(o, path, p);
  if (!field) return undefined;
  const [key, value] = field;
  const here = join(path, key);
  const sub = (v: unknown, at: string): Obj | undefined => (isObj(v) ? v : (p.add(at, 'expected an object'), undefined));
  switch (key) {
    case 'any':
      return { kind: 'any' };
    case 'and_ids':
    case 'or_ids': {
      const set = sub(value, here);
      const ids = set ? objs(set, 'ids', here, p).flatMap(({ value: r, path: rp }) => decodePrincipal(r, rp, p) ?? []) : [];
      return key === 'and_ids' ? { kind: 'and', ids } : { kind: 'or', ids };
    }
    case 'not_id': {
      const inner = sub(value, here);
      const id = inner && decodePrincipal(inner, here, p);
      return id && { kind: 'not', id };
    }
    case 'header': {
      const m = sub(value, here);
      const matcher = m && decodeHeaderMatcher(m, here, p);
      return matcher && { kind: 'header', matcher };
    }
    case 'url_path': {
      const matcher = decodePathMatcher(value, here, p);
      return matcher && { kind: 'url_path', matcher };
    }
    case 'direct_remote_ip':
    case 'source_ip': {
      const cidr = decodeCidr(value, here, p);
      return cidr && { kind: 'direct_remote_ip', cidr };
    }
    case 'remote_ip': {
      const cidr = decodeCidr(value, here, p);
      return cidr && { kind: 'remote_ip', cidr };
    }
    case 'authenticated': {
      const a = sub(value, here);
      const name = a && obj(a, 'principal_name', here, p);
      return { kind: 'authenticated', matcher: name ? decodeStringMatcher(name, join(here, 'principal_name'), p) : undefined };
    }
    case 'metadata': {
      const m = sub(value, here);
      return m && { kind: 'metadata', invert: decodeMetadataMatcher(m, here, p) };
    }
    default:
      p.add(here, 'this RBAC principal is not supported by the meshwork proxy');
      return undefined;
  }
}

function decodePathMatcher(value: unknown, path: string, p: Problems): ReturnType<typeof decodeStringMatcher> {
  const m = isObj(value) ? obj(value, 'path', path, p) : undefined;
  if (!m) {
    p.add(join(path, 'path'), 'is required');
    return undefined;
  }
  return decodeStringMatcher(m, join(path, 'path'), p);
}

/** A MetadataMatcher: its value matcher is checked for shape; the result is only its `invert`. */
function decodeMetadataMatcher(o: Obj, path: string, p: Problems): boolean {
  if (!str(o, 'filter', path, p)) p.add(join(path, 'filter'), 'is required');
  if (!obj(o, 'value', path, p)) p.add(join(path, 'value'), 'is required');
  return bool(o, 'invert', path, p) ?? false;
}

function decodeCidr(value: unknown, path: string, p: Problems): CidrRange | undefined {
  if (!isObj(value)) {
    p.add(path, 'expected a CidrRange');
    return undefined;
  }
  const prefix = str(value, 'address_prefix', path, p) ?? '';
  const family = isIP(prefix);
  const length = wrappedNum(value, 'prefix_len', path, p) ?? 0;
  if (family === 0) p.add(join(path, 'address_prefix'), `must be an IP address, got ${JSON.stringify(prefix)}`);
  else if (!Number.isInteger(length) || length < 0 || length > (family === 4 ? 32 : 128)) p.add(join(path, 'prefix_len'), `must be in [0, ${family === 4 ? 32 : 128}], got ${length}`);
  else return { prefix, length };
  return undefined;
}
