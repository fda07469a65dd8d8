// Header mutations (request/response headers to add and remove) at route, virtual host and route table
// level, applied in Envoy's order (most_specific_header_mutations_wins false, its default): the most
// specific level first (weighted cluster, route, virtual host, route table), each level removing then
// adding, so the route table's level wins on overwrite and appended values come most specific first.

import type { HeaderMutations, HeaderToAdd } from '../model/route.js';

/** Lower-case names; repeated headers as arrays. */
export type HeaderRecord = Record<string, string | string[]>;

function add(headers: HeaderRecord, h: HeaderToAdd): void {
  const existing = headers[h.name];
  if (h.onlyIfAbsent) {
    if (existing === undefined) headers[h.name] = h.value;
  } else if (h.append && existing !== undefined) {
    headers[h.name] = [...(Array.isArray(existing) ? existing : [existing]), h.value];
  } else {
    headers[h.name] = h.value;
  }
}

/** Levels from least to most specific (route table, virtual host, route, weighted cluster). */
export function applyRequestMutations(headers: HeaderRecord, levels: readonly HeaderMutations[]): void {
  for (let i = levels.length - 1; i >= 0; i--) {
    const level = levels[i];
    for (const name of level.requestToRemove) delete headers[name];
    for (const h of level.requestToAdd) add(headers, h);
  }
}

export function applyResponseMutations(headers: HeaderRecord, levels: readonly HeaderMutations[]): void {
  for (let i = levels.length - 1; i >= 0; i--) {
    const level = levels[i];
    for (const name of level.responseToRemove) delete headers[name];
    for (const h of level.responseToAdd) add(headers, h);
  }
}

/** Hop-by-hop headers (RFC 9110 7.6.1) plus the ones HTTP/2 forbids: never forwarded by a proxy. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** Copies headers without hop-by-hop ones (and those named in Connection) or pseudo-headers. */
export function forwardableHeaders(input: Readonly<Record<string, string | string[] | undefined>>): HeaderRecord {
  // Runs twice per request: no allocation beyond the copy unless a Connection header lists names.
  let connectionListed: Set<string> | undefined;
  const conn = input['connection'];
  if (conn !== undefined) {
    connectionListed = new Set<string>();
    for (const v of Array.isArray(conn) ? conn : [conn]) {
      for (const token of v.split(',')) connectionListed.add(token.trim().toLowerCase());
    }
  }
  const out: HeaderRecord = {};
  for (const rawName of Object.keys(input)) {
    const value = input[rawName];
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (name.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(name) || connectionListed?.has(name)) continue;
    // gRPC needs "te: trailers" end to end over HTTP/2; it is the one TE value allowed there.
    out[name] = value;
  }
  const te = input['te'];
  if (typeof te === 'string' && te.trim().toLowerCase() === 'trailers') out['te'] = 'trailers';
  return out;
}

export function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Drops undefined values (Node's and undici's header objects allow them). */
export function definedHeaders(input: Readonly<Record<string, string | string[] | number | undefined>>): HeaderRecord {
  const out: HeaderRecord = {};
  for (const name of Object.keys(input)) {
    const value = input[name];
    if (value === undefined) continue;
    out[name.toLowerCase()] = typeof value === 'number' ? String(value) : value;
  }
  return out;
}
