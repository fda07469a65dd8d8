// The contract between the request path and the connection pools of one endpoint.

import type { Readable } from 'node:stream';
import type { HeaderRecord } from '../filters/headers.js';
import type { Cancel } from './cancel.js';

export interface UpstreamRequest {
  method: string;
  /** Path with query, origin-form. */
  path: string;
  authority: string;
  /** Owned by this request (built for it by the caller): an HTTP/1.1 pool sets `host` in it rather than copy it. */
  headers: HeaderRecord;
  /** null: no body; Buffer: replayable (retries possible); Readable: streamed once. */
  body: Buffer | Readable | null;
  /** Aborts the attempt (route timeout, per-try timeout, downstream gone). */
  signal: Cancel;
}

export interface UpstreamResponse {
  status: number;
  /** Lower-case names, as received (hop-by-hop ones included): read, or copy with forwardableHeaders. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Readable;
  /** Resolves with the response trailers (empty when none) once the body ended. */
  trailers(): Promise<HeaderRecord>;
  /**
   * Optional fast path: the whole body when it already arrived and nothing read the stream yet (most
   * small responses arrive with their headers). Taking it ends the exchange: `body` must not be read
   * then. undefined when the body is still coming or already being read.
   */
  takeWholeBody?(): Buffer | undefined;
}

/** Why an attempt failed before response headers: the words of Envoy's retry_on and response flags. */
export type UpstreamFailureKind = 'connect-failure' | 'reset' | 'refused-stream' | 'aborted';

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

/** A keep-alive connection pool to one endpoint (one per endpoint and protocol). */
export interface EndpointPool {
  /** Rejects with UpstreamFailure when no response headers arrived. */
  request(req: UpstreamRequest): Promise<UpstreamResponse>;
  /** Stop taking requests; resolves once in-flight requests finished. */
  close(): Promise<void>;
  /** Tear down now (in-flight requests fail). */
  destroy(): void;
}
