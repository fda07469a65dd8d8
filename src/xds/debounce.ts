// Push debouncing, as Istio's PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX: change events are
// coalesced; the batch fires once `quietMs` pass without a new event, or at the latest
// `maxDelayMs` after the first event of the batch. While an asynchronous fire runs, new events
// collect into the next batch, which is scheduled only after the running fire settles.

import { systemClock, type Clock, type TimerHandle } from '../clock.js';

export interface DebouncerOptions<E> {
  /** Receives the batch, in arrival order. May return a promise; the next batch waits for it. */
  fire: (events: E[]) => void | Promise<void>;
  quietMs?: number;
  maxDelayMs?: number;
  clock?: Clock;
  /** A fire that threw or rejected (the batch is not retried). Defaults to stderr. */
  onError?: (err: unknown) => void;
}

export class Debouncer<E = void> {
  private readonly quietMs: number;
  private readonly maxDelayMs: number;
  private readonly clock: Clock;
  private readonly onError: (err: unknown) => void;
  private events: E[] = [];
  private firstAt = 0;
  private lastAt = 0;
  private timer: TimerHandle | undefined;
  private firing = false;
  private stopped = false;

  constructor(private readonly opts: DebouncerOptions<E>) {
    this.quietMs = opts.quietMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 1000;
    if (this.quietMs < 0 || this.maxDelayMs < this.quietMs) {
      throw new Error(`Debouncer: need 0 <= quietMs (${this.quietMs}) <= maxDelayMs (${this.maxDelayMs})`);
    }
    this.clock = opts.clock ?? systemClock;
    this.onError = opts.onError ?? ((err) => process.stderr.write(`debounce: fire failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`));
  }

  push(event: E): void {
    if (this.stopped) throw new Error('Debouncer: push after stop');
    const now = this.clock.now();
    if (this.events.length === 0) this.firstAt = now;
    this.lastAt = now;
    this.events.push(event);
    if (!this.firing) this.schedule();
  }

  /** Events waiting for the next fire. */
  pending(): number {
    return this.events.length;
  }

  /** Fires the pending batch now (if any and no fire is running). */
  flush(): void {
    this.cancelTimer();
    if (this.events.length > 0 && !this.firing) this.fireNow();
  }

  /** Drops pending events and timers; later pushes throw. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer();
    this.events = [];
  }

  private schedule(): void {
    this.cancelTimer();
    if (this.events.length === 0) return;
    const due = Math.min(this.lastAt + this.quietMs, this.firstAt + this.maxDelayMs);
    const wait = Math.max(0, due - this.clock.now());
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.fireNow();
    }, wait);
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private fireNow(): void {
    const batch = this.events;
    this.events = [];
    this.firing = true;
    const settle = (): void => {
      this.firing = false;
      if (this.stopped) return;
      // Events that arrived during the fire keep their own timing; the first of them starts the max window.
      this.schedule();
    };
    let result: void | Promise<void>;
    try {
      result = this.opts.fire(batch);
    } catch (err) {
      this.onError(err);
      settle();
      return;
    }
    if (result instanceof Promise) {
      result.then(settle, (err: unknown) => {
        this.onError(err);
        settle();
      });
    } else {
      settle();
    }
  }
}
