// Does an Istio HTTPMatchRequest select a request? Two halves, as pilot splits them: what depends on
// the sending proxy (gateways, port, sourceLabels, sourceNamespace) decides whether the condition
// exists in that proxy's routes at all; the rest (uri, headers, method, authority, scheme,
// queryParams) is Envoy's route match on the request. StringMatch regexes are RE2, matched whole.

import type { HTTPMatchRequest, StringMatch } from '../../config/istio-types.js';
import { Underivable, type IntentRequest, type IntentSource } from './model.js';
import { selects } from './names.js';

export interface ProxyScope {
  source: IntentSource;
  /** The listener port the request is sent to (a service port; a gateway server port). */
  port: number;
  /** `mesh` for a sidecar, `namespace/name` of the Gateway for a gateway. */
  gateway: string;
  /** The VirtualService's namespace: short gateway names resolve in it. */
  namespace: string;
}

/** `mesh` stays; `name` is a Gateway in the VirtualService's namespace; `ns/name` as written. */
export function gatewayName(name: string, namespace: string): string {
  return name === 'mesh' || name.includes('/') ? name : `${namespace}/${name}`;
}

/** Whether the condition applies to this proxy (pilot leaves it out of other proxies' routes). */
export function appliesToProxy(match: HTTPMatchRequest, scope: ProxyScope): boolean {
  if (match.gateways && match.gateways.length > 0 && !match.gateways.some((g) => gatewayName(g, scope.namespace) === scope.gateway)) return false;
  if (match.port !== undefined && match.port !== 0 && match.port !== scope.port) return false;
  if (match.sourceLabels && !selects(match.sourceLabels, scope.source.labels)) return false;
  if (match.sourceNamespace && match.sourceNamespace !== scope.source.namespace) return false;
  return true;
}

function compileRegex(regex: string, ignoreCase: boolean, field: string): RegExp {
  try {
    return new RegExp(`^(?:${regex})$`, ignoreCase ? 'i' : '');
  } catch (err) {
    throw new Underivable(`${field}: regex "${regex}" does not compile here (${(err as Error).message}); its result is not known`);
  }
}

/** A StringMatch against a value; `undefined` value = absent. An empty StringMatch means "present". */
export function stringMatches(match: StringMatch, value: string | undefined, field: string, ignoreCase = false): boolean {
  if (value === undefined) return false;
  const fold = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  if (typeof match.exact === 'string') return fold(value) === fold(match.exact);
  if (typeof match.prefix === 'string') return fold(value).startsWith(fold(match.prefix));
  if (typeof match.regex === 'string') return compileRegex(match.regex, ignoreCase, field).test(value);
  return true;
}

interface ParsedRequest {
  path: string;
  query: URLSearchParams;
  method: string;
  authority: string;
  headers: Map<string, string>;
  unknown: Set<string>;
}

function parseRequest(request: IntentRequest): ParsedRequest {
  const q = request.path.indexOf('?');
  const headers = new Map(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    path: q >= 0 ? request.path.slice(0, q) : request.path,
    query: new URLSearchParams(q >= 0 ? request.path.slice(q + 1) : ''),
    method: (request.method ?? 'GET').toUpperCase(),
    authority: request.host,
    headers,
    unknown: new Set((request.unknownHeaders ?? []).map((h) => h.toLowerCase())),
  };
}

function headerValue(req: ParsedRequest, name: string, field: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower === 'host' || lower === ':authority') return req.authority;
  if (lower === ':method') return req.method;
  if (lower === ':path') return req.path;
  if (req.unknown.has(lower)) throw new Underivable(`${field} tests header ${lower}, whose value the client sends but is not known here`);
  return req.headers.get(lower);
}

/** Whether Envoy's route match for this condition selects the request. */
export function matchesRequest(match: HTTPMatchRequest, request: IntentRequest, field: string): boolean {
  const req = parseRequest(request);
  if (match.uri && !stringMatches(match.uri, req.path, `${field}.uri`, match.ignoreUriCase === true)) return false;
  if (match.method && !stringMatches(match.method, req.method, `${field}.method`)) return false;
  if (match.authority && !stringMatches(match.authority, req.authority, `${field}.authority`)) return false;
  if (match.scheme && !stringMatches(match.scheme, 'http', `${field}.scheme`)) return false;
  // Istio: a header regex "*" is a wildcard meaning "present", not RE2; withoutHeaders treats a missing
  // header as empty for value matches (treat_missing_header_as_empty).
  const presence = (m: StringMatch): StringMatch => (m.regex === '*' && m.exact === undefined && m.prefix === undefined ? {} : m);
  for (const [name, m] of Object.entries(match.headers ?? {})) {
    if (!stringMatches(presence(m), headerValue(req, name, `${field}.headers.${name}`), `${field}.headers.${name}`)) return false;
  }
  for (const [name, raw] of Object.entries(match.withoutHeaders ?? {})) {
    const m = presence(raw);
    const value = headerValue(req, name, `${field}.withoutHeaders.${name}`);
    const valueMatch = m.exact !== undefined || m.prefix !== undefined || m.regex !== undefined;
    if (stringMatches(m, value ?? (valueMatch ? '' : undefined), `${field}.withoutHeaders.${name}`)) return false;
  }
  for (const [name, m] of Object.entries(match.queryParams ?? {})) {
    const value = req.query.get(name) ?? undefined;
    if (!stringMatches(m, value, `${field}.queryParams.${name}`)) return false;
  }
  return true;
}
