// The router filter's upstream part: send one request to a cluster with the route's timeout and retry
// policy. Each attempt picks a host (a retry with the previous_hosts predicate re-selects away from
// hosts already tried), goes through that host's pool, and reports its result to outlier detection.
// The outcome is either an upstream response to stream back, or a local reply with Envoy's status,
// body and response flag.

import type { Clock, TimerHandle } from '../../clock.js';
import type { ClusterRuntime } from '../cluster/cluster.js';
import type { Host } from '../cluster/host.js';
import type { HeaderRecord } from '../filters/headers.js';
import type { RetryPolicy } from '../model/route.js';
import { PassThrough, type Readable } from 'node:stream';
import { Cancel } from './cancel.js';
import { isRetriable, retryBackoffMs, type AttemptOutcome } from './retry.js';
import { UpstreamFailure, type UpstreamResponse } from './types.js';

export interface ForwardRequest {
  method: string;
  path: string;
  authority: string;
  headers: HeaderRecord;
  body: Buffer | import('node:stream').Readable | null;
  timeoutMs: number;
  retry: RetryPolicy | undefined;
  /** Set x-envoy-expected-rq-timeout-ms on each attempt (Envoy does unless suppress_envoy_headers). */
  expectedTimeoutHeader?: boolean;
  /** Aborted when the downstream goes away. */
  downstreamSignal: Cancel;
  /** The request's consistent-hash key (route hash_policy), for ring hash and Maglev clusters. */
  hash?: bigint;
}

export interface LocalReply {
  kind: 'local';
  status: number;
  body: string;
  /** Envoy response flag: UH, UF, UC, UT, URX, DC, UO. */
  flag: string;
  host: Host | undefined;
  attempts: number;
  /** A circuit breaker shed the request: Envoy adds `x-envoy-overloaded: true`. */
  overloaded?: boolean;
}

export interface UpstreamReply {
  kind: 'upstream';
  response: UpstreamResponse;
  host: Host;
  attempts: number;
  /** ms from the first attempt to the response headers. */
  upstreamTimeMs: number;
  /** Call once the response body is done to count the request out of the host's active ones. */
  done(): void;
  /** Response flags of an answered request (UO: a retry was not made because of max_retries). */
  flag?: string;
}

export type ForwardResult = UpstreamReply | LocalReply;

export interface ForwardDeps {
  clock: Clock;
  random: () => number;
  onRetry?: (cluster: string) => void;
}

export const NO_HEALTHY_UPSTREAM = 'no healthy upstream';
export const CONNECT_FAILURE_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
export const RESET_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';
export const TIMEOUT_BODY = 'upstream request timeout';
export const OVERFLOW_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';

function sleep(clock: Clock, ms: number, signal: Cancel): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    let timer: TimerHandle | undefined;
    const stopListening = signal.onAbort(() => {
      timer?.cancel();
      resolve();
    });
    timer = clock.setTimer(() => {
      stopListening();
      resolve();
    }, ms);
  });
}

const noop = (): void => undefined;

function failureReply(outcome: AttemptOutcome, host: Host | undefined, attempts: number): LocalReply {
  if (outcome.kind === 'per-try-timeout') return { kind: 'local', status: 504, body: TIMEOUT_BODY, flag: 'UT', host, attempts };
  if (outcome.kind === 'failure' && outcome.failure === 'connect-failure') return { kind: 'local', status: 503, body: CONNECT_FAILURE_BODY, flag: 'UF', host, attempts };
  return { kind: 'local', status: 503, body: RESET_BODY, flag: 'UC', host, attempts };
}

/**
 * Envoy's FilterUtility::setTimeoutHeaders: what this attempt may take, the per-try timeout (else the
 * route timeout) capped by what is left of the route timeout; no header when neither is set.
 */
function setExpectedTimeout(headers: HeaderRecord, perTryMs: number, routeMs: number, elapsedMs: number): void {
  let expected = perTryMs || routeMs;
  if (expected > 0 && routeMs > 0) expected = Math.min(expected, routeMs - Math.floor(elapsedMs));
  if (expected > 0) headers['x-envoy-expected-rq-timeout-ms'] = String(expected);
  else delete headers['x-envoy-expected-rq-timeout-ms'];
}

export async function forward(cluster: ClusterRuntime, req: ForwardRequest, deps: ForwardDeps): Promise<ForwardResult> {
  const { clock } = deps;
  const overall = new Cancel();
  let timedOut = false;
  const stopDownstream = req.downstreamSignal.onAbort(() => overall.abort());
  const routeTimer: TimerHandle | undefined =
    req.timeoutMs > 0
      ? clock.setTimer(() => {
          timedOut = true;
          overall.abort();
        }, req.timeoutMs)
      : undefined;
  const cleanup = (): void => {
    routeTimer?.cancel();
    stopDownstream();
  };
  const start = clock.now();
  // Hosts already tried, for a retry policy with the previous_hosts predicate.
  let tried: Set<string> | undefined;
  // A streamed body (gRPC: never held back, streams may be long) is sent as it comes and kept on the side:
  // a retry is possible once it has ended within the replay limit, as Envoy's router buffers it.
  const replay = req.retry && req.retry.numRetries > 0 && req.body && !Buffer.isBuffer(req.body) ? new ReplayableBody(req.body) : undefined;
  const maxAttempts = 1 + (req.retry ? req.retry.numRetries : 0);
  const canRetry = (): boolean => replay === undefined || replay.complete();
  const priorities = maxAttempts > 1 && req.retry?.previousPriorities ? new PreviousPriorities(req.retry.previousPriorities.updateFrequency) : undefined;
  let last: { outcome: AttemptOutcome; host: Host | undefined } | undefined;
  let attempts = 0;
  const breakers = cluster.breakers;
  // A retry holds a max_retries slot from the decision until its attempt's outcome is known.
  let holdingRetry = false;
  const endRetry = (): void => {
    if (holdingRetry) breakers.retryEnded();
    holdingRetry = false;
  };
  /** Whether a retriable outcome may be retried: attempts left, and max_retries not reached (else UO). */
  let retryOverflow = false;
  const mayRetry = (attempt: number): boolean => {
    endRetry();
    if (attempt >= maxAttempts) return false;
    if (!breakers.tryRetry()) {
      retryOverflow = true;
      return false;
    }
    holdingRetry = true;
    return true;
  };
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) {
        deps.onRetry?.(cluster.name);
        if (req.retry) await sleep(clock, retryBackoffMs(req.retry, attempt - 2, deps.random), overall);
      }
      if (overall.aborted) break;
      const host = cluster.pick(tried, req.retry?.hostSelectionRetries, req.hash, priorities?.excluded());
      if (!host) {
        if (!last) {
          cleanup();
          return { kind: 'local', status: 503, body: NO_HEALTHY_UPSTREAM, flag: 'UH', host: undefined, attempts: attempt - 1 };
        }
        break;
      }
      if (maxAttempts > 1 && req.retry?.avoidPreviousHosts) (tried ??= new Set()).add(host.key);
      priorities?.attempted(host.endpoint.priority);
      const admitted = breakers.admit(!cluster.spec.http2, overall);
      const admission = admitted instanceof Promise ? await admitted : admitted;
      if (admission.kind === 'aborted') break;
      if (admission.kind === 'overflow') {
        // Envoy's pool overflow: a reset the router never retries.
        cleanup();
        return { kind: 'local', status: 503, body: OVERFLOW_BODY, flag: 'UO', host, attempts, overloaded: true };
      }
      attempts++;
      const perTryMs = req.retry && req.retry.perTryTimeoutMs > 0 ? req.retry.perTryTimeoutMs : 0;
      if (req.expectedTimeoutHeader) setExpectedTimeout(req.headers, perTryMs, req.timeoutMs, clock.now() - start);
      // A lone attempt without its own timeout is cancelled exactly when the whole request is: it shares
      // the request's token rather than pay for a second one per request.
      const sharesToken = maxAttempts === 1 && perTryMs === 0;
      const attemptAbort = sharesToken ? overall : new Cancel();
      const stopOverall = sharesToken ? noop : overall.onAbort(() => attemptAbort.abort());
      let perTryTimedOut = false;
      const perTry = perTryMs > 0 ? clock.setTimer(() => ((perTryTimedOut = true), attemptAbort.abort()), perTryMs) : undefined;
      host.active++;
      host.total++;
      let released = false;
      const release = (): void => {
        if (!released) {
          released = true;
          host.active--;
          admission.release();
        }
      };
      try {
        const body = replay ? (attempt === 1 ? replay.stream : replay.buffered()) : req.body;
        const response = await host.pool.request({ method: req.method, path: req.path, authority: req.authority, headers: req.headers, body, signal: attemptAbort });
        perTry?.cancel();
        stopOverall();
        cluster.recordResult(host, { status: response.status });
        const grpcStatus = response.headers['grpc-status'];
        const outcome: AttemptOutcome = { kind: 'status', status: response.status, grpcStatus: typeof grpcStatus === 'string' && grpcStatus !== '' ? Number(grpcStatus) : undefined };
        if (isRetriable(req.retry, outcome) && canRetry() && mayRetry(attempt)) {
          // Discard this response's body to free the connection, then try again.
          response.body.resume();
          response.body.on('error', () => undefined);
          release();
          last = { outcome, host };
          continue;
        }
        cleanup();
        replay?.release();
        const answered: UpstreamReply = { kind: 'upstream', response, host, attempts: attempt, upstreamTimeMs: clock.now() - start, done: release };
        if (retryOverflow) answered.flag = 'UO';
        return answered;
      } catch (e) {
        perTry?.cancel();
        stopOverall();
        release();
        const failure = e instanceof UpstreamFailure ? e.kind : 'reset';
        if (overall.aborted) break;
        const outcome: AttemptOutcome = perTryTimedOut ? { kind: 'per-try-timeout' } : { kind: 'failure', failure };
        if (!perTryTimedOut) cluster.recordResult(host, { local: failure === 'connect-failure' ? 'connect-failure' : 'reset' });
        last = { outcome, host };
        if (!isRetriable(req.retry, outcome) || !canRetry() || !mayRetry(attempt)) break;
      }
    }
  } finally {
    endRetry();
  }
  cleanup();
  if (timedOut) return { kind: 'local', status: 504, body: TIMEOUT_BODY, flag: 'UT', host: last?.host, attempts };
  if (req.downstreamSignal.aborted) return { kind: 'local', status: 499, body: '', flag: 'DC', host: last?.host, attempts };
  if (!last) return { kind: 'local', status: 503, body: NO_HEALTHY_UPSTREAM, flag: 'UH', host: undefined, attempts: 0 };
  if (last.outcome.kind === 'status') {
    // Retries exhausted on a retriable status: unreachable since the last attempt returns its response.
    return { kind: 'local', status: last.outcome.status, body: '', flag: 'URX', host: last.host, attempts };
  }
  const reply = failureReply(last.outcome, last.host, attempts);
  if (maxAttempts > 1 && attempts >= maxAttempts) reply.flag += ',URX';
  if (retryOverflow) reply.flag += ',UO';
  return reply;
}

/**
 * Envoy's previous_priorities retry priority: every `updateFrequency` attempts the priorities attempted
 * so far are excluded from the next selections; when that would exclude every priority, none is.
 */
export class PreviousPriorities {
  private readonly tried: number[] = [];
  private exclude: ReadonlySet<number> | undefined;
  constructor(private readonly updateFrequency: number) {}

  attempted(priority: number): void {
    this.tried.push(priority);
    if (this.tried.length % this.updateFrequency === 0) this.exclude = new Set(this.tried);
  }

  excluded(): ReadonlySet<number> | undefined {
    return this.exclude;
  }
}

/** Envoy's default per-request buffer limit (the listener's 1 MiB): a body larger than this is sent once. */
const REPLAY_LIMIT = 1024 * 1024;

/** A request body streamed to the first attempt and kept, up to REPLAY_LIMIT, for retries. */
class ReplayableBody {
  readonly stream = new PassThrough();
  private chunks: Buffer[] | undefined = [];
  private size = 0;
  private ended = false;

  private readonly onData = (chunk: Buffer): void => {
    this.size += chunk.length;
    if (this.size > REPLAY_LIMIT) this.release();
    else this.chunks?.push(chunk);
  };

  constructor(private readonly source: Readable) {
    source.on('data', this.onData);
    source.once('end', () => (this.ended = true));
    source.pipe(this.stream);
  }

  /** No retry will come (an answer was taken, or the body outgrew the limit): stop keeping a copy. */
  release(): void {
    this.chunks = undefined;
    this.source.off('data', this.onData);
  }

  /** The whole body arrived and was kept: it can be sent again. */
  complete(): boolean {
    return this.ended && this.chunks !== undefined;
  }

  buffered(): Buffer {
    return Buffer.concat(this.chunks ?? []);
  }
}
