// Envoy's filter chain selection, for the criteria this proxy supports, in Envoy's order: destination
// port, then server name (exact, then the longest `*.` suffix, then chains without names), then
// transport protocol (exact, then chains without one), then application protocols (chains naming one the
// ClientHello offers, then chains without any). A criterion narrows the candidates and later
// ones never go back to a less specific earlier choice. No candidate left: the default chain, if any.

import type { FilterChain, Listener } from '../model/listener.js';

export interface ConnectionFacts {
  destinationPort: number;
  /** From the tls_inspector; undefined without one, or when the ClientHello named none. */
  serverName: string | undefined;
  transportProtocol: 'tls' | 'raw_buffer';
  /** ALPN protocols the ClientHello offers (empty: none, or not TLS). */
  applicationProtocols: readonly string[];
}

function narrowByServerName(chains: FilterChain[], serverName: string | undefined): FilterChain[] {
  if (serverName) {
    const exact = chains.filter((c) => c.match.serverNames.includes(serverName));
    if (exact.length > 0) return exact;
    const labels = serverName.split('.');
    for (let i = 1; i < labels.length; i++) {
      const wildcard = `*.${labels.slice(i).join('.')}`;
      const matched = chains.filter((c) => c.match.serverNames.includes(wildcard));
      if (matched.length > 0) return matched;
    }
  }
  return chains.filter((c) => c.match.serverNames.length === 0);
}

export function selectFilterChain(listener: Listener, facts: ConnectionFacts): FilterChain | undefined {
  let chains = listener.chains.filter((c) => c.match.destinationPort === facts.destinationPort);
  if (chains.length === 0) chains = listener.chains.filter((c) => c.match.destinationPort === undefined);
  chains = narrowByServerName(chains, facts.serverName);
  const exact = chains.filter((c) => c.match.transportProtocol === facts.transportProtocol);
  chains = exact.length > 0 ? exact : chains.filter((c) => c.match.transportProtocol === undefined);
  const offered = chains.filter((c) => c.match.applicationProtocols.some((a) => facts.applicationProtocols.includes(a)));
  chains = offered.length > 0 ? offered : chains.filter((c) => c.match.applicationProtocols.length === 0);
  return chains[0] ?? listener.defaultChain;
}
