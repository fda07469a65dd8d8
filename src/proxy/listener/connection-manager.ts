// The HTTP connection manager of one listener: for each request, route match -> fault filter ->
// route action (direct response, redirect, or forward to a cluster through its load balancer and
// endpoint pools) -> response with Envoy's headers, then stats and the access log.

import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import type * as net from 'node:net';
import * as http2 from 'node:http2';
import type { Readable } from 'node:stream';
import type { AccessLogEntry, AccessLogSink } from '../accesslog.js';
import { httpAccessLogEntry, type GrpcAccessLogSink } from '../grpc-access-log.js';
import type { ProxyStats } from '../admin/stats.js';
import type { Clock } from '../../clock.js';
import type { ClusterManager } from '../cluster/manager.js';
import { decideCors } from '../filters/cors.js';
import { checkRbac, peerNames, RBAC_DENIED_BODY, serverNameOf } from '../filters/rbac.js';
import { decideFault, effectiveFault } from '../filters/fault.js';
import { applyTrustBoundary } from '../filters/trust.js';
import { applyRequestMutations, applyResponseMutations, firstValue, forwardableHeaders, type HeaderRecord } from '../filters/headers.js';
import { errorText, type Logger } from '../log.js';
import type { CorsPolicy } from '../model/cors.js';
import type { HttpConnectionManager } from '../model/listener.js';
import type { ForwardAction, HeaderMutations, MirrorPolicy, Route, RouteTable, VirtualHost } from '../model/route.js';
import { redirectLocation, rewritePath } from '../route/rewrite.js';
import type { Router } from '../route/router.js';
import { requestHash, type HashInput } from '../route/hash-policy.js';
import { pickCluster } from '../route/weighted.js';
import { Cancel } from '../upstream/cancel.js';
import { forward, type ForwardResult } from '../upstream/forward.js';
import { addTrailers, destroyResponse, sendLocal, toDownstreamRequest, writeChunk, writeHead, type DownstreamRequest, type DownstreamResponse } from './downstream.js';

export interface ConnectionManagerDeps {
  clusters: ClusterManager;
  clock: Clock;
  random: () => number;
  stats: ProxyStats;
  accessLog: AccessLogSink | undefined;
  /** The pod agent's access log service (`envoy_accesslog_service`), when the proxy runs in an agent. */
  accessLogService?: GrpcAccessLogSink;
  log: Logger;
}

/** Bodies are buffered (so that they can be retried) up to this size. */
const RETRY_BUFFER_LIMIT = 16 * 1024 * 1024;
export const CONNECT_NOT_SUPPORTED = 'CONNECT is not supported by the meshwork proxy yet: send plain HTTP requests through it (http_proxy), not HTTPS tunnels\n';

const ROUTER_CONSUMED = [
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-hedge-on-per-try-timeout',
  'x-envoy-retriable-header-names',
  'x-envoy-retriable-status-codes',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
];

interface Exchange {
  req: DownstreamRequest;
  res: DownstreamResponse;
  /** Wall-clock ms (Date.now()) at arrival: a Date is only built when an access log line is written. */
  startWallMs: number;
  startMs: number;
  requestId: string;
  flags: string[];
  status: number;
  bytesSent: number;
  bytesReceived: number;
  upstreamTimeMs: number | undefined;
  upstreamHost: string | undefined;
  cluster: string | undefined;
  /** Access-Control-* headers the CORS filter sets on the response (an allowed origin), whoever answers. */
  cors: HeaderRecord | undefined;
  /** The client's address as the trust boundary judged it (RBAC remote_ip). */
  clientAddress: string;
  /** The downstream connection (RBAC reads its TLS peer certificate and server name). */
  socket: net.Socket | undefined;
  /** The connection manager of the connection's filter chain and its router. */
  config: HttpConfig;
}

/** What serves the requests of one connection: its filter chain's HTTP connection manager and the router over its route table. */
export interface HttpConfig {
  hcm: HttpConnectionManager;
  router: Router | undefined;
}

function readBody(body: Readable, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    body.once('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    body.once('error', reject);
  });
}

export class ConnectionManager {
  /** HCMs whose access log service loggers have no agent to serve them (reported once each). */
  private readonly unserved = new WeakSet<HttpConnectionManager>();

  constructor(
    /** The config for a request on `socket` (the connection the HTTP server read). */
    private readonly config: (socket: net.Socket | undefined) => HttpConfig,
    private readonly deps: ConnectionManagerDeps,
  ) {}

  /** The request listener for both the HTTP/1.1 and the HTTP/2 server of the listener. */
  readonly handle = (rawReq: http.IncomingMessage | http2.Http2ServerRequest, res: DownstreamResponse): void => {
    const req = toDownstreamRequest(rawReq);
    const socket = req.socket;
    const config = this.config(socket);
    const verdict = applyTrustBoundary(req.headers, config.hcm.trust, req.remoteAddress, req.tls);
    // A request entering the mesh here gets a new id unless the listener keeps the client's.
    const keepId = !verdict.edge || config.hcm.trust.preserveExternalRequestId;
    const requestId = (keepId ? firstValue(req.headers['x-request-id']) : undefined) ?? randomUUID();
    req.headers['x-request-id'] = requestId;
    const ex: Exchange = {
      req,
      res,
      startWallMs: Date.now(),
      startMs: this.deps.clock.now(),
      requestId,
      flags: [],
      status: 0,
      bytesSent: 0,
      bytesReceived: Number(firstValue(req.headers['content-length']) ?? 0) || 0,
      upstreamTimeMs: undefined,
      upstreamHost: undefined,
      cluster: undefined,
      cors: undefined,
      clientAddress: verdict.clientAddress,
      socket,
      config,
    };
    this.serve(ex).then(
      () => this.finish(ex),
      (e: unknown) => {
        this.deps.stats.internalError('connection_manager');
        this.deps.log('error', `request ${req.method} ${req.authority}${req.path} failed inside the proxy: ${errorText(e, true)}`);
        try {
          this.local(ex, 500, 'internal proxy error\n', 'IE', []);
        } finally {
          this.finish(ex);
        }
      },
    );
  };

  private local(ex: Exchange, status: number, body: string, flag: string, responseLevels: readonly HeaderMutations[], extra: HeaderRecord = {}): void {
    if (flag) ex.flags.push(flag);
    ex.status = status;
    const headers = this.envoyHeaders(ex, extra);
    applyResponseMutations(headers, responseLevels);
    if (ex.cors) Object.assign(headers, ex.cors);
    ex.bytesSent = sendLocal(ex.res, status, body, headers);
  }

  private envoyHeaders(ex: Exchange, headers: HeaderRecord): HeaderRecord {
    headers['server'] = 'meshwork';
    headers['x-request-id'] ??= ex.requestId;
    if (ex.upstreamTimeMs !== undefined) headers['x-envoy-upstream-service-time'] = String(Math.round(ex.upstreamTimeMs));
    return headers;
  }

  private async serve(ex: Exchange): Promise<void> {
    const { req } = ex;
    if (req.method === 'CONNECT') return this.local(ex, 405, CONNECT_NOT_SUPPORTED, '', []);
    if (!req.authority) return this.local(ex, 400, 'missing Host header\n', '', []);
    const { hcm, router } = ex.config;
    // The RBAC filters come first in Istio's chain: a denial does not depend on any route.
    if (hcm.rbac.length > 0 && !this.authorized(ex, hcm)) return this.local(ex, 403, RBAC_DENIED_BODY, '', []);
    const found = router?.find({ method: req.method, authority: req.authority, path: req.path, scheme: req.scheme, header: (n) => headerValue(req.headers, n) });
    if (found && found.virtualHost.requireTls !== 'NONE' && this.tlsRedirect(ex, hcm, found.virtualHost.requireTls)) return;
    if (!router || !found?.route) return this.local(ex, 404, '', 'NR', []);
    const { virtualHost, route } = found;
    const levels = [router.table.headers, virtualHost.headers, route.headers];

    if (hcm.corsFilter === 'before-fault' && this.cors(ex, route, virtualHost)) return;
    if (hcm.faultFilterPresent) {
      const fault = decideFault(effectiveFault([hcm.fault, virtualHost.fault, route.fault]), this.deps.random);
      if (fault.delayMs > 0) {
        ex.flags.push('DI');
        await new Promise<void>((resolve) => this.deps.clock.setTimer(resolve, fault.delayMs));
      }
      if (fault.abort) {
        if (fault.abort.grpcStatus !== undefined && isGrpc(req)) {
          ex.flags.push('FI');
          ex.status = 200;
          writeHead(ex.res, 200, this.envoyHeaders(ex, { 'content-type': 'application/grpc' }));
          addTrailers(ex.res, { 'grpc-status': String(fault.abort.grpcStatus), 'grpc-message': 'fault filter abort' });
          ex.res.end();
          return;
        }
        return this.local(ex, fault.abort.status, 'fault filter abort', 'FI', levels);
      }
    }

    if (hcm.corsFilter === 'after-fault' && this.cors(ex, route, virtualHost)) return;

    const action = route.action;
    if (action.kind === 'direct') return this.local(ex, action.status, action.body, '', levels);
    if (action.kind === 'redirect') {
      ex.status = action.status;
      const headers = this.envoyHeaders(ex, { location: redirectLocation(action, req, route.match), 'content-length': '0' });
      applyResponseMutations(headers, levels);
      if (ex.cors) Object.assign(headers, ex.cors);
      writeHead(ex.res, action.status, headers);
      ex.res.end();
      return;
    }
    return this.forwardTo(ex, router.table, virtualHost, route, action);
  }

  /**
   * A virtual host's require_tls, as Envoy checks it before its routes: a request whose
   * x-forwarded-proto (the connection's scheme unless a trusted hop set it) is not https, and for
   * EXTERNAL_ONLY that is not internal, gets 301 to https://<host><path>, without header mutations.
   */
  private tlsRedirect(ex: Exchange, hcm: HttpConnectionManager, requirement: 'EXTERNAL_ONLY' | 'ALL'): boolean {
    const { req } = ex;
    const trusted = hcm.trust.xffNumTrustedHops > 0 ? firstValue(req.headers['x-forwarded-proto']) : undefined;
    if ((trusted ?? (req.tls ? 'https' : 'http')) === 'https') return false;
    if (requirement === 'EXTERNAL_ONLY' && firstValue(req.headers['x-envoy-internal']) === 'true') return false;
    ex.status = 301;
    writeHead(ex.res, 301, this.envoyHeaders(ex, { location: `https://${req.authority}${req.path}`, 'content-length': '0' }));
    ex.res.end();
    return true;
  }

  private authorized(ex: Exchange, hcm: HttpConnectionManager): boolean {
    const { req } = ex;
    return checkRbac(hcm.rbac, {
      request: { method: req.method, authority: req.authority, path: req.path, scheme: req.scheme, header: (n) => headerValue(req.headers, n) },
      peer: req.remoteAddress,
      remote: ex.clientAddress,
      localAddress: req.localAddress,
      localPort: req.localPort,
      serverName: serverNameOf(ex.socket),
      peerCertificate: peerNames(ex.socket),
    }, (filter, allowed) => this.deps.stats.rbac(hcm.statPrefix, filter.statPrefix, allowed));
  }

  /** The CORS filter's request side: true when it answered the request (a preflight). */
  private cors(ex: Exchange, route: Route, vhost: VirtualHost): boolean {
    // Envoy's CORS filter acts only on routes that forward (a direct response or redirect has no route entry).
    if (route.action.kind !== 'forward') return false;
    // Istio puts the filter in every HCM; most routes have no policy: no work for them.
    if (route.cors === undefined && vhost.cors === undefined) return false;
    const policies = [route.cors, vhost.cors].filter((p): p is CorsPolicy => p !== undefined);
    const decision = decideCors(policies, { method: ex.req.method, header: (n) => headerValue(ex.req.headers, n) }, this.deps.random);
    ex.cors = decision.response;
    if (!decision.preflight) return false;
    // Envoy's CORS filter answers the preflight itself: its headers, then its own response-side headers.
    ex.status = 200;
    const headers = this.envoyHeaders(ex, { ...decision.preflight, ...ex.cors });
    ex.bytesSent = sendLocal(ex.res, 200, '', headers);
    return true;
  }

  private async forwardTo(ex: Exchange, table: RouteTable, vhost: VirtualHost, route: Route, action: ForwardAction): Promise<void> {
    const { req, res } = ex;
    const picked = pickCluster(action.cluster, this.deps.random);
    const levels = [table.headers, vhost.headers, route.headers, picked.headers];
    const cluster = this.deps.clusters.get(picked.name);
    if (!cluster) {
      // Envoy: cluster_not_found, 503 with no body (and no upstream cluster to log).
      this.local(ex, 503, '', 'NC', levels);
      return;
    }
    ex.cluster = picked.name;
    const headers = forwardableHeaders(req.headers);
    // Envoy's router consumes these (left on internal requests only): we do not act on them, and like
    // Envoy we do not pass them on.
    for (const name of ROUTER_CONSUMED) delete headers[name];
    applyRequestMutations(headers, levels);
    headers['x-forwarded-proto'] ??= req.scheme;
    headers['x-request-id'] = ex.requestId;
    const authority = action.hostRewrite ?? req.authority;
    // Envoy keeps what a rewrite replaced (unless suppress_envoy_headers).
    if (action.hostRewrite !== undefined) headers['x-envoy-original-host'] = req.authority;
    const path = rewritePath(req.path, route.match, action);
    if (action.prefixRewrite !== undefined || action.regexRewrite !== undefined) headers['x-envoy-original-path'] = req.path;

    const mirrors = action.mirrors.filter((m) => m.fraction >= 1 || this.deps.random() < m.fraction);
    let body: Buffer | Readable | null = null;
    if (!req.bodyless) {
      if ((action.retry && action.retry.numRetries > 0 && !isGrpc(req)) || mirrors.length > 0) {
        const buffered = await readBody(req.body, RETRY_BUFFER_LIMIT);
        if (!buffered) return this.local(ex, 413, 'request body too large to buffer for retries or mirroring\n', '', levels);
        ex.bytesReceived = buffered.length;
        body = buffered;
      } else {
        // Envoy logs the body bytes that arrived, content-length or not (HTTP/2 and chunked bodies have
        // none). Paused, so that no chunk flows before the upstream's pipe takes the body.
        ex.bytesReceived = 0;
        req.body.on('data', (chunk: Buffer) => (ex.bytesReceived += chunk.length)).pause();
        body = req.body;
      }
    }

    for (const m of mirrors) this.mirror(m, { method: req.method, path, authority, headers, body: body as Buffer | null, timeoutMs: action.timeoutMs });
    // Envoy hashes the request as the upstream will see it (after the route's header changes and rewrites).
    const hashed = action.hashPolicies.length === 0 ? undefined : requestHash(action.hashPolicies, hashInput(req, authority, path, headers));
    const setCookies: HeaderRecord = hashed && hashed.setCookies.length > 0 ? { 'set-cookie': hashed.setCookies } : {};

    const downstreamGone = new Cancel();
    const onClose = (): void => {
      if (!res.writableFinished) downstreamGone.abort();
    };
    res.once('close', onClose);
    const result: ForwardResult = await forward(
      cluster,
      { method: req.method, path, authority, headers, body, timeoutMs: action.timeoutMs, retry: action.retry, expectedTimeoutHeader: true, downstreamSignal: downstreamGone, hash: hashed?.hash },
      { clock: this.deps.clock, random: this.deps.random, onRetry: (c) => this.deps.stats.retry(c) },
    );
    ex.upstreamHost = result.host?.key;
    if (result.kind === 'local') {
      res.off('close', onClose);
      // No host for the first attempt: Envoy's router never got to the cluster, and logs none.
      if (result.flag === 'UH' && result.attempts === 0) ex.cluster = undefined;
      if (result.flag === 'DC') {
        ex.flags.push('DC');
        ex.status = 0;
        return;
      }
      this.deps.stats.upstream(picked.name, result.status, undefined);
      return this.local(ex, result.status, result.body, result.flag, levels, result.overloaded ? { 'x-envoy-overloaded': 'true', ...setCookies } : setCookies);
    }
    if (result.flag) ex.flags.push(result.flag);
    ex.upstreamTimeMs = result.upstreamTimeMs;
    const { response } = result;
    ex.status = response.status;
    this.deps.stats.upstream(picked.name, response.status, result.upstreamTimeMs);
    const out = this.envoyHeaders(ex, forwardableHeaders(response.headers));
    if (setCookies['set-cookie']) out['set-cookie'] = [...toList(out['set-cookie']), ...toList(setCookies['set-cookie'])];
    applyResponseMutations(out, levels);
    if (ex.cors) Object.assign(out, ex.cors);
    const statusTrailers = grpcStatusOutOfHeaders(out);
    try {
      writeHead(res, response.status, out);
      // Most small bodies arrive with their headers: one write, no stream plumbing.
      const whole = response.takeWholeBody?.();
      const isH2 = res instanceof http2.Http2ServerResponse;
      if (whole && !isH2) {
        ex.bytesSent = whole.length;
        res.end(whole);
        return;
      }
      if (whole) {
        ex.bytesSent = whole.length;
        if (whole.length > 0) writeChunk(res, whole);
      } else await copyBody(response.body, res, ex);
      // Only HTTP/2 responses carry trailers (addTrailers drops them for HTTP/1.1): skip the wait there.
      if (isH2) addTrailers(res, { ...statusTrailers, ...(await response.trailers()) });
      res.end();
    } catch (e) {
      // The upstream reset mid-body (or the client left): Envoy resets the downstream stream too.
      ex.flags.push(downstreamGone.aborted ? 'DC' : 'UPE');
      this.deps.log('debug', `stream ${req.authority}${req.path} from ${result.host.key} broke mid-body: ${errorText(e)}`);
      response.body.destroy();
      destroyResponse(res);
    } finally {
      res.off('close', onClose);
      result.done();
    }
  }

  /**
   * Sends a copy of the request to a mirror cluster (Envoy's shadow): same method, path, headers and
   * body, the authority with '-shadow' appended to its host; the answer is read and dropped, a missing
   * cluster or a failure only logged. Runs on the side: the primary request does not wait for it.
   */
  private mirror(m: MirrorPolicy, r: { method: string; path: string; authority: string; headers: HeaderRecord; body: Buffer | null; timeoutMs: number }): void {
    const cluster = this.deps.clusters.get(m.cluster);
    if (!cluster) {
      this.deps.log('debug', `mirror cluster ${m.cluster} not found: copy of ${r.method} ${r.authority}${r.path} dropped`);
      return;
    }
    const authority = m.keepHost ? r.authority : shadowAuthority(r.authority);
    const headers = { ...r.headers };
    forward(cluster, { method: r.method, path: r.path, authority, headers, body: r.body, timeoutMs: r.timeoutMs, retry: undefined, expectedTimeoutHeader: true, downstreamSignal: new Cancel() }, { clock: this.deps.clock, random: this.deps.random }).then(
      (result) => {
        if (result.kind !== 'upstream') return;
        result.response.body.on('error', () => undefined);
        result.response.body.on('end', () => result.done());
        result.response.body.on('close', () => result.done());
        result.response.body.resume();
      },
      (e: unknown) => this.deps.log('debug', `mirror to ${m.cluster} failed: ${errorText(e)}`),
    );
  }

  private finish(ex: Exchange): void {
    const { hcm } = ex.config;
    this.deps.stats.downstream(hcm.statPrefix, ex.status);
    if (hcm.grpcAccessLogs.length > 0) this.logToService(ex, hcm);
    if (!this.deps.accessLog) return;
    const entry: AccessLogEntry = {
      startMs: ex.startWallMs,
      method: ex.req.method,
      path: ex.req.path,
      protocol: ex.req.protocol,
      status: ex.status,
      flags: ex.flags.join(','),
      bytesReceived: ex.bytesReceived,
      bytesSent: ex.bytesSent,
      durationMs: this.deps.clock.now() - ex.startMs,
      upstreamServiceTimeMs: ex.upstreamTimeMs,
      forwardedFor: firstValue(ex.req.headers['x-forwarded-for']),
      userAgent: firstValue(ex.req.headers['user-agent']),
      requestId: ex.requestId,
      authority: ex.req.authority,
      upstreamHost: ex.upstreamHost,
      upstreamCluster: ex.cluster,
    };
    this.deps.accessLog(entry);
  }

  private logToService(ex: Exchange, hcm: HttpConnectionManager): void {
    const sink = this.deps.accessLogService;
    if (!sink) {
      if (!this.unserved.has(hcm)) {
        this.unserved.add(hcm);
        this.deps.log('warn', `HCM ${hcm.statPrefix}: access logs to envoy_accesslog_service (${hcm.grpcAccessLogs.join(', ')}) are not sent: no agent serves that service to this proxy`);
      }
      return;
    }
    const tls = ex.req.tls;
    const entry = httpAccessLogEntry({
      method: ex.req.method,
      authority: ex.req.authority,
      path: ex.req.path,
      protocol: ex.req.protocol,
      headers: ex.req.headers,
      remote: { address: ex.req.remoteAddress, port: ex.req.remotePort },
      client: ex.clientAddress,
      local: { address: ex.req.localAddress, port: ex.req.localPort },
      peerUriSans: tls?.peer?.uriSans,
      localUriSans: tls?.localUriSans ?? [],
      upstreamHost: ex.upstreamHost,
      upstreamCluster: ex.cluster,
      status: ex.status,
      flags: ex.flags,
      bytesReceived: ex.bytesReceived,
      bytesSent: ex.bytesSent,
      durationMs: this.deps.clock.now() - ex.startMs,
    });
    for (const logName of hcm.grpcAccessLogs) sink(logName, entry);
  }
}

/**
 * Streams an upstream body to the downstream response with backpressure, counting the bytes into
 * `counted.bytesSent` as they go (so a body cut short still logs what was sent). Event-driven rather than `for await`, whose async iterator and per-chunk promises cost more
 * than the copy itself for the small bodies most requests have. Rejects when the upstream body errors
 * (or is destroyed before its end); when the downstream response is destroyed it stops early, resolving,
 * and destroys the upstream body (as leaving a `for await` loop does).
 */
function copyBody(body: Readable, res: DownstreamResponse, counted: { bytesSent: number }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (body.destroyed && !body.readableEnded) {
      reject(body.errored ?? new Error('upstream body closed before its end'));
      return;
    }
    let settled = false;
    const finish = (e?: Error): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      res.off('drain', onDrain);
      res.off('close', onDrain);
      if (e) reject(e);
      else resolve();
    };
    const downstreamGone = (): void => {
      finish();
      body.destroy();
    };
    const onData = (chunk: Buffer | string): void => {
      const buf: Buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      counted.bytesSent += buf.length;
      if (!writeChunk(res, buf)) {
        body.pause();
        res.once('drain', onDrain);
        res.once('close', onDrain);
      }
      if (res.destroyed) downstreamGone();
    };
    const onDrain = (): void => {
      res.off('drain', onDrain);
      res.off('close', onDrain);
      if (res.destroyed) downstreamGone();
      else body.resume();
    };
    const onEnd = (): void => finish();
    const onError = (e: Error): void => finish(e);
    // Destroyed without 'end' (e.g. the upstream reset mid-body with no error event): a broken stream.
    const onClose = (): void => finish(body.readableEnded ? undefined : new Error('upstream body closed before its end'));
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

/** Envoy's shadow host: 'host:port' -> 'host-shadow:port'. */
export function shadowAuthority(authority: string): string {
  const bracket = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  if (colon > bracket && authority.indexOf(':') === colon) return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  return `${authority}-shadow`;
}

function toList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function hashInput(req: DownstreamRequest, authority: string, path: string, headers: HeaderRecord): HashInput {
  return {
    method: req.method,
    authority,
    path,
    headers,
    remote: { address: req.remoteAddress, port: req.remotePort },
    local: { address: req.localAddress, port: req.localPort },
  };
}

function headerValue(headers: HeaderRecord, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function isGrpc(req: DownstreamRequest): boolean {
  return (firstValue(req.headers['content-type']) ?? '').startsWith('application/grpc');
}

/**
 * A gRPC "trailers-only" response carries grpc-status in its headers frame, which must then end the
 * stream. Node's compatibility API cannot end a stream with the headers frame after writeHead, so the
 * status moves to the trailers, where every gRPC client reads it.
 */
function grpcStatusOutOfHeaders(headers: HeaderRecord): HeaderRecord {
  const trailers: HeaderRecord = {};
  if (!(firstValue(headers['content-type']) ?? '').startsWith('application/grpc')) return trailers;
  for (const name of ['grpc-status', 'grpc-message', 'grpc-status-details-bin']) {
    const v = headers[name];
    if (v !== undefined) {
      trailers[name] = v;
      delete headers[name];
    }
  }
  return trailers;
}
