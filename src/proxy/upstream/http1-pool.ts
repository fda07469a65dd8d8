// HTTP/1.1 keep-alive pool to one endpoint, on undici's Pool. Requests go through Pool.dispatch with a
// handler of our own rather than Pool.request: request() wraps every exchange in an AsyncResource, a
// promise chain and its own body stream class, which profiles showed at ~10% of the proxy's CPU per
// request on top of what the exchange itself needs.

import { Readable } from 'node:stream';
import { Pool, errors as undiciErrors, util as undiciUtil, type Dispatcher } from 'undici';
import { definedHeaders, type HeaderRecord } from '../filters/headers.js';
import type { Cancel } from './cancel.js';
import { UpstreamFailure, type EndpointPool, type UpstreamRequest, type UpstreamResponse } from './types.js';

const CONNECT_ERROR_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN']);

function errorCode(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return '';
}

export function classifyHttp1Error(e: unknown): UpstreamFailure {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof undiciErrors.RequestAbortedError || (e instanceof Error && e.name === 'AbortError')) return new UpstreamFailure('aborted', message);
  // undici wraps the socket error as `cause` of some errors.
  const code = errorCode(e) || (e instanceof Error ? errorCode(e.cause) : '');
  if (CONNECT_ERROR_CODES.has(code)) return new UpstreamFailure('connect-failure', `${code}: ${message}`);
  return new UpstreamFailure('reset', `${code || 'error'}: ${message}`);
}

/** The response body: pulls from undici (resume) on read, aborts the exchange if destroyed before its end. */
class UpstreamBody extends Readable {
  constructor(
    private readonly resumeUpstream: () => void,
    private readonly abortUpstream: ((reason: Error) => void) | undefined,
  ) {
    // undici's own body stream uses 64 KiB.
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    this.resumeUpstream();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    // Leaving before the end (client gone, retry discarding a body): the connection cannot be reused.
    if (!this.readableEnded) this.abortUpstream?.(err ?? new undiciErrors.RequestAbortedError());
    cb(err);
  }
}

/** One exchange: resolves with the response at its headers, then feeds the body stream. */
class ExchangeHandler implements Dispatcher.DispatchHandler {
  private abortUpstream: ((reason: Error) => void) | undefined;
  private body: UpstreamBody | undefined;
  private trailers: HeaderRecord | undefined;
  private aborted: Error | undefined;
  private readonly stopListening: (() => void) | undefined;

  constructor(
    signal: Cancel,
    private readonly resolve: (res: UpstreamResponse) => void,
    private readonly reject: (e: UpstreamFailure) => void,
  ) {
    if (signal.aborted) this.aborted = new undiciErrors.RequestAbortedError();
    else this.stopListening = signal.onAbort(() => this.onSignal());
  }

  private onSignal(): void {
    this.aborted = new undiciErrors.RequestAbortedError();
    // After the headers the abort tears down the body (the consumer sees the error), else the exchange.
    if (this.body) this.body.destroy(this.aborted);
    else this.abortUpstream?.(this.aborted);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.aborted) {
      abort(this.aborted);
      return;
    }
    this.abortUpstream = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: the final response follows
    const body = new UpstreamBody(resume, this.abortUpstream);
    this.body = body;
    body.once('close', () => this.stopListening?.());
    this.resolve({
      status: statusCode,
      headers: undiciUtil.parseHeaders(rawHeaders),
      body,
      trailers: () =>
        new Promise((resolve) => {
          if (body.readableEnded) resolve(this.trailers ?? {});
          else body.once('end', () => resolve(this.trailers ?? {})).once('error', () => resolve({}));
        }),
    });
    return true;
  }

  onData(chunk: Buffer): boolean {
    // false pauses the socket until the body is read again (_read -> resume).
    return this.body ? this.body.push(chunk) : true;
  }

  onComplete(rawTrailers: string[] | null): void {
    this.trailers = rawTrailers && rawTrailers.length > 0 ? definedHeaders(undiciUtil.parseHeaders(rawTrailers)) : {};
    this.body?.push(null);
  }

  onError(err: Error): void {
    this.stopListening?.();
    const { body } = this;
    if (!body) {
      this.reject(classifyHttp1Error(err));
      return;
    }
    // The consumer listens for 'error' once it reads the body; the no-op keeps an error that arrives
    // before that from becoming an uncaught exception (undici's own body stream does the same).
    body.on('error', () => undefined);
    body.destroy(err);
  }
}

export class Http1Pool implements EndpointPool {
  private readonly pool: Pool;

  constructor(origin: string, connectTimeoutMs: number) {
    this.pool = new Pool(origin, {
      connections: 512,
      pipelining: 1,
      connect: { timeout: connectTimeoutMs },
      // Timeouts are the route's business (route timeout, per_try_timeout), not the pool's.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 60_000,
    });
  }

  request(req: UpstreamRequest): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      req.headers['host'] = req.authority;
      const handler = new ExchangeHandler(req.signal, resolve, reject);
      try {
        this.pool.dispatch({ method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body: req.body ?? undefined }, handler);
      } catch (e) {
        reject(classifyHttp1Error(e));
      }
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): void {
    // destroy() rejects pending requests; those rejections are reported by their own callers.
    this.pool.destroy().catch(() => undefined);
  }
}
