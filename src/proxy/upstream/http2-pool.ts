// HTTP/2 (cleartext, prior knowledge) to one endpoint: one multiplexed session, re-established on demand.
// Used when the cluster asks for HTTP/2 upstream (gRPC).

import { errorText } from '../log.js';
import * as http2 from 'node:http2';
import type { Clock } from '../../clock.js';
import { definedHeaders, type HeaderRecord } from '../filters/headers.js';
import type { UpstreamConnector } from './transport.js';
import { UpstreamFailure, type EndpointPool, type UpstreamRequest, type UpstreamResponse } from './types.js';

interface SessionState {
  session: http2.ClientHttp2Session;
  connected: Promise<void>;
}

export class Http2Pool implements EndpointPool {
  private current: SessionState | undefined;
  private inFlight = 0;
  private closing = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly origin: string,
    private readonly connectTimeoutMs: number,
    private readonly clock: Clock,
    private readonly connector?: UpstreamConnector,
  ) {}

  private sessionState(): SessionState {
    if (this.current && !this.current.session.closed && !this.current.session.destroyed) return this.current;
    const connector = this.connector;
    const url = new URL(this.origin);
    const session = connector
      ? http2.connect(this.origin, { createConnection: () => connector.connect(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port)) })
      : http2.connect(this.origin);
    const connected = new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimer(() => {
        reject(new UpstreamFailure('connect-failure', `connect timeout after ${this.connectTimeoutMs} ms`));
        session.destroy();
      }, this.connectTimeoutMs);
      session.once('connect', () => {
        timer.cancel();
        resolve();
      });
      session.once('error', (e: Error) => {
        timer.cancel();
        reject(new UpstreamFailure('connect-failure', e.message));
      });
    });
    // The session error is delivered to the waiting requests through `connected` or their streams.
    connected.catch(() => undefined);
    session.on('error', () => undefined);
    session.on('close', () => {
      if (this.current?.session === session) this.current = undefined;
    });
    const state = { session, connected };
    this.current = state;
    return state;
  }

  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    if (this.closing) throw new UpstreamFailure('connect-failure', 'pool is closing');
    const state = this.sessionState();
    this.inFlight++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    };
    try {
      await state.connected;
    } catch (e) {
      release();
      throw e;
    }
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = { ...req.headers, ':method': req.method, ':path': req.path, ':authority': req.authority, ':scheme': 'http' };
      delete headers['host'];
      let stream: http2.ClientHttp2Stream;
      try {
        stream = state.session.request(headers, { endStream: req.body === null, signal: req.signal.asAbortSignal() });
      } catch (e) {
        release();
        reject(new UpstreamFailure('reset', errorText(e)));
        return;
      }
      let trailers: HeaderRecord = {};
      const ended = new Promise<HeaderRecord>((res) => {
        stream.once('close', () => res(trailers));
      });
      stream.once('trailers', (t: http2.IncomingHttpHeaders) => (trailers = definedHeaders(t)));
      stream.once('close', release);
      stream.once('response', (h: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader) => {
        const status = Number(h[':status'] ?? 502);
        const out = definedHeaders(h);
        for (const k of Object.keys(out)) if (k.startsWith(':')) delete out[k];
        resolve({ status, headers: out, body: stream, trailers: () => ended });
      });
      stream.once('error', (e: Error & { code?: string }) => {
        const kind = e.name === 'AbortError' ? 'aborted' : e.code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED/.test(e.message) ? 'refused-stream' : 'reset';
        reject(new UpstreamFailure(kind, e.message));
      });
      if (Buffer.isBuffer(req.body)) stream.end(req.body);
      else if (req.body) req.body.pipe(stream);
    });
  }

  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      const finish = (): void => {
        this.current?.session.close();
        resolve();
      };
      if (this.inFlight === 0) finish();
      else this.drained = finish;
    });
  }

  destroy(): void {
    this.closing = true;
    this.current?.session.destroy();
  }
}
