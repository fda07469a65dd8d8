// One downstream request/response, the same whether it came over HTTP/1.1 or HTTP/2 (node:http2's
// compatibility API). Proxy-form HTTP/1.1 requests (absolute URI, as curl sends through http_proxy)
// are turned into origin-form with the authority taken from the URI.

import type * as http from 'node:http';
import * as http2 from 'node:http2';
import type { Readable } from 'node:stream';
import type * as net from 'node:net';
import { definedHeaders, type HeaderRecord } from '../filters/headers.js';
import { connectionTlsOf, type ConnectionTls } from '../tls/peer-certificate.js';

/**
 * The TCP connection under each HTTP/2 session. node:http2 runs a connection we hand it as a stream
 * (to replay the bytes read while sniffing the preface) and then knows no peer address: the listener
 * records the real socket here.
 */
export const h2SessionSockets = new WeakMap<http2.Http2Session, net.Socket>();

export interface DownstreamRequest {
  method: string;
  /** host[:port] as received (Envoy forwards its case unchanged), from the absolute URI, :authority, or Host. '' when none was given. */
  authority: string;
  /** Origin-form path with query. */
  path: string;
  scheme: string;
  protocol: 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';
  /** Lower-case names, without pseudo-headers. */
  headers: HeaderRecord;
  remoteAddress: string;
  /** The connection's other ends (consistent hashing on the source, generated cookies). */
  remotePort: number;
  localAddress: string;
  localPort: number;
  body: Readable;
  /** The TCP connection the request came on (for HTTP/2, the socket recorded for its session); undefined once an HTTP/2 session is gone. */
  socket: net.Socket | undefined;
  /** The connection's TLS (client certificate, our own URI SANs); undefined on plaintext. */
  tls: ConnectionTls | undefined;
  /** The request has no body (GET without Content-Length / Transfer-Encoding, or an ended HTTP/2 stream). */
  bodyless: boolean;
}

export type DownstreamResponse = http.ServerResponse | http2.Http2ServerResponse;

export function toDownstreamRequest(req: http.IncomingMessage | http2.Http2ServerRequest): DownstreamRequest {
  const headers = definedHeaders(req.headers);
  let authority = '';
  let path = req.url ?? '/';
  // HTTP/2 sessions run over a stream that replays the connection's first bytes: the real socket was recorded.
  const connection: net.Socket | undefined =
    req instanceof http2.Http2ServerRequest ? (req.stream.session ? h2SessionSockets.get(req.stream.session) ?? (req.socket as net.Socket) : undefined) : req.socket;
  const tls = connectionTlsOf(connection);
  let scheme = tls ? 'https' : 'http';
  let protocol: DownstreamRequest['protocol'];
  if (req instanceof http2.Http2ServerRequest) {
    protocol = 'HTTP/2';
    authority = req.authority ?? '';
    scheme = req.scheme ?? 'http';
  } else {
    protocol = req.httpVersion === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1';
    // Origin-form (the common case) starts with '/': only other forms need the regex.
    const absolute = path.charCodeAt(0) === 47 ? null : /^(https?):\/\/([^/?#]*)([^#]*)/i.exec(path);
    if (absolute) {
      // Proxy form: GET http://helloworld.sample:5000/hello HTTP/1.1 (RFC 9112 3.2.2: the URI's authority
      // wins over Host). Taken as written, port included, as Envoy does (no URL normalisation).
      scheme = absolute[1].toLowerCase();
      authority = absolute[2];
      path = absolute[3].startsWith('/') ? absolute[3] : `/${absolute[3]}`;
    } else {
      const host = headers['host'];
      authority = (Array.isArray(host) ? host[0] : host) ?? '';
    }
  }
  // Only HTTP/2 has pseudo-headers (':' is not a token character in an HTTP/1.1 field name).
  if (protocol === 'HTTP/2') for (const k of Object.keys(headers)) if (k.startsWith(':')) delete headers[k];
  delete headers['host'];
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  const bodyless =
    req instanceof http2.Http2ServerRequest ? req.stream.readableEnded || req.stream.endAfterHeaders : te === undefined && (cl === undefined || cl === '0');
  return {
    method: req.method ?? 'GET',
    authority,
    path,
    scheme,
    protocol,
    headers,
    remoteAddress: connection?.remoteAddress ?? '',
    remotePort: connection?.remotePort ?? 0,
    localAddress: connection?.localAddress ?? '',
    localPort: connection?.localPort ?? 0,
    body: req,
    socket: connection,
    tls,
    bodyless,
  };
}

/** Status and headers, then the response is for the body to write. */
export function writeHead(res: DownstreamResponse, status: number, headers: HeaderRecord): void {
  if (res instanceof http2.Http2ServerResponse) {
    res.writeHead(status, headers);
  } else {
    res.writeHead(status, headers);
  }
}

export function sendLocal(res: DownstreamResponse, status: number, body: string, headers: HeaderRecord): number {
  if (res.headersSent) {
    // Too late for a status: cut the stream so the client sees an error, not a truncated success.
    destroyResponse(res);
    return 0;
  }
  const buf = Buffer.from(body);
  const h: HeaderRecord = { ...headers, 'content-length': String(buf.length) };
  // A content-type the route set (response_headers_to_add) stays, as Envoy keeps it.
  if (buf.length > 0 && h['content-type'] === undefined) h['content-type'] = 'text/plain';
  writeHead(res, status, h);
  res.end(buf);
  return buf.length;
}

export function destroyResponse(res: DownstreamResponse): void {
  if (res instanceof http2.Http2ServerResponse) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  else res.destroy();
}

export function addTrailers(res: DownstreamResponse, trailers: HeaderRecord): void {
  if (Object.keys(trailers).length === 0) return;
  // HTTP/1.1 trailers need a chunked response announced with a Trailer header; only HTTP/2 (gRPC) gets them.
  if (res instanceof http2.Http2ServerResponse) res.addTrailers(trailers);
}

/** Writes a body chunk; false asks the caller to wait for 'drain'. */
export function writeChunk(res: DownstreamResponse, chunk: Buffer): boolean {
  return res instanceof http2.Http2ServerResponse ? res.write(chunk) : res.write(chunk);
}
