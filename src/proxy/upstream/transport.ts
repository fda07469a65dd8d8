// How an upstream connection is made: plain TCP, or TLS per the cluster's transport socket for that
// endpoint (transport_socket_matches against the endpoint's `envoy.transport_socket_match` metadata,
// else the cluster's transport_socket). A TLS connection reads the secrets current when it is made, so
// a rotated certificate is used by new connections and open ones keep theirs.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Cluster, Endpoint } from '../model/cluster.js';
import type { UpstreamTls, UpstreamTransportSpec } from '../model/tls.js';
import { clientOptions, secureContext } from '../tls/contexts.js';
import type { SecretResolver } from '../tls/secrets.js';

export interface UpstreamConnector {
  /** TLS: the connection is usable on 'secureConnect', and a failed handshake is a connect failure. */
  readonly secure: boolean;
  connect(host: string, port: number, options?: { allowHalfOpen?: boolean }): net.Socket;
}

const RAW: UpstreamTransportSpec = { kind: 'raw' };

/** Envoy's choice: the first transport_socket_matches entry whose every field equals the endpoint's metadata. */
export function transportFor(cluster: Cluster, endpoint: Endpoint): UpstreamTransportSpec {
  for (const m of cluster.transportSocketMatches ?? []) {
    const meta = endpoint.transportMatch ?? {};
    if (Object.entries(m.match).every(([k, v]) => k in meta && JSON.stringify(meta[k]) === JSON.stringify(v))) return m.transport;
  }
  return cluster.transport ?? RAW;
}

/** A stable key of a transport (pools are per transport: a change of it means new connections). */
export function transportKey(t: UpstreamTransportSpec): string {
  return t.kind === 'raw' ? 'raw' : JSON.stringify(t.tls, (_k, v: unknown) => (v instanceof RegExp ? v.source : v));
}

/**
 * `sourceAddress`: the pod IP upstream connections leave from (Envoy's bootstrap upstream_bind_config),
 * for loopback destinations only: here every pod IP is a loopback address, and a loopback source cannot
 * reach anything else.
 */
export function connectorFor(t: UpstreamTransportSpec, secrets: SecretResolver | undefined, sourceAddress?: string): UpstreamConnector | undefined {
  if (t.kind === 'raw') return sourceAddress ? rawConnector(sourceAddress) : undefined;
  return tlsConnector(t.tls, secrets, sourceAddress);
}

/** The local address to bind for a connection to `host`, if any. */
export function bindFor(host: string, sourceAddress: string | undefined): { localAddress: string } | Record<string, never> {
  return sourceAddress && net.isIPv4(host) && host.startsWith('127.') ? { localAddress: sourceAddress } : {};
}

function rawConnector(sourceAddress: string): UpstreamConnector {
  return {
    secure: false,
    connect: (host, port, options) => net.connect({ host, port, noDelay: true, ...options, ...bindFor(host, sourceAddress) }),
  };
}

function tlsConnector(spec: UpstreamTls, secrets: SecretResolver | undefined, sourceAddress: string | undefined): UpstreamConnector {
  return {
    secure: true,
    connect(host, port, options) {
      const context = secrets ? secureContext(spec, secrets) : new Error('no secret source for upstream TLS');
      if (context instanceof Error) {
        // As a cluster whose secret has not arrived: the connection fails (Envoy keeps such a cluster warming).
        const s = new net.Socket();
        process.nextTick(() => s.destroy(context));
        return s;
      }
      return tls.connect({ host, port, ...options, ...bindFor(host, sourceAddress), ...clientOptions(spec, context) }).setNoDelay(true);
    },
  };
}
