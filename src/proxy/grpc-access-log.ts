// The HCM's `envoy.access_loggers.http_grpc` logger on `envoy_accesslog_service`, as the meshwork
// proxy honours it: the pod's agent serves that service in process (as it serves `sds-grpc`), so each
// request's HTTPAccessLogEntry (the shape Envoy streams to the agent) is handed to the agent's sink
// with the logger's log_name. Only the fields the agent's Istio metrics read are filled.
import { responseFlagsOf, type HttpAccessLogEntry, type LogAddress } from '../telemetry/access-log-entry.js';

export type GrpcAccessLogSink = (logName: string, entry: HttpAccessLogEntry) => void;

/** What the connection manager knows of a finished request. */
export interface FinishedRequest {
  method: string;
  authority: string;
  path: string;
  protocol: 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The connection's peer, and the client as the trust boundary judged it (x-forwarded-for aware). */
  remote: { address: string; port: number };
  client: string;
  local: { address: string; port: number };
  /** The client certificate's URI SANs (undefined: no certificate) and ours, on a TLS connection. */
  peerUriSans: string[] | undefined;
  localUriSans: string[];
  /** `ip:port` of the upstream host, the cluster, when the request was forwarded. */
  upstreamHost: string | undefined;
  upstreamCluster: string | undefined;
  status: number;
  flags: readonly string[];
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
}

function address(host: string, port: number): LogAddress {
  return { socket_address: { address: host, port_value: port } };
}

function hostPort(key: string): LogAddress | undefined {
  const colon = key.lastIndexOf(':');
  if (colon <= 0) return undefined;
  return address(key.slice(0, colon).replace(/^\[|\]$/g, ''), Number(key.slice(colon + 1)));
}

/** Envoy's request_headers_bytes: the header map's size, names and values. */
function headerBytes(headers: FinishedRequest['headers']): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) bytes += name.length + Buffer.byteLength(v);
  }
  return bytes;
}

const PROTOCOL_VERSION = { 'HTTP/1.0': 'HTTP10', 'HTTP/1.1': 'HTTP11', 'HTTP/2': 'HTTP2' } as const;

const sans = (uris: readonly string[]) => ({ subject_alt_name: uris.map((uri) => ({ uri })) });

export function httpAccessLogEntry(r: FinishedRequest): HttpAccessLogEntry {
  const ms = Math.max(0, r.durationMs);
  const contentType = r.headers['content-type'];
  const upstream = r.upstreamHost ? hostPort(r.upstreamHost) : undefined;
  const tls = r.peerUriSans !== undefined || r.localUriSans.length > 0;
  return {
    common_properties: {
      downstream_remote_address: address(r.client, r.client === r.remote.address ? r.remote.port : 0),
      downstream_direct_remote_address: address(r.remote.address, r.remote.port),
      downstream_local_address: address(r.local.address, r.local.port),
      ...(tls ? { tls_properties: { ...(r.peerUriSans ? { peer_certificate_properties: sans(r.peerUriSans) } : {}), local_certificate_properties: sans(r.localUriSans) } } : {}),
      ...(upstream ? { upstream_remote_address: upstream } : {}),
      ...(r.upstreamCluster ? { upstream_cluster: r.upstreamCluster } : {}),
      response_flags: responseFlagsOf(r.flags),
      duration: { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) },
    },
    protocol_version: PROTOCOL_VERSION[r.protocol],
    request: {
      request_method: r.method,
      authority: r.authority,
      path: r.path,
      request_headers_bytes: headerBytes(r.headers),
      request_body_bytes: r.bytesReceived,
      ...(contentType !== undefined ? { request_headers: { 'content-type': Array.isArray(contentType) ? contentType.join(',') : contentType } } : {}),
    },
    response: {
      ...(r.status > 0 ? { response_code: { value: r.status } } : {}),
      response_body_bytes: r.bytesSent,
    },
  };
}
