// Routes as the proxy sees them: decoded from RouteConfiguration (or an HCM's inline route_config),
// never the wire objects. Regexes are compiled at decode time so a bad one is a NACK, not a 500.

import type { CorsPolicy } from './cors.js';
import type { FaultConfig } from './fault.js';

export type StringMatcher =
  | { kind: 'exact'; value: string; ignoreCase: boolean }
  | { kind: 'prefix'; value: string; ignoreCase: boolean }
  | { kind: 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'contains'; value: string; ignoreCase: boolean }
  | { kind: 'regex'; regex: RegExp };

export type HeaderValueMatcher =
  | { kind: 'present'; present: boolean }
  | { kind: 'string'; matcher: StringMatcher }
  | { kind: 'range'; start: number; end: number };

export interface HeaderMatcher {
  /** Lower-case header name; ':method', ':path', ':authority', ':scheme' reach the pseudo-headers. */
  name: string;
  value: HeaderValueMatcher;
  invert: boolean;
  treatMissingAsEmpty: boolean;
}

export interface QueryParamMatcher {
  name: string;
  value: { kind: 'present'; present: boolean } | { kind: 'string'; matcher: StringMatcher };
}

export type PathMatcher =
  /** connect_matcher: CONNECT requests (which have no path) and nothing else. */
  | { kind: 'connect' }
  | { kind: 'prefix'; value: string }
  | { kind: 'path'; value: string }
  | { kind: 'regex'; regex: RegExp }
  | { kind: 'separated-prefix'; value: string };

export interface RouteMatch {
  path: PathMatcher;
  caseSensitive: boolean;
  headers: HeaderMatcher[];
  queryParams: QueryParamMatcher[];
}

export interface HeaderToAdd {
  name: string;
  value: string;
  /** true: append to an existing value; false: overwrite (Envoy's append / append_action). */
  append: boolean;
  /** ADD_IF_ABSENT: only set when the header is missing. */
  onlyIfAbsent: boolean;
}

export interface HeaderMutations {
  requestToAdd: HeaderToAdd[];
  requestToRemove: string[];
  responseToAdd: HeaderToAdd[];
  responseToRemove: string[];
}

export type RetryCondition =
  | '5xx'
  | 'gateway-error'
  | 'connect-failure'
  | 'reset'
  | 'refused-stream'
  | 'retriable-4xx'
  | 'retriable-status-codes'
  // gRPC statuses in the response headers (a trailers-only answer), as Envoy's retry_on reads them.
  | 'cancelled'
  | 'deadline-exceeded'
  | 'internal'
  | 'resource-exhausted'
  | 'unavailable';

export interface RetryPolicy {
  retryOn: Set<RetryCondition>;
  numRetries: number;
  /** 0: no per-try limit (the route timeout still applies). */
  perTryTimeoutMs: number;
  retriableStatusCodes: number[];
  backOffBaseMs: number;
  backOffMaxMs: number;
  /** envoy.retry_host_predicates.previous_hosts: a retry re-selects a host that an earlier attempt used. */
  avoidPreviousHosts: boolean;
  /** host_selection_retry_max_attempts: how often a rejected selection is re-done (Envoy's default 1). */
  hostSelectionRetries: number;
  /**
   * envoy.retry_priorities.previous_priorities: every `updateFrequency` attempts, the priorities tried so
   * far are left out of host selection (all of them tried: none is). undefined: no retry priority.
   */
  previousPriorities: { updateFrequency: number } | undefined;
}

export interface WeightedCluster {
  name: string;
  weight: number;
  headers: HeaderMutations;
}

export type ClusterSpecifier = { kind: 'cluster'; name: string } | { kind: 'weighted'; clusters: WeightedCluster[]; totalWeight: number };

/** One hash_policy entry of a route: where a consistent-hash key comes from. */
export type HashPolicy = (
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string; path: string; ttlSeconds: number | undefined; attributes: Array<{ name: string; value: string }> }
  | { kind: 'source-ip' }
  | { kind: 'query'; name: string }
) & { terminal: boolean };

export interface ForwardAction {
  kind: 'forward';
  cluster: ClusterSpecifier;
  /** hash_policy: the request's key for ring hash / Maglev clusters (empty: none). */
  hashPolicies: HashPolicy[];
  /** 0 disables the timeout. */
  timeoutMs: number;
  retry: RetryPolicy | undefined;
  prefixRewrite: string | undefined;
  regexRewrite: { regex: RegExp; substitution: string } | undefined;
  hostRewrite: string | undefined;
  /**
   * upgrade_configs CONNECT with connect_config: a CONNECT request is terminated here, its payload
   * sent as raw bytes to the cluster; the tunnel closes after `idleTimeoutMs` without a byte (0: never).
   */
  connect?: { idleTimeoutMs: number };
  /** request_mirror_policies: copies sent on the side, their answers dropped. */
  mirrors: MirrorPolicy[];
}

export interface MirrorPolicy {
  cluster: string;
  /** Fraction in [0, 1] of requests mirrored (runtime_fraction.default_value; 100% when absent). */
  fraction: number;
  /** false: the copy's authority gets Envoy's '-shadow' suffix (disable_shadow_host_suffix_append). */
  keepHost: boolean;
}

export interface DirectResponseAction {
  kind: 'direct';
  status: number;
  body: string;
}

export interface RedirectAction {
  kind: 'redirect';
  status: number;
  scheme: string | undefined;
  host: string | undefined;
  port: number | undefined;
  path: string | undefined;
  prefixRewrite: string | undefined;
  stripQuery: boolean;
}

export type RouteAction = ForwardAction | DirectResponseAction | RedirectAction;

export interface Route {
  name: string;
  match: RouteMatch;
  action: RouteAction;
  headers: HeaderMutations;
  /** Fault override from typed_per_filter_config['envoy.filters.http.fault']. */
  fault: FaultConfig | undefined;
  /** typed_per_filter_config['envoy.filters.http.cors']. */
  cors: CorsPolicy | undefined;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  /** require_tls: a request not over TLS (ALL), or an external one not over TLS (EXTERNAL_ONLY), is redirected to https (301). */
  requireTls: 'NONE' | 'EXTERNAL_ONLY' | 'ALL';
  routes: Route[];
  headers: HeaderMutations;
  retry: RetryPolicy | undefined;
  fault: FaultConfig | undefined;
  cors: CorsPolicy | undefined;
}

export interface RouteTable {
  name: string;
  virtualHosts: VirtualHost[];
  headers: HeaderMutations;
}

export const NO_HEADER_MUTATIONS: HeaderMutations = Object.freeze({
  requestToAdd: [],
  requestToRemove: [],
  responseToAdd: [],
  responseToRemove: [],
});
