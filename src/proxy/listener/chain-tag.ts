// The filter chain a downstream connection was matched to, kept with the socket the HTTP servers read
// (the TLS socket of a terminated chain, the raw one otherwise; HTTP/2 sessions reach it through
// h2SessionSockets), so that each request goes to the connection manager of its own chain.

import type { FilterChain } from '../model/listener.js';

const CHAIN = Symbol('meshwork.filterChain');

type Tagged = { [CHAIN]?: FilterChain };

export function tagChain(socket: object, chain: FilterChain): void {
  (socket as Tagged)[CHAIN] = chain;
}

/** The chain of the connection a request came on; undefined for a socket no chain was chosen for. */
export function chainOf(socket: unknown): FilterChain | undefined {
  return socket ? (socket as Tagged)[CHAIN] : undefined;
}
