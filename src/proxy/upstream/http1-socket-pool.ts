// HTTP/1.1 keep-alive pool to one endpoint on plain net.Socket connections: the request head is written
// by hand and responses go through Http1ResponseParser. A general-purpose client (undici) cost ~95 us of
// CPU per proxied request on the benchmark machine, about as much as the rest of the proxy; this one
// does only what a proxy needs: one request at a time per connection (no pipelining), connections
// reused once their response fully arrived, idle ones closed after a minute.

import * as net from 'node:net';
import { Readable } from 'node:stream';
import { systemClock, type Clock, type TimerHandle } from '../../clock.js';
import type { HeaderRecord } from '../filters/headers.js';
import type { Logger } from '../log.js';
import { DIGITS, Http1ResponseParser, HttpParseError, TOKEN, type ResponseHead, type ResponseSink } from './http1-response-parser.js';
import type { UpstreamConnector } from './transport.js';
import { UpstreamFailure, type EndpointPool, type UpstreamRequest, type UpstreamResponse } from './types.js';

export interface Http1SocketPoolOptions {
  /** Connections at most; requests beyond wait for one to free up (default 512). */
  maxConnections?: number;
  /** An idle connection is closed after this long (default 60 s; checked every tenth of it). */
  idleTimeoutMs?: number;
  /** A connection is closed once it served this many requests (Envoy's max_requests_per_connection; default unlimited). */
  maxRequestsPerConnection?: number;
  /** Response head (and trailer section) size limit (default 80 KiB). */
  maxHeaderBytes?: number;
  clock?: Clock;
  /** Where protocol errors (malformed responses, stray bytes) are reported, besides failing the request. */
  log?: Logger;
  /** How connections are made (TLS); plain TCP when absent. */
  connector?: UpstreamConnector;
}

const CONNECT_ERROR_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);
/** Headers the pool writes itself (framing, connection management) or must not forward. */
const POOL_OWNED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'expect', 'te', 'trailer', 'http2-settings']);
/** Characters that would end a header line or the request line early: request smuggling if written. */
const LINE_BREAKING = /[\r\n\0]/;
const REQUEST_TARGET_BAD = /[\s\0]/;
/**
 * Methods whose requests should have no body (Envoy's HeaderUtility::requestShouldHaveNoBody): every
 * other method's empty body is announced with content-length: 0, as Envoy's HTTP/1 codec does.
 */
const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'TRACE', 'CONNECT']);

function errorCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : '';
}

function abortedError(): UpstreamFailure {
  return new UpstreamFailure('aborted', 'request aborted');
}

/** The request line and header section; throws UpstreamFailure('reset') on a value that cannot be written safely. */
export function requestHead(req: UpstreamRequest, framing: string): string {
  if (REQUEST_TARGET_BAD.test(req.path) || req.path === '') throw new UpstreamFailure('reset', `invalid request target '${req.path.slice(0, 80)}'`);
  if (!TOKEN.test(req.method)) throw new UpstreamFailure('reset', `invalid method '${req.method.slice(0, 40)}'`);
  if (LINE_BREAKING.test(req.authority)) throw new UpstreamFailure('reset', 'invalid authority');
  let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${req.authority}\r\n`;
  const { headers } = req;
  for (const name of Object.keys(headers)) {
    if (POOL_OWNED.has(name)) continue;
    const value = headers[name];
    if (!TOKEN.test(name)) throw new UpstreamFailure('reset', `invalid header name '${name.slice(0, 40)}'`);
    if (typeof value === 'string') {
      if (LINE_BREAKING.test(value)) throw new UpstreamFailure('reset', `invalid value of header ${name}`);
      head += `${name}: ${value}\r\n`;
    } else {
      for (const v of value) {
        if (LINE_BREAKING.test(v)) throw new UpstreamFailure('reset', `invalid value of header ${name}`);
        head += `${name}: ${v}\r\n`;
      }
    }
  }
  return head + framing + '\r\n';
}

const BODY_HIGH_WATER_MARK = 64 * 1024;

/**
 * The response body: reading resumes the socket, destroying it before its end closes the connection.
 * Chunks are held in a plain array until the first read, so that a body that arrived whole can be
 * taken at once (takeWholeBody) without going through the stream machinery.
 */
class ResponseBody extends Readable {
  held: Buffer[] | undefined = [];
  heldBytes = 0;

  constructor(private readonly exchange: Exchange) {
    super({ highWaterMark: BODY_HIGH_WATER_MARK });
  }

  override _read(): void {
    const held = this.held;
    if (held) {
      this.held = undefined;
      for (const chunk of held) this.push(chunk);
      if (this.exchange.responseComplete) {
        this.push(null);
        return;
      }
    }
    this.exchange.resumeBody();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.exchange.bodyDestroyed();
    cb(err);
  }
}

class SocketResponse implements UpstreamResponse {
  constructor(
    readonly status: number,
    readonly headers: HeaderRecord,
    readonly body: ResponseBody,
    private readonly exchange: Exchange,
  ) {}

  trailers(): Promise<HeaderRecord> {
    const { body, exchange } = this;
    if (exchange.responseComplete || body.readableEnded) return Promise.resolve(exchange.responseTrailers ?? {});
    return new Promise((resolve) => {
      body.once('end', () => resolve(exchange.responseTrailers ?? {}));
      body.once('error', () => resolve({}));
      body.once('close', () => resolve(exchange.responseTrailers ?? {}));
    });
  }

  takeWholeBody(): Buffer | undefined {
    const body = this.body;
    const held = body.held;
    if (!held || !this.exchange.responseComplete || body.destroyed) return undefined;
    body.held = undefined;
    this.exchange.bodyTaken = true;
    return held.length === 1 ? held[0] : Buffer.concat(held, body.heldBytes);
  }
}

/** One request and its response, on at most two connections (a second one only to replay on a stale keep-alive one). */
class Exchange implements ResponseSink {
  conn: Connection | undefined;
  response: SocketResponse | undefined;
  responseTrailers: HeaderRecord | undefined;
  responseComplete = false;
  keepAlive = false;
  requestSent = false;
  /** The streamed request body gave at least one chunk (so it cannot be replayed). */
  bodyTouched = false;
  settled = false;
  replayed = false;
  /** takeWholeBody() took the body: the stream is not used any more. */
  bodyTaken = false;
  private stopStreaming: (() => void) | undefined;

  constructor(
    readonly pool: Http1SocketPool,
    readonly req: UpstreamRequest,
    private readonly resolve: (res: UpstreamResponse) => void,
    private readonly reject: (e: UpstreamFailure) => void,
  ) {}

  readonly onAbort = (): void => {
    if (!this.response) {
      // Already failed: nothing of this exchange is left to cancel.
      if (this.settled) return;
      // Before the headers: cancel the attempt (and the connection: the upstream may be mid-response).
      const conn = this.conn;
      if (!conn) this.pool.dequeue(this);
      else if (conn.exchange === this) conn.destroy();
      this.fail(abortedError());
      return;
    }
    if (this.bodyTaken || this.response.body.readableEnded) return;
    const body = this.response.body;
    body.on('error', noop);
    body.destroy(abortedError());
  };

  /** Writes the request on `conn` (connected or connecting). */
  start(conn: Connection): void {
    this.conn = conn;
    conn.exchange = this;
    conn.parser.expect(this.req.method);
    const { req } = this;
    const socket = conn.socket;
    const body = req.body;
    if (body === null) {
      const cl = req.headers['content-length'];
      socket.write(requestHead(req, cl !== undefined || !NO_BODY_METHODS.has(req.method) ? 'content-length: 0\r\n' : ''), 'latin1');
      this.requestSent = true;
    } else if (Buffer.isBuffer(body)) {
      const head = requestHead(req, `content-length: ${body.length}\r\n`);
      socket.cork();
      socket.write(head, 'latin1');
      if (body.length > 0) socket.write(body);
      socket.uncork();
      this.requestSent = true;
    } else {
      const cl = req.headers['content-length'];
      const length = typeof cl === 'string' && DIGITS.test(cl) ? Number(cl) : undefined;
      socket.write(requestHead(req, length !== undefined ? `content-length: ${length}\r\n` : 'transfer-encoding: chunked\r\n'), 'latin1');
      this.streamBody(body, conn, length);
    }
  }

  /** Streams a request body with backpressure: raw bytes when its length is known, else chunked. */
  private streamBody(body: Readable, conn: Connection, length: number | undefined): void {
    const socket = conn.socket;
    let sent = 0;
    const onData = (chunk: Buffer | string): void => {
      this.bodyTouched = true;
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (buf.length === 0) return;
      sent += buf.length;
      let ok: boolean;
      if (length === undefined) {
        socket.cork();
        socket.write(`${buf.length.toString(16)}\r\n`, 'latin1');
        socket.write(buf);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else {
        if (sent > length) {
          stop();
          this.failRequestBody(new Error(`request body longer than its content-length ${length}`));
          return;
        }
        ok = socket.write(buf);
      }
      if (!ok) {
        body.pause();
        socket.once('drain', onDrain);
      }
    };
    const onDrain = (): void => {
      body.resume();
    };
    const onEnd = (): void => {
      stop();
      if (length !== undefined && sent !== length) {
        this.failRequestBody(new Error(`request body of ${sent} bytes, content-length said ${length}`));
        return;
      }
      if (length === undefined) socket.write('0\r\n\r\n', 'latin1');
      this.requestSent = true;
    };
    const onError = (e: Error): void => {
      stop();
      this.failRequestBody(e);
    };
    const stop = (): void => {
      this.stopStreaming = undefined;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      socket.off('drain', onDrain);
    };
    this.stopStreaming = stop;
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    if (body.isPaused()) body.resume();
  }

  private failRequestBody(e: Error): void {
    const conn = this.conn;
    const failure = new UpstreamFailure('reset', `request body: ${e.message}`);
    if (!this.response) this.fail(failure);
    else if (!this.response.body.readableEnded) {
      this.response.body.on('error', noop);
      this.response.body.destroy(failure);
    }
    conn?.destroy();
  }

  /** Detaches from the request body (connection lost, or the exchange is being replayed elsewhere). */
  detachBody(): void {
    this.stopStreaming?.();
  }

  onResponseHead(head: ResponseHead): void {
    this.keepAlive = head.keepAlive;
    const body = new ResponseBody(this);
    this.response = new SocketResponse(head.status, head.headers, body, this);
    this.settled = true;
    this.resolve(this.response);
  }

  onResponseBody(chunk: Buffer): void {
    const body = this.response?.body;
    if (!body || body.destroyed) return;
    const held = body.held;
    if (held) {
      held.push(chunk);
      body.heldBytes += chunk.length;
      if (body.heldBytes >= BODY_HIGH_WATER_MARK) this.conn?.socket.pause();
    } else if (!body.push(chunk)) this.conn?.socket.pause();
  }

  onResponseEnd(trailers: HeaderRecord): void {
    this.responseComplete = true;
    this.responseTrailers = trailers;
    const body = this.response?.body;
    // Held chunks go out with the end on the first read.
    if (body && !body.destroyed && !body.held) body.push(null);
  }

  resumeBody(): void {
    const conn = this.conn;
    if (conn && conn.exchange === this && !this.responseComplete) conn.socket.resume();
  }

  bodyDestroyed(): void {
    // Left before its end (client gone, retry discarding a body): the connection cannot be reused.
    if (!this.responseComplete && this.conn?.exchange === this) this.conn.destroy();
  }

  /** Rejects the request (before its headers) unless it already resolved. */
  fail(e: UpstreamFailure): void {
    if (this.settled) return;
    this.settled = true;
    this.detachBody();
    this.reject(e);
  }

  /** The connection broke: the request fails before its headers, the body errors after them. */
  connectionLost(e: UpstreamFailure): void {
    this.detachBody();
    if (!this.response) {
      this.fail(e);
      return;
    }
    if (this.responseComplete) return;
    const body = this.response.body;
    if (body.destroyed) return;
    body.on('error', noop);
    body.destroy(new Error(`upstream connection lost mid-body: ${e.message}`));
  }
}

const noop = (): void => undefined;

class Connection {
  readonly socket: net.Socket;
  readonly parser: Http1ResponseParser;
  exchange: Exchange | undefined;
  connected = false;
  /** Responses completed on this connection: a reused one may have been closed by the server meanwhile. */
  served = 0;
  idleSince = 0;
  closed = false;
  private lastError: Error | undefined;

  constructor(
    private readonly pool: Http1SocketPool,
    host: string,
    port: number,
    connectTimeoutMs: number,
    maxHeaderBytes: number,
  ) {
    this.parser = new Http1ResponseParser(this.sink(), maxHeaderBytes);
    const connector = pool.connector;
    this.socket = connector ? connector.connect(host, port) : net.connect({ host, port, noDelay: true });
    if (connectTimeoutMs > 0) this.socket.setTimeout(connectTimeoutMs);
    // Over TLS the connection is made once the handshake is (Envoy's connect timeout covers both).
    this.socket.on(connector?.secure ? 'secureConnect' : 'connect', this.onConnect);
    this.socket.on('timeout', this.onTimeout);
    this.socket.on('data', this.onData);
    this.socket.on('end', this.onEnd);
    this.socket.on('error', this.onError);
    this.socket.on('close', this.onClose);
  }

  /** The parser's sink: forwards to the current exchange. */
  private sink(): ResponseSink {
    return {
      onResponseHead: (head) => this.exchange?.onResponseHead(head),
      onResponseBody: (chunk) => this.exchange?.onResponseBody(chunk),
      onResponseEnd: (trailers) => this.exchange?.onResponseEnd(trailers),
    };
  }

  private readonly onConnect = (): void => {
    this.connected = true;
    this.socket.setTimeout(0);
  };

  private readonly onTimeout = (): void => {
    if (!this.connected) this.socket.destroy(Object.assign(new Error(`connect timeout to ${this.pool.origin}`), { code: 'ETIMEDOUT' }));
  };

  private readonly onData = (data: Buffer): void => {
    const ex = this.exchange;
    if (!ex) {
      // Bytes on an idle connection: nothing asked for them, the connection is out of step.
      this.pool.protocolError(`${data.length} unexpected bytes on an idle connection`);
      this.destroy();
      return;
    }
    let consumed: number;
    try {
      consumed = this.parser.execute(data);
    } catch (e) {
      const message = e instanceof HttpParseError ? e.message : String(e);
      this.pool.protocolError(message);
      this.exchange = undefined;
      ex.connectionLost(new UpstreamFailure('reset', `bad response from ${this.pool.origin}: ${message}`));
      this.destroy();
      return;
    }
    if (!this.parser.done) return;
    if (consumed < data.length) {
      ex.keepAlive = false;
      this.pool.protocolError(`${data.length - consumed} bytes after the response`);
    }
    // A response that ended before its request was all sent (an early 413, say): the server may never
    // read the rest, so the connection is not kept waiting for it.
    if (!ex.requestSent) ex.keepAlive = false;
    this.exchangeEnded(ex);
  };

  private readonly onEnd = (): void => {
    const ex = this.exchange;
    // A close-delimited body ends with the connection.
    if (ex && this.parser.closeDelimited && this.parser.finish()) {
      this.exchangeEnded(ex);
    }
  };

  private readonly onError = (e: Error): void => {
    this.lastError = e;
  };

  private readonly onClose = (): void => {
    this.closed = true;
    const ex = this.exchange;
    this.exchange = undefined;
    this.pool.connectionClosed(this);
    if (!ex || ex.responseComplete) return;
    const e = this.lastError;
    const code = errorCode(e);
    const detail = e ? `${code || 'error'}: ${e.message}` : 'connection closed by the upstream';
    // A failed TLS handshake (untrusted certificate, SAN mismatch) is a connection failure, as in Envoy.
    if (!this.connected && (CONNECT_ERROR_CODES.has(code) || !e || this.pool.connector?.secure)) {
      ex.connectionLost(new UpstreamFailure('connect-failure', `${this.pool.origin}: ${detail}`));
      return;
    }
    // A reused connection the server closed before answering (its keep-alive timeout raced our request):
    // the request never reached the application, so it is sent again on a new connection, as Envoy and
    // undici do.
    if (this.served > 0 && !this.parser.receivedAny && !ex.response && !ex.replayed && !ex.bodyTouched && !ex.req.signal.aborted) {
      ex.replayed = true;
      this.pool.replay(ex);
      return;
    }
    ex.connectionLost(new UpstreamFailure('reset', `${this.pool.origin}: ${detail}`));
  };

  /** Response fully received and request fully sent (or the connection cannot be reused anyway). */
  exchangeEnded(ex: Exchange): void {
    if (this.exchange !== ex) return;
    this.exchange = undefined;
    this.served++;
    if (ex.keepAlive && ex.requestSent && !this.closed && !this.pool.exhausted(this.served)) this.pool.release(this);
    else {
      ex.detachBody();
      this.destroy();
    }
  }

  destroy(): void {
    if (!this.closed) this.socket.destroy();
  }
}

export class Http1SocketPool implements EndpointPool {
  readonly origin: string;
  private readonly host: string;
  private readonly port: number;
  private readonly maxConnections: number;
  private readonly idleTimeoutMs: number;
  private readonly maxRequestsPerConnection: number;
  private readonly maxHeaderBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  readonly connector: UpstreamConnector | undefined;
  private readonly connections = new Set<Connection>();
  /** Most recently used last: requests take the warmest connection, the sweep closes the coldest. */
  private readonly idle: Connection[] = [];
  private readonly waiting: Exchange[] = [];
  private sweepTimer: TimerHandle | undefined;
  private closing = false;
  private whenClosed: (() => void) | undefined;
  /** Responses that broke the protocol (malformed, extra bytes): counted for diagnosis. */
  protocolErrors = 0;
  lastProtocolError: string | undefined;

  constructor(origin: string, connectTimeoutMs: number, options: Http1SocketPoolOptions = {}) {
    const url = new URL(origin);
    if (url.protocol !== 'http:') throw new Error(`Http1SocketPool speaks cleartext HTTP/1.1 only, not ${url.protocol} (${origin})`);
    this.origin = origin;
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || 80);
    this.connectTimeoutMs = connectTimeoutMs;
    this.maxConnections = options.maxConnections ?? 512;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.maxRequestsPerConnection = options.maxRequestsPerConnection || Infinity;
    this.maxHeaderBytes = options.maxHeaderBytes ?? 80 * 1024;
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
    this.connector = options.connector;
  }

  /** Open connections (busy and idle). */
  get size(): number {
    return this.connections.size;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  request(req: UpstreamRequest): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (req.signal.aborted) {
        reject(abortedError());
        return;
      }
      if (this.closing) {
        reject(new UpstreamFailure('reset', `pool to ${this.origin} is closed`));
        return;
      }
      const ex = new Exchange(this, req, resolve, reject);
      // The token lives as long as the request: its listener needs no removal, and checks what is current.
      req.signal.onAbort(ex.onAbort);
      this.assign(ex, false);
    });
  }

  private assign(ex: Exchange, fresh: boolean): void {
    let conn = fresh ? undefined : this.idle.pop();
    if (conn) conn.socket.ref();
    else if (this.connections.size < this.maxConnections) {
      conn = new Connection(this, this.host, this.port, this.connectTimeoutMs, this.maxHeaderBytes);
      this.connections.add(conn);
    } else {
      this.waiting.push(ex);
      return;
    }
    try {
      ex.start(conn);
    } catch (e) {
      // requestHead refused a value: nothing was written, the connection stays usable.
      conn.exchange = undefined;
      this.release(conn);
      ex.fail(e instanceof UpstreamFailure ? e : new UpstreamFailure('reset', String(e)));
    }
  }

  /** A connection that served `served` requests is closed rather than reused. */
  exhausted(served: number): boolean {
    return served >= this.maxRequestsPerConnection;
  }

  /** Sends a request again on a new connection (its keep-alive one was closed before any answer). */
  replay(ex: Exchange): void {
    ex.detachBody();
    if (this.closing) {
      ex.fail(new UpstreamFailure('reset', `pool to ${this.origin} closed during a retry`));
      return;
    }
    this.assign(ex, true);
  }

  dequeue(ex: Exchange): void {
    const i = this.waiting.indexOf(ex);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  release(conn: Connection): void {
    if (conn.closed) return;
    const next = this.waiting.shift();
    if (next) {
      try {
        next.start(conn);
      } catch (e) {
        conn.exchange = undefined;
        next.fail(e instanceof UpstreamFailure ? e : new UpstreamFailure('reset', String(e)));
        this.release(conn);
      }
      return;
    }
    if (this.closing) {
      conn.destroy();
      return;
    }
    conn.idleSince = this.clock.now();
    conn.socket.unref();
    this.idle.push(conn);
    this.sweepTimer ??= this.clock.setTimer(this.sweep, Math.max(1, Math.floor(this.idleTimeoutMs / 10)), { unref: true });
  }

  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    const now = this.clock.now();
    // Oldest first: stop at the first one still within its idle time.
    let expired = 0;
    while (expired < this.idle.length && now - this.idle[expired].idleSince >= this.idleTimeoutMs) expired++;
    for (const conn of this.idle.splice(0, expired)) conn.destroy();
    if (this.idle.length > 0) this.sweepTimer = this.clock.setTimer(this.sweep, Math.max(1, Math.floor(this.idleTimeoutMs / 10)), { unref: true });
  };

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // A freed slot lets a waiting request open a connection.
    if (this.waiting.length > 0 && this.connections.size < this.maxConnections) {
      const next = this.waiting.shift();
      if (next) this.assign(next, true);
    }
    if (this.closing && this.connections.size === 0) {
      this.sweepTimer?.cancel();
      this.sweepTimer = undefined;
      this.whenClosed?.();
    }
  }

  protocolError(message: string): void {
    this.protocolErrors++;
    this.lastProtocolError = message;
    this.log?.('warn', `upstream ${this.origin}: HTTP/1.1 protocol error (connection closed): ${message}`);
  }

  close(): Promise<void> {
    this.closing = true;
    for (const conn of this.idle.splice(0)) conn.destroy();
    if (this.connections.size === 0) {
      this.sweepTimer?.cancel();
      this.sweepTimer = undefined;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.whenClosed = resolve;
    });
  }

  destroy(): void {
    this.closing = true;
    for (const ex of this.waiting.splice(0)) ex.fail(new UpstreamFailure('reset', `pool to ${this.origin} destroyed`));
    for (const conn of [...this.connections]) conn.destroy();
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
  }
}
