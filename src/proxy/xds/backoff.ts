// Reconnect back-off: exponential with full jitter, capped (gRPC's connection back-off, simplified).

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Fraction of the delay randomised away (0: deterministic, for tests). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, multiplier: 1.6, jitter: 0.2 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call grows it. */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * this.opts.multiplier ** this.attempt);
    this.attempt++;
    return base * (1 - this.opts.jitter * this.random());
  }

  /** A stream that delivered a response is healthy: start over. */
  reset(): void {
    this.attempt = 0;
  }
}
