// VirtualService http[] -> Envoy routes, for one scope (the mesh, or one gateway) and one port.
// A route with any error is left out whole (with a problem naming the field); a client is never
// sent a route it would NACK. A destination whose host or subset does not exist is the exception,
// as in Istio: the route is kept naming a cluster that does not exist (Envoy answers that share with
// 503, gRPC fails it with UNAVAILABLE) and the problem is reported as an error all the same.

import type { Destination, Headers, HTTPDirectResponse, HTTPFaultInjection, HTTPMatchRequest, HTTPRoute, HTTPRetry, Percent, VirtualService } from '../config/istio-types.js';
import { parseDuration } from '../config/istio-types.js';
import type { IstioObject, ProxyIdentity } from '../registry/model.js';
import type { TranslationContext } from './context.js';
import { isIssue, resolveDestination, type ResolvedDestination } from './destinations.js';
import { applyDestinationHashes } from './hash-policy.js';
import type {
  ClusterWeight,
  CorsPolicy,
  DirectResponseAction,
  Duration,
  FractionalPercent,
  HeaderValueOption,
  HttpFault,
  Metadata,
  RedirectAction,
  RequestMirrorPolicy,
  RetryHostPredicate,
  RetryPolicy,
  Route,
  RouteAction,
} from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';
import { CORS_FILTER_NAME, translateCorsPolicy } from './cors.js';
import { expandDelegates } from './delegates.js';
import { regexProblem, translateMatch } from './matches.js';
import { labelsMatch } from './names.js';
import { problemAt, type ConfigRef, type ProblemCode } from '../config/problems.js';

export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';
export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';

export interface RouteScope {
  /** 'mesh' for sidecars and proxyless clients, or '<namespace>/<name>' of a Gateway. */
  gateway: string;
  /** The port being served: a service port (mesh) or a gateway server port. */
  port?: number;
  /** The service whose virtual host is being built (mesh scope). */
  service?: { hostname: string; port: number };
  /** The proxy, for sourceLabels/sourceNamespace; undefined in analysis, where every match applies. */
  proxy?: ProxyIdentity;
  proxyless: boolean;
}

/** 'mesh' stays; 'name' resolves in the VirtualService's namespace; 'ns/name' is taken as written. */
export function resolveGatewayName(name: string, namespace: string): string {
  if (name === 'mesh' || name.includes('/')) return name;
  return `${namespace}/${name}`;
}

export function virtualServiceGateways(vs: IstioObject<VirtualService>): string[] {
  const gateways = vs.spec.gateways ?? [];
  return gateways.length === 0 ? ['mesh'] : gateways.map((g) => resolveGatewayName(g, vs.namespace));
}

function matchApplies(match: HTTPMatchRequest, vs: IstioObject<VirtualService>, scope: RouteScope): boolean {
  if (match.gateways && match.gateways.length > 0) {
    if (!match.gateways.map((g) => resolveGatewayName(g, vs.namespace)).includes(scope.gateway)) return false;
  }
  if (!scope.proxy) return true;
  if (match.port !== undefined && scope.port !== undefined && match.port !== scope.port) return false;
  if (match.sourceLabels && !labelsMatch(match.sourceLabels, scope.proxy.labels)) return false;
  if (match.sourceNamespace && match.sourceNamespace !== scope.proxy.namespace) return false;
  return true;
}

/** A retry goes to a host not tried yet (Envoy's builtin predicate), as Istio asks for every retry policy. */
export const RETRY_PREVIOUS_HOSTS: RetryHostPredicate = {
  name: 'envoy.retry_host_predicates.previous_hosts',
  typed_config: { '@type': TYPE_URL.previousHostsPredicate },
};

/** Envoy's previous_priorities with Istio's update_frequency 2. */
export const RETRY_PREVIOUS_PRIORITIES: NonNullable<RetryPolicy['retry_priority']> = {
  name: 'envoy.retry_priorities.previous_priorities',
  typed_config: { '@type': TYPE_URL.previousPriorities, update_frequency: 2 },
};

/**
 * Istio's default retry policy (retry.DefaultPolicy), applied to routes whose VirtualService says
 * nothing about retries: 503 and connection failures retried twice, each retry on a host not tried
 * yet, re-selecting up to 5 times to find one.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: { value: 2 },
  retriable_status_codes: [503],
  retry_host_predicate: [RETRY_PREVIOUS_HOSTS],
  host_selection_retry_max_attempts: 5,
};

const REDIRECT_CODES: Record<number, RedirectAction['response_code']> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

const GRPC_CODES: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

export function configPath(vs: { namespace: string; name: string }): string {
  return `/apis/networking.istio.io/v1alpha3/namespaces/${vs.namespace}/virtual-service/${vs.name}`;
}

export function istioConfigMetadata(path: string): Metadata {
  return { filter_metadata: { istio: { fields: { config: { string_value: path } } } } };
}

/** Istio percentages are doubles in [0, 100]; Envoy wants a fraction of a million. */
function fractionOf(percent: Percent | undefined, fallback: number): FractionalPercent | string {
  const value = percent?.value ?? fallback;
  if (!Number.isFinite(value) || value < 0 || value > 100) return `percentage ${value} is outside 0..100`;
  return { numerator: Math.round(value * 10_000), denominator: 'MILLION' };
}

function headerOptions(ops: Headers['request']): { add?: HeaderValueOption[]; remove?: string[] } {
  if (!ops) return {};
  const add: HeaderValueOption[] = [];
  for (const [key, value] of Object.entries(ops.set ?? {})) add.push({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
  for (const [key, value] of Object.entries(ops.add ?? {})) add.push({ header: { key, value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' });
  const out: { add?: HeaderValueOption[]; remove?: string[] } = {};
  if (add.length > 0) out.add = add;
  if (ops.remove && ops.remove.length > 0) out.remove = [...ops.remove];
  return out;
}

class RouteProblems {
  failed = false;
  constructor(
    private readonly ctx: TranslationContext,
    private readonly ref: ConfigRef,
  ) {}
  error(code: ProblemCode, field: string, message: string): void {
    this.failed = true;
    this.ctx.problems.add(problemAt(this.ref, 'error', code, field, `${message} This route is left out until it is fixed.`));
  }
  /** A destination kept although its cluster does not exist: the route stays, its share fails with 503. */
  dangling(code: ProblemCode, field: string, message: string, share: string): void {
    this.ctx.problems.add(problemAt(this.ref, 'error', code, field,
      `${message} The route is kept as Istio keeps it: ${share} fails with 503 (no cluster) until it is fixed.`));
  }
  warn(code: ProblemCode, field: string, message: string): void {
    this.ctx.problems.add(problemAt(this.ref, 'warning', code, field, message));
  }
}

function duration(text: string | undefined, field: string, problems: RouteProblems): Duration | undefined {
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (!parsed.ok) {
    problems.error('invalid-duration', field, parsed.error + '.');
    return undefined;
  }
  return parsed.duration;
}

function retryPolicy(retries: HTTPRetry | undefined, field: string, problems: RouteProblems): RetryPolicy | undefined {
  if (!retries) return DEFAULT_RETRY_POLICY;
  const attempts = retries.attempts ?? 0;
  if (attempts <= 0) return undefined;
  const conditions: string[] = [];
  const codes: number[] = [];
  for (const item of (retries.retryOn ?? DEFAULT_RETRY_POLICY.retry_on).split(',').map((s) => s.trim()).filter(Boolean)) {
    if (/^\d{3}$/.test(item)) codes.push(Number(item));
    else conditions.push(item);
  }
  if (codes.length > 0 && !conditions.includes('retriable-status-codes')) conditions.push('retriable-status-codes');
  // Istio's ConvertPolicy starts from the default policy: the host predicate and re-selections stay.
  const policy: RetryPolicy = { retry_on: conditions.join(','), num_retries: { value: attempts } };
  if (codes.length > 0) policy.retriable_status_codes = codes;
  else if (retries.retryOn === undefined) policy.retriable_status_codes = [503];
  const perTry = duration(retries.perTryTimeout, `${field}.perTryTimeout`, problems);
  if (perTry) policy.per_try_timeout = perTry;
  policy.retry_host_predicate = [RETRY_PREVIOUS_HOSTS];
  policy.host_selection_retry_max_attempts = DEFAULT_RETRY_POLICY.host_selection_retry_max_attempts;
  // Istio's retryRemoteLocalities: a retry skips the priorities (localities, by failover order) tried so far.
  if (retries.retryRemoteLocalities) policy.retry_priority = RETRY_PREVIOUS_PRIORITIES;
  return policy;
}

function faultConfig(fault: HTTPFaultInjection, field: string, problems: RouteProblems): HttpFault | undefined {
  const out: HttpFault = { '@type': TYPE_URL.fault };
  if (fault.delay) {
    const fixed = duration(fault.delay.fixedDelay, `${field}.delay.fixedDelay`, problems);
    if (fault.delay.fixedDelay === undefined) problems.error('invalid-route', `${field}.delay.fixedDelay`, 'a delay fault needs fixedDelay (e.g. "2s").');
    const pct = fractionOf(fault.delay.percentage ?? (fault.delay.percent !== undefined ? { value: fault.delay.percent } : undefined), 100);
    if (typeof pct === 'string') problems.error('invalid-percentage', `${field}.delay.percentage`, pct + '.');
    else if (fixed) out.delay = { fixed_delay: fixed, percentage: pct };
  }
  if (fault.abort) {
    const pct = fractionOf(fault.abort.percentage, 100);
    if (typeof pct === 'string') problems.error('invalid-percentage', `${field}.abort.percentage`, pct + '.');
    else if (fault.abort.httpStatus !== undefined) {
      if (fault.abort.httpStatus < 200 || fault.abort.httpStatus > 599) {
        problems.error('invalid-route', `${field}.abort.httpStatus`, `httpStatus ${fault.abort.httpStatus} must be within 200..599.`);
      } else out.abort = { http_status: fault.abort.httpStatus, percentage: pct };
    } else if (fault.abort.grpcStatus !== undefined) {
      const code = GRPC_CODES[fault.abort.grpcStatus.toUpperCase()];
      if (code === undefined) problems.error('invalid-route', `${field}.abort.grpcStatus`, `unknown gRPC status "${fault.abort.grpcStatus}"; use a name like UNAVAILABLE.`);
      else out.abort = { grpc_status: code, percentage: pct };
    } else {
      problems.error('unsupported', `${field}.abort`, 'only httpStatus and grpcStatus aborts are supported.');
    }
  }
  return out.delay || out.abort ? out : undefined;
}

function buildDestinations(
  ctx: TranslationContext,
  vs: IstioObject<VirtualService>,
  http: HTTPRoute,
  field: string,
  scope: RouteScope,
  problems: RouteProblems,
): RouteAction | undefined {
  const destinations = http.route ?? [];
  const resolved: Array<{ dest: ResolvedDestination; weight: number; headers?: Headers }> = [];
  destinations.forEach((d, k) => {
    const r = resolveDestination(ctx, d.destination ?? { host: '' }, vs.namespace, `${field}.route[${k}].destination`, scope.service, scope.port);
    if (isIssue(r)) problems.error(r.code, r.field, r.message);
    else {
      if (r.dangling) {
        const share = destinations.length === 1 ? 'every request it matches' : `its share (weight ${d.weight ?? 0})`;
        problems.dangling(r.dangling.code, r.dangling.field, r.dangling.message, share);
      }
      resolved.push({ dest: r, weight: d.weight ?? 0, headers: d.headers });
    }
    if (d.weight !== undefined && (!Number.isInteger(d.weight) || d.weight < 0)) {
      problems.error('negative-weight', `${field}.route[${k}].weight`, `weight ${d.weight} must be a non-negative integer.`);
    }
  });
  if (problems.failed) return undefined;
  if (resolved.length === 1) {
    return { cluster: resolved[0].dest.cluster };
  }
  const total = resolved.reduce((sum, r) => sum + r.weight, 0);
  if (total === 0) {
    problems.error('zero-total-weight', `${field}.route`,
      `the weights of the ${resolved.length} destinations sum to 0; give at least one destination a positive weight (e.g. 80 and 20).`);
    return undefined;
  }
  const byCluster = new Map<string, ClusterWeight>();
  for (const r of resolved) {
    if (r.weight === 0) continue;
    const existing = byCluster.get(r.dest.cluster);
    if (existing) {
      existing.weight = { value: existing.weight.value + r.weight };
      continue;
    }
    const cw: ClusterWeight = { name: r.dest.cluster, weight: { value: r.weight } };
    const req = headerOptions(r.headers?.request);
    const res = headerOptions(r.headers?.response);
    if (req.add) cw.request_headers_to_add = req.add;
    if (req.remove) cw.request_headers_to_remove = req.remove;
    if (res.add) cw.response_headers_to_add = res.add;
    if (res.remove) cw.response_headers_to_remove = res.remove;
    byCluster.set(r.dest.cluster, cw);
  }
  const clusters = [...byCluster.values()];
  if (clusters.length === 1 && !clusters[0].request_headers_to_add && !clusters[0].response_headers_to_add &&
      !clusters[0].request_headers_to_remove && !clusters[0].response_headers_to_remove) {
    return { cluster: clusters[0].name };
  }
  // No total_weight: Envoy deprecates it (and warns) and takes the sum of the weights, as gRPC does.
  return { weighted_clusters: { clusters } };
}

function buildRedirect(http: HTTPRoute, field: string, problems: RouteProblems): RedirectAction | undefined {
  const r = http.redirect ?? {};
  const out: RedirectAction = {};
  if (r.uri !== undefined) out.path_redirect = r.uri;
  if (r.authority !== undefined) out.host_redirect = r.authority;
  if (r.port !== undefined) out.port_redirect = r.port;
  if (r.scheme !== undefined) out.scheme_redirect = r.scheme;
  if (r.redirectCode !== undefined) {
    const code = REDIRECT_CODES[r.redirectCode];
    if (!code) {
      problems.error('invalid-route', `${field}.redirect.redirectCode`, `redirectCode ${r.redirectCode} is not one of 301, 302, 303, 307, 308.`);
      return undefined;
    }
    out.response_code = code;
  }
  return out;
}

/** Istio's ApplyDirectResponse: the status and an inline body (a string, or base64 bytes). */
function buildDirectResponse(dr: HTTPDirectResponse, field: string, problems: RouteProblems): DirectResponseAction | undefined {
  const status = dr.status ?? 0;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    problems.error('invalid-route', `${field}.status`, `status ${status} must be an HTTP status within 200..599.`);
    return undefined;
  }
  const out: DirectResponseAction = { status };
  if (dr.body?.string !== undefined && dr.body.bytes !== undefined) {
    problems.error('invalid-route', `${field}.body`, 'set only one of string and bytes.');
    return undefined;
  }
  if (dr.body?.string !== undefined) out.body = { inline_string: dr.body.string };
  else if (dr.body?.bytes !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(dr.body.bytes) || dr.body.bytes.length % 4 !== 0) {
      problems.error('invalid-route', `${field}.body.bytes`, 'bytes must be base64 (e.g. "aGVsbG8=" for "hello").');
      return undefined;
    }
    out.body = { inline_bytes: dr.body.bytes };
  }
  return out;
}

/** rewrite.uri (prefix_rewrite) or rewrite.uriRegexRewrite (regex_rewrite), and rewrite.authority. */
function applyRewrite(http: HTTPRoute, action: RouteAction, field: string, problems: RouteProblems): void {
  const rewrite = http.rewrite;
  if (!rewrite) return;
  const regex = rewrite.uriRegexRewrite;
  if (regex && rewrite.uri !== undefined) {
    problems.error('invalid-route', `${field}.rewrite`, 'set only one of uri and uriRegexRewrite.');
  } else if (regex) {
    const problem = regexProblem(regex.match ?? '');
    if (!regex.match) problems.error('invalid-route', `${field}.rewrite.uriRegexRewrite.match`, 'match is required (an RE2 regex on the path).');
    else if (problem) problems.error('invalid-route', `${field}.rewrite.uriRegexRewrite.match`, problem + '.');
    else action.regex_rewrite = { pattern: { regex: regex.match }, substitution: regex.rewrite ?? '' };
  } else if (rewrite.uri !== undefined) action.prefix_rewrite = rewrite.uri;
  if (rewrite.authority !== undefined) action.host_rewrite_literal = rewrite.authority;
}

/**
 * Istio's catch-all: a route matching every path (prefix "/" or the regex ".*") with no other condition.
 * A VirtualService's routes after its first catch-all are left out (Envoy could never reach them), and
 * gateways move catch-alls to the end of a virtual host merged from several VirtualServices.
 */
export function isCatchAll(route: Route): boolean {
  const m = route.match as Route['match'] & { prefix?: string; safe_regex?: { regex: string } };
  if ((m.headers?.length ?? 0) > 0 || (m.query_parameters?.length ?? 0) > 0) return false;
  return m.prefix === '/' || m.safe_regex?.regex === '.*';
}

/** The Envoy routes one VirtualService contributes to a virtual host in `scope`. */
export function buildVirtualServiceRoutes(ctx: TranslationContext, vs: IstioObject<VirtualService>, scope: RouteScope): Route[] {
  const out: Route[] = [];
  let caughtAll = false;
  // Delegations are merged first (a root route that cannot be merged is left out, reported there).
  for (const unit of expandDelegates(vs, ctx.virtualServices, ctx.domainSuffix, ctx.problems)) {
    const { http, field } = unit;
    const problems = new RouteProblems(ctx, unit.ref);
    const matches = (http.match && http.match.length > 0 ? http.match : [{}]).map((m, j) => ({ m, j }));
    const applicable = matches.filter(({ m }) => matchApplies(m, vs, scope));
    if (applicable.length === 0) continue;

    let action: { route: RouteAction } | { redirect: RedirectAction } | { direct_response: DirectResponseAction } | undefined;
    const actions = [http.route && http.route.length > 0 ? 'route' : '', http.redirect ? 'redirect' : '', http.directResponse ? 'directResponse' : ''].filter(Boolean);
    if (actions.length > 1) {
      problems.error('invalid-route', field, `set only one of route, redirect, directResponse (found ${actions.join(', ')}).`);
    } else if (http.redirect || http.directResponse) {
      const what = http.redirect ? 'redirect' : 'directResponse';
      if (scope.proxyless) {
        problems.warn('unsupported-by-proxyless', `${field}.${what}`,
          `proxyless gRPC clients only forward to clusters (no ${what === 'redirect' ? 'redirects' : 'local answers'}); this route is left out of their config.`);
        continue;
      }
      if (http.redirect) {
        const redirect = buildRedirect(http, field, problems);
        if (redirect) action = { redirect };
      } else {
        const direct = buildDirectResponse(http.directResponse!, `${field}.directResponse`, problems);
        if (direct) action = { direct_response: direct };
      }
    } else if (http.route && http.route.length > 0) {
      const routeAction = buildDestinations(ctx, vs, http, field, scope, problems);
      if (routeAction) {
        const timeout = duration(http.timeout, `${field}.timeout`, problems);
        // Istio disables Envoy's 15 s default route timeout unless the VirtualService sets one.
        routeAction.timeout = timeout ?? { seconds: 0, nanos: 0 };
        if (scope.proxyless && timeout) routeAction.max_stream_duration = { max_stream_duration: timeout };
        const retry = retryPolicy(http.retries, `${field}.retries`, problems);
        if (retry) routeAction.retry_policy = retry;
        applyDestinationHashes(ctx, routeAction, http.route, vs.namespace, scope.proxyless);
        const mirrors: Array<{ destination: Destination; percentage: Percent | undefined; at: string; pctField: string }> = [];
        if (http.mirror) mirrors.push({ destination: http.mirror, percentage: http.mirrorPercentage, at: `${field}.mirror`, pctField: `${field}.mirrorPercentage` });
        (http.mirrors ?? []).forEach((m, i) =>
          mirrors.push({ destination: m.destination, percentage: m.percentage, at: `${field}.mirrors[${i}].destination`, pctField: `${field}.mirrors[${i}].percentage` }),
        );
        const policies: RequestMirrorPolicy[] = [];
        for (const m of mirrors) {
          const mirror = resolveDestination(ctx, m.destination, vs.namespace, m.at, scope.service, scope.port);
          const pct = fractionOf(m.percentage, 100);
          if (isIssue(mirror)) problems.error(mirror.code, mirror.field, mirror.message);
          else if (mirror.dangling) {
            // Envoy skips a shadow whose cluster does not exist; nothing would be mirrored.
            problems.warn(mirror.dangling.code, mirror.dangling.field, `${mirror.dangling.message} Nothing is mirrored until it is fixed.`);
          } else if (typeof pct === 'string') problems.error('invalid-percentage', m.pctField, pct + '.');
          else policies.push({ cluster: mirror.cluster, runtime_fraction: { default_value: pct } });
        }
        if (policies.length > 0) routeAction.request_mirror_policies = policies;
        applyRewrite(http, routeAction, field, problems);
        action = { route: routeAction };
      }
    } else {
      problems.error('invalid-route', field, 'an http route needs a route (destinations), a redirect, a directResponse or a delegate.');
    }

    let cors: CorsPolicy | undefined;
    if (http.corsPolicy) {
      if (scope.proxyless) {
        problems.warn('unsupported-by-proxyless', `${field}.corsPolicy`,
          'proxyless gRPC clients have no CORS filter (browsers do not call them); the policy is left out of their config.');
      } else cors = translateCorsPolicy(http.corsPolicy, `${field}.corsPolicy`, (f, m) => problems.error('invalid-route', f, m));
    }

    let fault: HttpFault | undefined;
    if (http.fault) fault = faultConfig(http.fault, `${field}.fault`, problems);

    const routes: Route[] = [];
    for (const { m, j } of applicable) {
      const matchField = j >= 0 ? `${field}.match[${j}]` : `${field}.match`;
      const translated = translateMatch(m, matchField, { ingressSemantics: vs.derivedFrom?.kind === 'Ingress' });
      for (const issue of translated.issues) problems.error('invalid-match', issue.field, issue.message + '.');
      if (!translated.match || !action) continue;
      const baseName = http.name ?? unit.name;
      const route: Route = {
        name: m.name ? `${baseName}.${m.name}` : baseName,
        match: translated.match,
        metadata: istioConfigMetadata(configPath(vs)),
        ...action,
      };
      const req = headerOptions(http.headers?.request);
      const res = headerOptions(http.headers?.response);
      if (req.add) route.request_headers_to_add = req.add;
      if (req.remove) route.request_headers_to_remove = req.remove;
      if (res.add) route.response_headers_to_add = res.add;
      if (res.remove) route.response_headers_to_remove = res.remove;
      if (fault || cors) {
        route.typed_per_filter_config = {};
        if (fault) route.typed_per_filter_config[FAULT_FILTER_NAME] = fault;
        if (cors) route.typed_per_filter_config[CORS_FILTER_NAME] = cors;
      }
      routes.push(route);
    }
    // Routes after a catch-all are still checked (their problems reported) but not sent.
    if (!problems.failed && !caughtAll) {
      out.push(...routes);
      if (routes.some(isCatchAll)) caughtAll = true;
    }
  }
  return out;
}

/** The route Istio gives a service without a VirtualService: everything to the service's port. */
export function defaultRoute(hostname: string, port: number, cluster: string): Route {
  return {
    name: 'default',
    match: { prefix: '/' },
    route: { cluster, timeout: { seconds: 0, nanos: 0 }, retry_policy: DEFAULT_RETRY_POLICY },
    metadata: { filter_metadata: { istio: { fields: { service: { string_value: `${hostname}:${port}` } } } } },
  };
}
