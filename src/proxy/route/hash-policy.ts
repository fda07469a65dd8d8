// A request's consistent-hash key from its route's hash_policy, as Envoy's HashPolicyImpl computes it:
// each policy that yields a value is xxHash64 of that value, folded into the key by rotating the key
// left one bit and XORing (so two equal policies do not cancel out); a terminal policy that yielded a
// value ends the walk. A cookie policy with a ttl whose cookie is absent makes the cookie: its value is
// xxHash64 of the downstream connection's remote and local addresses in hex, sent back in Set-Cookie,
// and hashed like a received one, so the next request carrying it lands on the same host.

import { xxHash64 } from '../cluster/xxhash64.js';
import type { HeaderRecord } from '../filters/headers.js';
import type { HashPolicy } from '../model/route.js';

const MASK = (1n << 64n) - 1n;

export interface HashInput {
  method: string;
  authority: string;
  path: string;
  headers: HeaderRecord;
  /** The downstream connection: remote and local addresses (ip, port). */
  remote: { address: string; port: number };
  local: { address: string; port: number };
}

export interface HashResult {
  hash: bigint | undefined;
  /** Set-Cookie values to add to the response (cookies generated for this request). */
  setCookies: string[];
}

function headerValues(input: HashInput, name: string): string[] {
  if (name === ':authority' || name === 'host') return input.authority ? [input.authority] : [];
  if (name === ':path') return [input.path];
  if (name === ':method') return [input.method];
  const v = input.headers[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Envoy's Utility::parseCookieValue: the first cookie of that name in any Cookie header, quotes removed. */
export function cookieValue(headers: HeaderRecord, name: string): string {
  const raw = headers['cookie'];
  for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      if (v) return v;
    }
  }
  return '';
}

function queryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  for (const pair of path.slice(q + 1).split('#')[0]!.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

const hostPort = (a: { address: string; port: number }): string => (a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);

/** Envoy's Http::Utility::makeSetCookieValue, HttpOnly as the router asks for it. */
function setCookieValue(p: Extract<HashPolicy, { kind: 'cookie' }>, value: string): string {
  let out = `${p.name}="${value}"`;
  if (p.ttlSeconds) out += `; Max-Age=${p.ttlSeconds}`;
  if (p.path) out += `; Path=${p.path}`;
  for (const a of p.attributes) out += a.value ? `; ${a.name}=${a.value}` : `; ${a.name}`;
  return `${out}; HttpOnly`;
}

function evaluate(p: HashPolicy, input: HashInput, setCookies: string[]): bigint | undefined {
  switch (p.kind) {
    case 'header': {
      const values = headerValues(input, p.name);
      // Envoy hashes several values of one header sorted and concatenated, so their order does not matter.
      return values.length === 0 ? undefined : xxHash64([...values].sort().join(''));
    }
    case 'cookie': {
      const value = cookieValue(input.headers, p.name);
      if (value) return xxHash64(value);
      if (p.ttlSeconds === undefined) return undefined;
      const made = xxHash64(hostPort(input.remote) + hostPort(input.local)).toString(16).padStart(16, '0');
      setCookies.push(setCookieValue(p, made));
      return xxHash64(made);
    }
    case 'source-ip':
      return input.remote.address ? xxHash64(input.remote.address) : undefined;
    case 'query': {
      const v = queryValue(input.path, p.name);
      return v === undefined ? undefined : xxHash64(v);
    }
  }
}

export function requestHash(policies: readonly HashPolicy[], input: HashInput): HashResult {
  const setCookies: string[] = [];
  let hash: bigint | undefined;
  for (const p of policies) {
    const h = evaluate(p, input, setCookies);
    if (h !== undefined) {
      const rotated = hash === undefined ? 0n : ((hash << 1n) | (hash >> 63n)) & MASK;
      hash = rotated ^ h;
    }
    if (p.terminal && hash !== undefined) break;
  }
  return { hash, setCookies };
}
