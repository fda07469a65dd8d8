// Route matching, as Envoy's RouteMatch: path (prefix, exact, separated prefix, full-match regex),
// case sensitivity (which safe_regex ignores), header matchers (with invert) and query parameter
// matchers. The translator's simulate() uses these too, so there is one copy of Envoy's semantics.

import type { HeaderMatcher, QueryParamMatcher, RouteMatch, StringMatcher } from '../model/route.js';

/** What a matcher sees of a request. */
export interface MatchRequest {
  method: string;
  authority: string;
  /** Path with query, as received (after proxy-form normalisation). */
  path: string;
  scheme: string;
  /** Lower-case names; repeated headers joined with ','. */
  header(name: string): string | undefined;
}

export function matchString(m: StringMatcher, value: string): boolean {
  switch (m.kind) {
    case 'regex':
      return m.regex.test(value);
    case 'exact':
      return (m.ignoreCase ? value.toLowerCase() : value) === m.value;
    case 'prefix':
      return (m.ignoreCase ? value.toLowerCase() : value).startsWith(m.value);
    case 'suffix':
      return (m.ignoreCase ? value.toLowerCase() : value).endsWith(m.value);
    case 'contains':
      return (m.ignoreCase ? value.toLowerCase() : value).includes(m.value);
  }
}

function headerValue(req: MatchRequest, name: string): string | undefined {
  switch (name) {
    case ':method':
      return req.method;
    case ':authority':
    case 'host':
      return req.authority;
    case ':path':
      return req.path;
    case ':scheme':
      return req.scheme;
    default:
      return req.header(name);
  }
}

export function matchHeader(m: HeaderMatcher, req: MatchRequest): boolean {
  let value = headerValue(req, m.name);
  if (value === undefined && m.treatMissingAsEmpty) value = '';
  let result: boolean;
  if (m.value.kind === 'present') result = (value !== undefined) === m.value.present;
  else if (value === undefined) return false; // Envoy: a missing header fails the match even inverted.
  else if (m.value.kind === 'range') {
    const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
    result = n >= m.value.start && n < m.value.end;
  } else result = matchString(m.value.matcher, value);
  return m.invert ? !result : result;
}

/**
 * The first value of a query parameter as Envoy's route matching reads it (QueryParamsMulti::
 * parseQueryString): split on '&' and the first '=', nothing percent-decoded, '+' left as it is;
 * a name without '=' has the value ''.
 */
export function queryParam(query: string, name: string): string | undefined {
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if ((eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? '' : part.slice(eq + 1);
  }
  return undefined;
}

function matchQuery(m: QueryParamMatcher, query: string): boolean {
  const value = queryParam(query, m.name);
  if (m.value.kind === 'present') return (value !== undefined) === m.value.present;
  return value !== undefined && matchString(m.value.matcher, value);
}

function splitPath(path: string): { pathOnly: string; query: string } {
  const q = path.indexOf('?');
  return q < 0 ? { pathOnly: path, query: '' } : { pathOnly: path.slice(0, q), query: path.slice(q + 1) };
}

export function matchRoute(m: RouteMatch, req: MatchRequest): boolean {
  const { pathOnly, query } = splitPath(req.path);
  const p = m.path;
  const cmp = m.caseSensitive ? pathOnly : pathOnly.toLowerCase();
  switch (p.kind) {
    case 'connect':
      if (req.method !== 'CONNECT') return false;
      break;
    case 'prefix':
      if (!cmp.startsWith(m.caseSensitive ? p.value : p.value.toLowerCase())) return false;
      break;
    case 'path':
      if (cmp !== (m.caseSensitive ? p.value : p.value.toLowerCase())) return false;
      break;
    case 'separated-prefix': {
      const v = m.caseSensitive ? p.value : p.value.toLowerCase();
      if (!(cmp === v || cmp.startsWith(v + '/'))) return false;
      break;
    }
    case 'regex':
      if (!p.regex.test(pathOnly)) return false;
      break;
  }
  if (!m.headers.every((h) => matchHeader(h, req))) return false;
  if (m.queryParams.length > 0 && !m.queryParams.every((qm) => matchQuery(qm, query))) return false;
  return true;
}
