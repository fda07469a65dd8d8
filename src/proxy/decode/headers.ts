// Header matchers, string matchers and header mutations shared by routes, virtual hosts and route tables.

import type { HeaderMatcher, HeaderMutations, HeaderToAdd, QueryParamMatcher, StringMatcher } from '../model/route.js';
import { bool, fullRegex, isObj, join, num, obj, objs, str, strs, type Obj, type Problems } from './fields.js';

/** envoy.type.matcher.v3.StringMatcher. */
export function decodeStringMatcher(o: Obj, path: string, p: Problems): StringMatcher | undefined {
  const ignoreCase = bool(o, 'ignore_case', path, p) ?? false;
  for (const kind of ['exact', 'prefix', 'suffix', 'contains'] as const) {
    const v = str(o, kind, path, p);
    if (v !== undefined) return { kind, value: ignoreCase ? v.toLowerCase() : v, ignoreCase };
  }
  const re = obj(o, 'safe_regex', path, p);
  if (re) {
    const pattern = str(re, 'regex', join(path, 'safe_regex'), p) ?? '';
    const regex = fullRegex(pattern, join(join(path, 'safe_regex'), 'regex'), p, ignoreCase ? 'i' : '');
    return regex ? { kind: 'regex', regex } : undefined;
  }
  p.add(path, 'one of exact, prefix, suffix, contains, safe_regex is required');
  return undefined;
}

/** envoy.config.route.v3.HeaderMatcher, including the deprecated *_match fields Istio still emits. */
export function decodeHeaderMatcher(o: Obj, path: string, p: Problems): HeaderMatcher | undefined {
  const name = str(o, 'name', path, p);
  if (!name) {
    p.add(join(path, 'name'), 'is required');
    return undefined;
  }
  const invert = bool(o, 'invert_match', path, p) ?? false;
  const treatMissingAsEmpty = bool(o, 'treat_missing_header_as_empty', path, p) ?? false;
  const base = { name: name.toLowerCase(), invert, treatMissingAsEmpty };
  const sm = obj(o, 'string_match', path, p);
  if (sm) {
    const matcher = decodeStringMatcher(sm, join(path, 'string_match'), p);
    return matcher && { ...base, value: { kind: 'string', matcher } };
  }
  for (const [field, kind] of [['exact_match', 'exact'], ['prefix_match', 'prefix'], ['suffix_match', 'suffix'], ['contains_match', 'contains']] as const) {
    const v = str(o, field, path, p);
    if (v !== undefined) return { ...base, value: { kind: 'string', matcher: { kind, value: v, ignoreCase: false } } };
  }
  const re = obj(o, 'safe_regex_match', path, p);
  if (re) {
    const regex = fullRegex(str(re, 'regex', join(path, 'safe_regex_match'), p) ?? '', join(path, 'safe_regex_match.regex'), p);
    return regex && { ...base, value: { kind: 'string', matcher: { kind: 'regex', regex } } };
  }
  const range = obj(o, 'range_match', path, p);
  if (range) {
    const start = num(range, 'start', join(path, 'range_match'), p) ?? 0;
    const end = num(range, 'end', join(path, 'range_match'), p) ?? 0;
    return { ...base, value: { kind: 'range', start, end } };
  }
  const present = bool(o, 'present_match', path, p);
  // A matcher with no value matcher at all matches on presence (Envoy's behaviour).
  return { ...base, value: { kind: 'present', present: present ?? true } };
}

export function decodeQueryParamMatcher(o: Obj, path: string, p: Problems): QueryParamMatcher | undefined {
  const name = str(o, 'name', path, p);
  if (!name) {
    p.add(join(path, 'name'), 'is required');
    return undefined;
  }
  const sm = obj(o, 'string_match', path, p);
  if (sm) {
    const matcher = decodeStringMatcher(sm, join(path, 'string_match'), p);
    return matcher && { name, value: { kind: 'string', matcher } };
  }
  return { name, value: { kind: 'present', present: bool(o, 'present_match', path, p) ?? true } };
}

function decodeHeadersToAdd(o: Obj, key: string, path: string, p: Problems): HeaderToAdd[] {
  const out: HeaderToAdd[] = [];
  for (const { value: item, path: itemPath } of objs(o, key, path, p)) {
    const header = obj(item, 'header', itemPath, p);
    if (!header) {
      p.add(join(itemPath, 'header'), 'is required');
      continue;
    }
    const name = str(header, 'key', join(itemPath, 'header'), p);
    if (!name) {
      p.add(join(itemPath, 'header.key'), 'is required');
      continue;
    }
    const value = str(header, 'value', join(itemPath, 'header'), p) ?? '';
    const appendWrapper = isObj(item['append']) ? item['append'] : undefined;
    const action = str(item, 'append_action', itemPath, p);
    let append = appendWrapper ? appendWrapper['value'] === true : false;
    let onlyIfAbsent = false;
    if (action === 'APPEND_IF_EXISTS_OR_ADD') append = true;
    else if (action === 'OVERWRITE_IF_EXISTS_OR_ADD') append = false;
    else if (action === 'ADD_IF_ABSENT') onlyIfAbsent = true;
    else if (action === 'OVERWRITE_IF_EXISTS') p.add(join(itemPath, 'append_action'), 'OVERWRITE_IF_EXISTS is not supported');
    // With neither append nor append_action Envoy appends for request/response headers_to_add.
    if (!appendWrapper && action === undefined) append = true;
    out.push({ name: name.toLowerCase(), value, append, onlyIfAbsent });
  }
  return out;
}

export function decodeHeaderMutations(o: Obj, path: string, p: Problems): HeaderMutations {
  return {
    requestToAdd: decodeHeadersToAdd(o, 'request_headers_to_add', path, p),
    requestToRemove: strs(o, 'request_headers_to_remove', path, p).map((h) => h.toLowerCase()),
    responseToAdd: decodeHeadersToAdd(o, 'response_headers_to_add', path, p),
    responseToRemove: strs(o, 'response_headers_to_remove', path, p).map((h) => h.toLowerCase()),
  };
}
