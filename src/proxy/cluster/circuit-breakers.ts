// A cluster's circuit breakers (its DEFAULT-priority thresholds), counted as Envoy counts them:
// - max_requests: requests in flight to the cluster; one more overflows.
// - max_connections / max_pending_requests (HTTP/1.1 upstreams, one request per connection): a
//   request that finds every allowed connection busy waits as pending; one beyond
//   max_pending_requests overflows. A finished request hands its connection to the oldest waiter.
// - max_retries: retries in progress (from the decision to retry until that attempt's outcome);
//   a retry beyond it is not made and the last answer stands.
// Overflow is Envoy's: 503, response flag UO, `x-envoy-overloaded: true`, never retried. Connections
// are counted as busy HTTP/1.1 exchanges: an idle keep-alive connection is free for the next request
// (Envoy counts it as open but reuses it before opening another), so the outcomes agree.

import type { CircuitBreakerLimits } from '../model/cluster.js';
import type { Cancel } from '../upstream/cancel.js';

export type Admission = { kind: 'admitted'; release: () => void } | { kind: 'overflow' } | { kind: 'aborted' };

export class CircuitBreakers {
  requests = 0;
  pending = 0;
  retries = 0;
  busyConnections = 0;
  /** Overflow counters, as Envoy's upstream_rq_pending_overflow / upstream_rq_retry_overflow. */
  overflows = { requests: 0, pending: 0, retries: 0 };
  private readonly waiters: Array<() => void> = [];

  constructor(public limits: CircuitBreakerLimits) {}

  /**
   * Admits one attempt on an HTTP/1.1 (`oneRequestPerConnection`) or HTTP/2 upstream: at once when a
   * connection is free (the common case, no promise), else once one is handed over.
   */
  admit(oneRequestPerConnection: boolean, signal: Cancel): Admission | Promise<Admission> {
    if (!oneRequestPerConnection) return this.admitRequest(false);
    if (this.busyConnections < this.limits.maxConnections) {
      this.busyConnections++;
      return this.admitRequest(true);
    }
    if (this.pending >= this.limits.maxPendingRequests) {
      this.overflows.pending++;
      return { kind: 'overflow' };
    }
    this.pending++;
    return this.waitForConnection(signal).then((handedOver) => {
      this.pending--;
      return handedOver ? this.admitRequest(true) : { kind: 'aborted' };
    });
  }

  private admitRequest(holdsConnection: boolean): Admission {
    if (this.requests >= this.limits.maxRequests) {
      if (holdsConnection) this.freeConnection();
      this.overflows.requests++;
      return { kind: 'overflow' };
    }
    this.requests++;
    let released = false;
    return {
      kind: 'admitted',
      release: () => {
        if (released) return;
        released = true;
        this.requests--;
        if (holdsConnection) this.freeConnection();
      },
    };
  }

  /** Starts a retry if max_retries allows; the caller ends it with retryEnded(). */
  tryRetry(): boolean {
    if (this.retries >= this.limits.maxRetries) {
      this.overflows.retries++;
      return false;
    }
    this.retries++;
    return true;
  }

  retryEnded(): void {
    this.retries--;
  }

  private waitForConnection(signal: Cancel): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const waiter = (): void => {
        stop();
        resolve(true);
      };
      const stop = signal.onAbort(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      });
      this.waiters.push(waiter);
    });
  }

  /** The connection goes to the oldest pending request, or becomes free. */
  private freeConnection(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.busyConnections--;
  }
}
