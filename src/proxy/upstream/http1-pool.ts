// HTTP/1.1 keep-alive pool to one endpoint, on undici's Pool.

import { Pool, errors as undiciErrors } from 'undici';
import { definedHeaders } from '../filters/headers.js';
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

  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    try {
      const res = await this.pool.request({
        method: req.method,
        path: req.path,
        headers: { ...req.headers, host: req.authority },
        body: req.body ?? undefined,
        signal: req.signal,
      });
      return {
        status: res.statusCode,
        headers: definedHeaders(res.headers),
        body: res.body,
        trailers: () =>
          new Promise((resolve) => {
            if (res.body.readableEnded) resolve({ ...res.trailers });
            else res.body.once('end', () => resolve({ ...res.trailers })).once('error', () => resolve({}));
          }),
      };
    } catch (e) {
      throw classifyHttp1Error(e);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): void {
    // destroy() rejects pending requests; those rejections are reported by their own callers.
    this.pool.destroy().catch(() => undefined);
  }
}
