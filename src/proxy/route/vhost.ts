// Virtual host selection by Host / :authority, in Envoy's order: exact domain, then the longest
// suffix wildcard ('*.example.com'), then the longest prefix wildcard ('example.*'), then '*'.
// Matching is case-insensitive; the port, if present, is part of the host (Istio lists both forms).

import type { VirtualHost } from '../model/route.js';

export interface VirtualHostIndex {
  find(authority: string): VirtualHost | undefined;
}

export function buildVirtualHostIndex(vhosts: readonly VirtualHost[]): VirtualHostIndex {
  const exact = new Map<string, VirtualHost>();
  const suffixes: { suffix: string; vh: VirtualHost }[] = [];
  const prefixes: { prefix: string; vh: VirtualHost }[] = [];
  let any: VirtualHost | undefined;
  for (const vh of vhosts) {
    for (const d of vh.domains) {
      if (d === '*') any ??= vh;
      else if (d.startsWith('*')) suffixes.push({ suffix: d.slice(1), vh });
      else if (d.endsWith('*')) prefixes.push({ prefix: d.slice(0, -1), vh });
      else if (!exact.has(d)) exact.set(d, vh);
    }
  }
  suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  return {
    find(authority) {
      const host = authority.toLowerCase();
      const found = exact.get(host);
      if (found) return found;
      // The wildcard must stand for at least one character.
      for (const s of suffixes) if (host.length > s.suffix.length && host.endsWith(s.suffix)) return s.vh;
      for (const p of prefixes) if (host.length > p.prefix.length && host.startsWith(p.prefix)) return p.vh;
      return any;
    },
  };
}

/** The authority with its port removed (strip_any_host_port), IPv6-literal aware. */
export function stripPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end >= 0 ? authority.slice(0, end + 1) : authority;
  }
  const colon = authority.lastIndexOf(':');
  return colon >= 0 && authority.indexOf(':') === colon ? authority.slice(0, colon) : authority;
}

export function portOf(authority: string): number | undefined {
  const m = /:(\d+)$/.exec(authority);
  if (!m || (authority.startsWith('[') && !authority.includes(']:'))) return undefined;
  return Number(m[1]);
}
