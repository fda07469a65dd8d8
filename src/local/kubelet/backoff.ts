// The crash-loop back-off of the kubelet: 10 s after a crash, doubling up to 5 min, forgotten once a
// container has run for twice the maximum without crashing.

export interface BackoffConfig {
  initialMs: number;
  maxMs: number;
}

export const KUBELET_BACKOFF: BackoffConfig = { initialMs: 10_000, maxMs: 300_000 };

export class RestartBackoff {
  private crashes = 0;

  constructor(private readonly config: BackoffConfig) {}

  /** The wait before restarting a container that ran for `ranForMs` and then exited. */
  next(ranForMs: number): number {
    if (ranForMs >= 2 * this.config.maxMs) this.crashes = 0;
    const delay = Math.min(this.config.initialMs * 2 ** this.crashes, this.config.maxMs);
    this.crashes = Math.min(this.crashes + 1, 30);
    return delay;
  }
}
