// Istio HTTPMatchRequest -> Envoy RouteMatch. Returns the problems instead of throwing so the caller
// can leave just the offending route out.

import type { HTTPMatchRequest, StringMatch } from '../config/istio-types.js';
import type { HeaderMatcher, QueryParameterMatcher, RouteMatch, StringMatcher } from './envoy-types.js';

export interface MatchIssue {
  field: string;
  message: string;
}

type Which = { kind: 'exact' | 'prefix' | 'regex'; value: string } | { kind: 'empty' } | { kind: 'invalid'; message: string };

function whichMatch(match: StringMatch | undefined): Which {
  if (!match) return { kind: 'empty' };
  const set = (['exact', 'prefix', 'regex'] as const).filter((k) => typeof match[k] === 'string');
  if (set.length > 1) return { kind: 'invalid', message: `set only one of exact, prefix, regex (found ${set.join(', ')})` };
  if (set.length === 0) return { kind: 'empty' };
  const kind = set[0];
  const value = match[kind] ?? '';
  if (kind === 'regex') {
    const problem = regexProblem(value);
    if (problem) return { kind: 'invalid', message: problem };
  }
  return { kind, value };
}

/** Envoy evaluates regexes with RE2: reject what RE2 or any regex engine would refuse. */
export function regexProblem(regex: string): string | undefined {
  if (/\(\?<?[=!]/.test(regex)) return `regex "${regex}" uses a lookaround, which RE2 (Envoy's regex engine) does not support`;
  if (/\\[1-9]/.test(regex)) return `regex "${regex}" uses a back-reference, which RE2 (Envoy's regex engine) does not support`;
  try {
    new RegExp(regex);
  } catch (error) {
    return `regex "${regex}" does not compile: ${(error as Error).message}`;
  }
  return undefined;
}

function stringMatcher(which: { kind: 'exact' | 'prefix' | 'regex'; value: string }): StringMatcher {
  if (which.kind === 'exact') return { exact: which.value };
  if (which.kind === 'prefix') return { prefix: which.value };
  return { safe_regex: { regex: which.value } };
}

/**
 * Istio's translateHeaderMatch: an empty StringMatch, or the regex "*" (a wildcard, not RE2), means the
 * header is present; an inverted value match (withoutHeaders) treats a missing header as empty, so that
 * a match the empty value satisfies excludes requests without the header too.
 */
function headerMatcher(name: string, match: StringMatch | undefined, field: string, issues: MatchIssue[], invert = false): HeaderMatcher | undefined {
  const base = invert ? { name, invert_match: true } : { name };
  if (match?.regex === '*' && match.exact === undefined && match.prefix === undefined) return { ...base, present_match: true };
  const which = whichMatch(match);
  if (which.kind === 'invalid') {
    issues.push({ field, message: which.message });
    return undefined;
  }
  if (which.kind === 'empty') return { ...base, present_match: true };
  return { ...base, string_match: stringMatcher(which), ...(invert ? { treat_missing_header_as_empty: true } : {}) };
}

export interface MatchOptions {
  /**
   * Ingress route semantics (config derived from a Kubernetes Ingress): a prefix other than "/" matches
   * whole path segments, as Istio translates it (path_separated_prefix, without a trailing "/").
   */
  ingressSemantics?: boolean;
}

/** Envoy's rule for path_separated_prefix: no query or fragment, and no trailing "/". */
function separatedPrefixProblem(prefix: string): string | undefined {
  if (/[?#]/.test(prefix)) return `a path prefix must not contain "?" or "#" (got "${prefix}")`;
  if (prefix.endsWith('/')) return `a path prefix matched by whole segments must not end with "/" once one trailing "/" is removed (got "${prefix}/")`;
  return undefined;
}

export function translateMatch(match: HTTPMatchRequest, field: string, opts: MatchOptions = {}): { match?: RouteMatch; issues: MatchIssue[] } {
  const issues: MatchIssue[] = [];
  const uri = whichMatch(match.uri);
  let path: RouteMatch;
  if (uri.kind === 'invalid') {
    issues.push({ field: `${field}.uri`, message: uri.message });
    return { issues };
  } else if (uri.kind === 'empty') path = { prefix: '/' };
  else if (uri.kind === 'exact') path = { path: uri.value };
  else if (uri.kind === 'prefix' && opts.ingressSemantics && uri.value !== '/') {
    const separated = uri.value.endsWith('/') ? uri.value.slice(0, -1) : uri.value;
    const problem = separatedPrefixProblem(separated);
    if (problem) issues.push({ field: `${field}.uri`, message: problem });
    path = { path_separated_prefix: separated };
  } else if (uri.kind === 'prefix') path = { prefix: uri.value };
  else path = { safe_regex: { regex: uri.value } };
  if (uri.kind !== 'empty' && uri.kind !== 'regex' && !uri.value.startsWith('/')) {
    issues.push({ field: `${field}.uri`, message: `a path match must start with "/" (got "${uri.value}")` });
  }

  const headers: HeaderMatcher[] = [];
  const pseudo: Array<[keyof HTTPMatchRequest & ('scheme' | 'method' | 'authority'), string]> = [
    ['scheme', ':scheme'],
    ['method', ':method'],
    ['authority', ':authority'],
  ];
  for (const [key, header] of pseudo) {
    if (match[key] === undefined) continue;
    const which = whichMatch(match[key]);
    if (which.kind === 'empty') continue;
    const h = headerMatcher(header, match[key], `${field}.${key}`, issues);
    if (h) headers.push(h);
  }
  for (const [name, value] of Object.entries(match.headers ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const h = headerMatcher(name.toLowerCase(), value, `${field}.headers.${name}`, issues);
    if (h) headers.push(h);
  }
  for (const [name, value] of Object.entries(match.withoutHeaders ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const h = headerMatcher(name.toLowerCase(), value, `${field}.withoutHeaders.${name}`, issues, true);
    if (h) headers.push(h);
  }
  const queryParameters: QueryParameterMatcher[] = [];
  for (const [name, value] of Object.entries(match.queryParams ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const which = whichMatch(value);
    if (which.kind === 'invalid') issues.push({ field: `${field}.queryParams.${name}`, message: which.message });
    else if (which.kind === 'empty') queryParameters.push({ name, present_match: true });
    else queryParameters.push({ name, string_match: stringMatcher(which) });
  }
  if (issues.length > 0) return { issues };
  const out: RouteMatch = { ...path };
  if (match.ignoreUriCase) out.case_sensitive = { value: false };
  if (headers.length > 0) out.headers = headers;
  if (queryParameters.length > 0) out.query_parameters = queryParameters;
  return { match: out, issues };
}
