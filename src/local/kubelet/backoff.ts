// The crash-loop back-off of the kubelet: a container that crashes for the first time is restarted at
// once (the kubelet has no back-off entry for it yet), then after 10 s, doubling up to 5 min; forgotten
// once a container has run for twice the maximum without crashing. Image pulls back off from the first
// failure (`firstImmediately` false).

export interface BackoffConfig {
  initialMs: number;
  maxMs: number;
}

export const KUBELET_BACKOFF: BackoffConfig = { initialMs: 10_000, maxMs: 300_000 };

export class RestartBackoff {
  private crashes = 0;

  constructor(
    private readonly config: BackoffConfig,
    private readonly firstImmediately = false,
  ) {}

  /** The wait before restarting a container that ran for `ranForMs` and then exited. */
  next(ranForMs: number): number {
    if (ranForMs >= 2 * this.config.maxMs) this.crashes = 0;
    const step = this.firstImmediately ? this.crashes - 1 : this.crashes;
    const delay = step < 0 ? 0 : Math.min(this.config.initialMs * 2 ** step, this.config.maxMs);
    this.crashes = Math.min(this.crashes + 1, 30);
    return delay;
  }
}
