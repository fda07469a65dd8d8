// Echo upstreams for the conformance table: HTTP/1.1, h2c and gRPC servers on 127.230.1.x that answer
// with what they received (their own name, the method, path and headers) as JSON, and keep a record
// of every request by its x-test-key so that mirrored copies can be looked up afterwards.
//
// Behaviour is driven by request headers, so that Envoy and the meshwork proxy see identical upstreams
// without any state to reset between them:
//   x-echo-status: N        answer N
//   x-echo-fail: N:STATUS   answer STATUS to the first N attempts of this x-test-key, then 200
//   x-echo-delay-ms: N      wait N ms before answering
// An upstream started with `status` always answers that status (a broken host).

import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { UpstreamView } from './case.js';

/** What an echo upstream saw: the body it answers with, as the clients read it back. */
export type SeenRequest = UpstreamView;

export interface EchoUpstream {
  name: string;
  host: string;
  port: number;
  /** Every request received, oldest first. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

export interface EchoOptions {
  host: string;
  protocol?: 'http1' | 'h2c' | 'grpc';
  /** Always answer this status (a broken host). */
  status?: number;
  /**
   * Terminate TLS (HTTP/1.1) with this certificate and require a client certificate from `caPem`; the
   * client certificate's URI SAN is recorded as the pseudo-header `x-seen-client-uri`.
   */
  tls?: { certPem: string; keyPem: string; caPem: string };
}

function flatHeaders(h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : String(v);
  return out;
}

const attempts = new Map<string, number>();

function countAttempt(upstream: string, headers: Record<string, string>): number {
  const key = `${upstream} ${headers['x-test-key'] ?? ''}`;
  const n = (attempts.get(key) ?? 0) + 1;
  attempts.set(key, n);
  return n;
}

/** The status the request asks for (x-echo-status / x-echo-fail), or the upstream's fixed one. */
function statusFor(opts: EchoOptions, headers: Record<string, string>, attempt: number): number {
  if (opts.status !== undefined) return opts.status;
  const fail = /^(\d+):(\d+)$/.exec(headers['x-echo-fail'] ?? '');
  if (fail && attempt <= Number(fail[1])) return Number(fail[2]);
  return Number(headers['x-echo-status'] ?? 200) || 200;
}

export async function startEchoUpstream(name: string, opts: EchoOptions): Promise<EchoUpstream> {
  const seen: SeenRequest[] = [];
  if (opts.protocol === 'grpc') return startGrpcUpstream(name, opts, seen);
  const sockets = new Set<net.Socket>();
  const connectionIds = new WeakMap<object, number>();
  let connections = 0;
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = flatHeaders(req.headers);
      if (opts.tls) {
        const peer = (req.socket as TLSSocket).getPeerX509Certificate?.();
        headers['x-seen-client-uri'] = /URI:([^,]+)/.exec(peer?.subjectAltName ?? '')?.[1] ?? 'none';
      }
      const attempt = countAttempt(name, headers);
      const socket = req.socket as object;
      if (!connectionIds.has(socket)) connectionIds.set(socket, ++connections);
      const record: SeenRequest = { upstream: name, method: req.method ?? '', path: req.url ?? '', headers, body: Buffer.concat(chunks).toString(), attempt, connection: connectionIds.get(socket) };
      seen.push(record);
      const status = statusFor(opts, headers, attempt);
      const answer = (): void => {
        const body = JSON.stringify(record);
        const out = { 'content-type': 'application/json', 'x-upstream': name, 'x-upstream-only': 'upstream', 'content-length': String(Buffer.byteLength(body)) };
        (res as http.ServerResponse).writeHead(status, out);
        res.end(body);
      };
      const delay = Number(headers['x-echo-delay-ms'] ?? 0);
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  };
  const server = opts.tls
    ? // The ALPN names Istio's clients offer are accepted as a sidecar's inbound accepts them (the bytes are HTTP/1.1).
      https.createServer({ cert: opts.tls.certPem, key: opts.tls.keyPem, ca: opts.tls.caPem, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['http/1.1', 'istio-peer-exchange', 'istio'] }, handler)
    : opts.protocol === 'h2c'
      ? http2.createServer(handler)
      : http.createServer(handler);
  server.on(opts.tls ? 'secureConnection' : 'connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host, resolve);
  });
  const addr = server.address() as net.AddressInfo;
  return {
    name,
    host: opts.host,
    port: addr.port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const identity = (b: Buffer): Buffer => b;
export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};

/**
 * A grpc-js server: message 'fail:N' answers gRPC status N; 'fail:N:K' answers it to the first K attempts of
 * this x-test-key, then succeeds; anything else is echoed with the upstream's name.
 */
async function startGrpcUpstream(name: string, opts: EchoOptions, seen: SeenRequest[]): Promise<EchoUpstream> {
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = String(v);
      const text = call.request.toString();
      const attempt = countAttempt(name, headers);
      seen.push({ upstream: name, method: 'POST', path: call.getPath(), headers, body: text, attempt });
      const fail = /^fail:(\d+)(?::(\d+))?$/.exec(text);
      if (fail && (fail[2] === undefined || attempt <= Number(fail[2]))) cb({ code: Number(fail[1]), details: `asked to fail with ${fail[1]}` });
      else cb(null, Buffer.from(JSON.stringify({ upstream: name, message: text, attempt })));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host}:0`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { name, host: opts.host, port, seen, close: async () => server.forceShutdown() };
}
