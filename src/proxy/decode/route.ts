// envoy.config.route.v3.RouteConfiguration -> RouteTable. Everything the router needs is checked here,
// so a RouteConfiguration that decodes is one the router can serve.

import type { FaultConfig } from '../model/fault.js';
import type {
  ClusterSpecifier,
  MirrorPolicy,
  PathMatcher,
  RetryCondition,
  RetryPolicy,
  Route,
  RouteAction,
  RouteMatch,
  RouteTable,
  VirtualHost,
  WeightedCluster,
} from '../model/route.js';
import { err, ok, type Result } from '../result.js';
import { decodePerFilterCors } from './cors.js';
import { decodeFault, FAULT_FILTER_NAME } from './fault.js';
import { decodeHashPolicies } from './hash-policy.js';
import { decodeHeaderMatcher, decodeHeaderMutations, decodeQueryParamMatcher } from './headers.js';
import {
  bool,
  durationMs,
  enumName,
  fractionalPercent,
  fullRegex,
  isObj,
  join,
  num,
  obj,
  objs,
  partialRegex,
  Problems,
  str,
  strs,
  wrappedBool,
  wrappedNum,
  type Obj,
} from './fields.js';

export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

const RETRY_CONDITIONS: readonly RetryCondition[] = [
  '5xx',
  'gateway-error',
  'connect-failure',
  'reset',
  'refused-stream',
  'retriable-4xx',
  'retriable-status-codes',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
];
// Conditions that only apply to features we do not have: accepted, not acted on.
const IGNORED_RETRY_CONDITIONS = new Set(['envoy-ratelimited', 'retriable-headers', 'http3-post-connect-failure', 'reset-before-request']);

export function decodeRetryPolicy(o: Obj, path: string, p: Problems): RetryPolicy {
  const retryOn = new Set<RetryCondition>();
  for (const token of (str(o, 'retry_on', path, p) ?? '').split(',').map((t) => t.trim()).filter(Boolean)) {
    if ((RETRY_CONDITIONS as readonly string[]).includes(token)) retryOn.add(token as RetryCondition);
    else if (!IGNORED_RETRY_CONDITIONS.has(token)) p.add(join(path, 'retry_on'), `unknown retry condition '${token}'`);
  }
  const backOff = obj(o, 'retry_back_off', path, p);
  const base = (backOff && durationMs(backOff, 'base_interval', join(path, 'retry_back_off'), p)) ?? 25;
  const max = (backOff && durationMs(backOff, 'max_interval', join(path, 'retry_back_off'), p)) ?? base * 10;
  const codes: number[] = [];
  for (const c of (Array.isArray(o['retriable_status_codes']) ? o['retriable_status_codes'] : [])) {
    if (typeof c === 'number') codes.push(c);
    else p.add(join(path, 'retriable_status_codes'), `expected numbers, got ${JSON.stringify(c)}`);
  }
  return {
    retryOn,
    ...decodeHostSelection(o, path, p),
    numRetries: wrappedNum(o, 'num_retries', path, p) ?? 1,
    perTryTimeoutMs: durationMs(o, 'per_try_timeout', path, p) ?? 0,
    retriableStatusCodes: codes,
    backOffBaseMs: base,
    backOffMaxMs: max,
  };
}

const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';
const PREVIOUS_PRIORITIES = 'envoy.retry_priorities.previous_priorities';
const PREVIOUS_PRIORITIES_TYPE = 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig';
const PREVIOUS_HOSTS_TYPE = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

/** retry_host_predicate (previous_hosts only: others are refused), retry_priority (previous_priorities only) and host_selection_retry_max_attempts. */
function decodeHostSelection(o: Obj, path: string, p: Problems): Pick<RetryPolicy, 'avoidPreviousHosts' | 'hostSelectionRetries' | 'previousPriorities'> {
  let avoidPreviousHosts = false;
  for (const { value, path: pPath } of objs(o, 'retry_host_predicate', path, p)) {
    const typed = obj(value, 'typed_config', pPath, p);
    const type = typed && str(typed, '@type', join(pPath, 'typed_config'), p);
    if (type === PREVIOUS_HOSTS_TYPE || (type === undefined && str(value, 'name', pPath, p) === PREVIOUS_HOSTS)) avoidPreviousHosts = true;
    else p.add(pPath, `retry host predicate ${type ?? str(value, 'name', pPath, p) ?? '(unnamed)'} is not implemented (only ${PREVIOUS_HOSTS})`);
  }
  let previousPriorities: RetryPolicy['previousPriorities'];
  const priority = obj(o, 'retry_priority', path, p);
  if (priority) {
    const pPath = join(path, 'retry_priority');
    const typed = obj(priority, 'typed_config', pPath, p);
    const type = typed && str(typed, '@type', join(pPath, 'typed_config'), p);
    if (type === PREVIOUS_PRIORITIES_TYPE || (type === undefined && str(priority, 'name', pPath, p) === PREVIOUS_PRIORITIES)) {
      const frequency = (typed && num(typed, 'update_frequency', join(pPath, 'typed_config'), p)) ?? 0;
      // Envoy's validation: update_frequency > 0.
      if (!Number.isInteger(frequency) || frequency <= 0) p.add(join(pPath, 'typed_config.update_frequency'), `must be a positive integer, got ${frequency}`);
      else previousPriorities = { updateFrequency: frequency };
    } else p.add(pPath, `retry priority ${type ?? str(priority, 'name', pPath, p) ?? '(unnamed)'} is not implemented (only ${PREVIOUS_PRIORITIES})`);
  }
  const hostSelectionRetries = num(o, 'host_selection_retry_max_attempts', path, p) ?? 1;
  return { avoidPreviousHosts, hostSelectionRetries: Math.max(0, hostSelectionRetries), previousPriorities };
}

function decodeMatch(o: Obj, path: string, p: Problems): RouteMatch {
  const caseSensitive = wrappedBool(o, 'case_sensitive', path, p) ?? true;
  let matcher: PathMatcher | undefined;
  const prefix = str(o, 'prefix', path, p);
  const exact = str(o, 'path', path, p);
  const sep = str(o, 'path_separated_prefix', path, p);
  const re = obj(o, 'safe_regex', path, p);
  if (prefix !== undefined) matcher = { kind: 'prefix', value: prefix };
  else if (exact !== undefined) matcher = { kind: 'path', value: exact };
  else if (sep !== undefined) matcher = { kind: 'separated-prefix', value: sep };
  else if (re) {
    // Envoy: case_sensitive does not apply to safe_regex (a regex spells its own case rules).
    const regex = fullRegex(str(re, 'regex', join(path, 'safe_regex'), p) ?? '', join(path, 'safe_regex.regex'), p);
    if (regex) matcher = { kind: 'regex', regex };
  } else if (o['connect_matcher'] !== undefined) {
    matcher = { kind: 'connect' };
  } else if (o['path_match_policy'] !== undefined) {
    p.add(path, 'path_match_policy is not supported');
  } else if (o['prefix'] === undefined) {
    // protobufjs with defaults: false omits an empty prefix "", which means "match everything".
    matcher = { kind: 'prefix', value: '' };
  }
  if (o['runtime_fraction'] !== undefined) p.add(join(path, 'runtime_fraction'), 'not supported');
  if (o['grpc'] !== undefined && !isObj(o['grpc'])) p.add(join(path, 'grpc'), 'expected an object');
  const headers = objs(o, 'headers', path, p).flatMap(({ value, path: hp }) => decodeHeaderMatcher(value, hp, p) ?? []);
  if (o['grpc'] !== undefined) {
    headers.push({ name: 'content-type', value: { kind: 'string', matcher: { kind: 'prefix', value: 'application/grpc', ignoreCase: false } }, invert: false, treatMissingAsEmpty: false });
  }
  const queryParams = objs(o, 'query_parameters', path, p).flatMap(({ value, path: qp }) => decodeQueryParamMatcher(value, qp, p) ?? []);
  return { path: matcher ?? { kind: 'prefix', value: '' }, caseSensitive, headers, queryParams };
}

/** A RouteMatch on its own (the translator's simulate() reads generated routes with it). */
export function decodeRouteMatch(o: Obj): Result<RouteMatch, string[]> {
  const p = new Problems();
  const match = decodeMatch(o, 'match', p);
  return p.list.length ? err(p.list) : ok(match);
}

function decodeClusterSpecifier(o: Obj, path: string, p: Problems): ClusterSpecifier | undefined {
  const cluster = str(o, 'cluster', path, p);
  if (cluster !== undefined) return { kind: 'cluster', name: cluster };
  const wc = obj(o, 'weighted_clusters', path, p);
  if (wc) {
    const wPath = join(path, 'weighted_clusters');
    const clusters: WeightedCluster[] = [];
    for (const { value, path: cPath } of objs(wc, 'clusters', wPath, p)) {
      const name = str(value, 'name', cPath, p);
      if (!name) {
        p.add(join(cPath, 'name'), 'is required (cluster_header is not supported)');
        continue;
      }
      const weight = wrappedNum(value, 'weight', cPath, p) ?? 0;
      clusters.push({ name, weight, headers: decodeHeaderMutations(value, cPath, p) });
    }
    if (clusters.length === 0) p.add(join(wPath, 'clusters'), 'must not be empty');
    const sum = clusters.reduce((s, c) => s + c.weight, 0);
    const declared = wrappedNum(wc, 'total_weight', wPath, p);
    if (sum <= 0) p.add(join(wPath, 'clusters'), 'weights sum to 0');
    if (declared !== undefined && declared !== 0 && declared !== sum) {
      p.add(join(wPath, 'total_weight'), `is ${declared} but the weights sum to ${sum}`);
    }
    return { kind: 'weighted', clusters, totalWeight: sum };
  }
  if (o['cluster_header'] !== undefined || o['cluster_specifier_plugin'] !== undefined) {
    p.add(path, 'cluster_header and cluster_specifier_plugin are not supported');
    return undefined;
  }
  p.add(path, 'one of cluster, weighted_clusters is required');
  return undefined;
}

/** Envoy's stream idle timeout for a route without idle_timeout (the HCM's stream_idle_timeout default). */
const DEFAULT_STREAM_IDLE_MS = 5 * 60 * 1000;

/**
 * RouteAction.upgrade_configs: CONNECT with connect_config (terminate the tunnel here) is served; a
 * CONNECT upgrade without it (proxy the CONNECT request on) is refused. Other upgrade types are left to the HCM.
 */
function decodeConnectUpgrade(ra: Obj, path: string, p: Problems): { idleTimeoutMs: number } | undefined {
  for (const { value, path: uPath } of objs(ra, 'upgrade_configs', path, p)) {
    if ((str(value, 'upgrade_type', uPath, p) ?? '').toUpperCase() !== 'CONNECT') continue;
    if (value['enabled'] !== undefined && !(wrappedBool(value, 'enabled', uPath, p) ?? true)) continue;
    if (!isObj(value['connect_config'])) {
      p.add(uPath, 'CONNECT without connect_config (forwarding the CONNECT request upstream) is not supported; terminating it (connect_config: {}) is');
      continue;
    }
    const config = value['connect_config'];
    if (config['proxy_protocol_config'] !== undefined || config['allow_post'] === true) p.add(join(uPath, 'connect_config'), 'proxy_protocol_config and allow_post are not supported');
    return { idleTimeoutMs: durationMs(ra, 'idle_timeout', path, p) ?? DEFAULT_STREAM_IDLE_MS };
  }
  return undefined;
}

const MIRROR_FIELDS = new Set(['cluster', 'runtime_fraction', 'disable_shadow_host_suffix_append', 'trace_sampled']);

/** RouteAction.RequestMirrorPolicy: a named cluster and a fraction; other fields are refused by name. */
function decodeMirrorPolicy(o: Obj, path: string, p: Problems): MirrorPolicy | undefined {
  for (const key of Object.keys(o)) if (!MIRROR_FIELDS.has(key)) p.add(join(path, key), 'not supported (cluster, runtime_fraction and disable_shadow_host_suffix_append are)');
  const cluster = str(o, 'cluster', path, p);
  if (!cluster) {
    p.add(join(path, 'cluster'), 'is required');
    return undefined;
  }
  const rf = obj(o, 'runtime_fraction', path, p);
  const fraction = rf ? (fractionalPercent(rf, 'default_value', join(path, 'runtime_fraction'), p) ?? 0) : 1;
  return { cluster, fraction, keepHost: bool(o, 'disable_shadow_host_suffix_append', path, p) ?? false };
}

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function decodeAction(o: Obj, path: string, vhostRetry: RetryPolicy | undefined, p: Problems): RouteAction | undefined {
  const ra = obj(o, 'route', path, p);
  if (ra) {
    const aPath = join(path, 'route');
    const cluster = decodeClusterSpecifier(ra, aPath, p);
    const retryObj = obj(ra, 'retry_policy', aPath, p);
    const retry = retryObj ? decodeRetryPolicy(retryObj, join(aPath, 'retry_policy'), p) : vhostRetry;
    const rr = obj(ra, 'regex_rewrite', aPath, p);
    let regexRewrite: { regex: RegExp; substitution: string } | undefined;
    if (rr) {
      const rrPath = join(aPath, 'regex_rewrite');
      const pattern = obj(rr, 'pattern', rrPath, p);
      const regex = pattern && partialRegex(str(pattern, 'regex', join(rrPath, 'pattern'), p) ?? '', join(rrPath, 'pattern.regex'), p);
      if (regex) regexRewrite = { regex, substitution: (str(rr, 'substitution', rrPath, p) ?? '').replace(/\\(\d)/g, '$$$1') };
    }
    if (ra['cors'] !== undefined) p.add(join(aPath, 'cors'), 'the legacy cors field is not supported; use typed_per_filter_config["envoy.filters.http.cors"]');
    if (ra['host_rewrite_header'] !== undefined || ra['host_rewrite_path_regex'] !== undefined) {
      p.add(aPath, 'host_rewrite_header and host_rewrite_path_regex are not supported');
    }
    const mirrors = objs(ra, 'request_mirror_policies', aPath, p).flatMap(({ value, path: mPath }) => decodeMirrorPolicy(value, mPath, p) ?? []);
    const connect = decodeConnectUpgrade(ra, aPath, p);
    if (!cluster) return undefined;
    return {
      kind: 'forward',
      mirrors,
      cluster,
      hashPolicies: decodeHashPolicies(ra, aPath, p),
      timeoutMs: durationMs(ra, 'timeout', aPath, p) ?? DEFAULT_ROUTE_TIMEOUT_MS,
      retry,
      prefixRewrite: str(ra, 'prefix_rewrite', aPath, p),
      regexRewrite,
      hostRewrite: str(ra, 'host_rewrite_literal', aPath, p),
      ...(connect ? { connect } : {}),
    };
  }
  const dr = obj(o, 'direct_response', path, p);
  if (dr) {
    const dPath = join(path, 'direct_response');
    const status = num(dr, 'status', dPath, p) ?? 0;
    if (status < 200 || status > 599) p.add(join(dPath, 'status'), `must be in [200, 600), got ${status}`);
    const body = obj(dr, 'body', dPath, p);
    let text = '';
    if (body) {
      const inline = str(body, 'inline_string', join(dPath, 'body'), p);
      const bytes = body['inline_bytes'];
      if (inline !== undefined) text = inline;
      else if (bytes instanceof Uint8Array) text = Buffer.from(bytes).toString('utf8');
      else if (body['filename'] !== undefined) p.add(join(dPath, 'body.filename'), 'not supported');
    }
    return { kind: 'direct', status, body: text };
  }
  const rd = obj(o, 'redirect', path, p);
  if (rd) {
    const rPath = join(path, 'redirect');
    const codeName = str(rd, 'response_code', rPath, p) ?? 'MOVED_PERMANENTLY';
    const status = REDIRECT_CODES[codeName];
    if (status === undefined) p.add(join(rPath, 'response_code'), `unknown code ${codeName}`);
    const httpsRedirect = bool(rd, 'https_redirect', rPath, p) ?? false;
    if (rd['regex_rewrite'] !== undefined) p.add(join(rPath, 'regex_rewrite'), 'not supported');
    return {
      kind: 'redirect',
      status: status ?? 301,
      scheme: httpsRedirect ? 'https' : str(rd, 'scheme_redirect', rPath, p),
      host: str(rd, 'host_redirect', rPath, p),
      port: num(rd, 'port_redirect', rPath, p),
      path: str(rd, 'path_redirect', rPath, p),
      prefixRewrite: str(rd, 'prefix_rewrite', rPath, p),
      stripQuery: bool(rd, 'strip_query', rPath, p) ?? false,
    };
  }
  if (o['filter_action'] !== undefined || o['non_forwarding_action'] !== undefined) {
    p.add(path, 'filter_action and non_forwarding_action are not supported');
    return undefined;
  }
  p.add(path, 'one of route, redirect, direct_response is required');
  return undefined;
}

/** typed_per_filter_config['envoy.filters.http.fault'] (HTTPFault, or a FilterConfig wrapping one). */
export function decodePerFilterFault(o: Obj, path: string, p: Problems): FaultConfig | undefined {
  const tpfc = obj(o, 'typed_per_filter_config', path, p);
  if (!tpfc) return undefined;
  const cfg = tpfc[FAULT_FILTER_NAME];
  if (cfg === undefined) return undefined;
  const cPath = join(join(path, 'typed_per_filter_config'), FAULT_FILTER_NAME);
  if (!isObj(cfg)) {
    p.add(cPath, 'expected an HTTPFault message');
    return undefined;
  }
  const inner = cfg['@type'] === 'type.googleapis.com/envoy.config.route.v3.FilterConfig' && isObj(cfg['config']) ? cfg['config'] : cfg;
  return decodeFault(inner, cPath, p);
}

function decodeRoute(o: Obj, path: string, vhostRetry: RetryPolicy | undefined, p: Problems): Route | undefined {
  const matchObj = obj(o, 'match', path, p);
  if (!matchObj) {
    p.add(join(path, 'match'), 'is required');
    return undefined;
  }
  const match = decodeMatch(matchObj, join(path, 'match'), p);
  const action = decodeAction(o, path, vhostRetry, p);
  if (!action) return undefined;
  return {
    name: str(o, 'name', path, p) ?? '',
    match,
    action,
    headers: decodeHeaderMutations(o, path, p),
    fault: decodePerFilterFault(o, path, p),
    cors: decodePerFilterCors(o, path, p),
  };
}

function decodeVirtualHost(o: Obj, path: string, p: Problems): VirtualHost | undefined {
  const name = str(o, 'name', path, p) ?? '';
  const domains = strs(o, 'domains', path, p).map((d) => d.toLowerCase());
  if (domains.length === 0) p.add(join(path, 'domains'), 'must not be empty');
  for (const d of domains) {
    if (d !== '*' && d.indexOf('*') !== d.lastIndexOf('*')) p.add(join(path, 'domains'), `'${d}' has more than one wildcard`);
    else if (d.length > 1 && d.includes('*') && !d.startsWith('*') && !d.endsWith('*')) p.add(join(path, 'domains'), `'${d}': a wildcard must be first or last`);
  }
  const retryObj = obj(o, 'retry_policy', path, p);
  const retry = retryObj ? decodeRetryPolicy(retryObj, join(path, 'retry_policy'), p) : undefined;
  const routes = objs(o, 'routes', path, p).flatMap(({ value, path: rPath }) => decodeRoute(value, rPath, retry, p) ?? []);
  const requireTls = enumName(o, 'require_tls', ['NONE', 'EXTERNAL_ONLY', 'ALL'] as const, path, p) ?? 'NONE';
  return { name, domains, requireTls, routes, headers: decodeHeaderMutations(o, path, p), retry, fault: decodePerFilterFault(o, path, p), cors: decodePerFilterCors(o, path, p) };
}

/** Decodes a RouteConfiguration; `path` prefixes error paths (e.g. for an HCM's inline route_config). */
export function decodeRouteTable(o: Obj, path = ''): Result<RouteTable, string[]> {
  const p = new Problems();
  const table = decodeRouteTableInto(o, path, p);
  return p.list.length ? err(p.list) : ok(table);
}

export function decodeRouteTableInto(o: Obj, path: string, p: Problems): RouteTable {
  const name = str(o, 'name', path, p) ?? '';
  const virtualHosts = objs(o, 'virtual_hosts', path, p).flatMap(({ value, path: vPath }) => decodeVirtualHost(value, vPath, p) ?? []);
  const seen = new Map<string, string>();
  for (const vh of virtualHosts) {
    for (const d of vh.domains) {
      const other = seen.get(d);
      if (other !== undefined) p.add(join(path, 'virtual_hosts'), `domain '${d}' appears in virtual hosts '${other}' and '${vh.name}'`);
      seen.set(d, vh.name);
    }
  }
  if (o['vhds'] !== undefined) p.add(join(path, 'vhds'), 'not supported');
  return { name, virtualHosts, headers: decodeHeaderMutations(o, path, p) };
}
