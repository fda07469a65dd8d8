// A queue of object keys with client-go's work queue semantics: a key is held at most once while it
// waits, is never processed by two workers at once, and a key added while it is being processed is
// processed again afterwards. Failed keys come back after an exponential per-key back-off.
import type { Clock, TimerHandle } from '../../clock.js';

export interface WorkQueueOptions {
  clock: Clock;
  /** First retry delay after a failure; doubles per consecutive failure of the same key. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called whenever a key becomes ready, so a runner can schedule a drain. */
  onReady?: () => void;
}

export class WorkQueue {
  /** Keys waiting to be processed, in arrival order (a Set keeps insertion order and dedupes). */
  private readonly ready = new Set<string>();
  /** Keys that must be processed (again): waiting, or added while being processed. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { due: number; handle: TimerHandle }>();
  private shuttingDown = false;

  constructor(private readonly opts: WorkQueueOptions) {}

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.ready.add(key);
    this.opts.onReady?.();
  }

  /** Adds the key once ms have passed; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const due = this.opts.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.due <= due) return;
      pending.handle.cancel();
    }
    const handle = this.opts.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { due, handle });
  }

  /** Re-adds a failed key after its back-off; returns the delay chosen. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const base = this.opts.baseDelayMs ?? 5;
    const max = this.opts.maxDelayMs ?? 300_000;
    const delay = Math.min(max, base * 2 ** Math.min(n, 30));
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure history after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Takes the next ready key, or undefined when none is ready. Call done(key) when finished. */
  get(): string | undefined {
    const first = this.ready.values().next();
    if (first.done) return undefined;
    const key = first.value;
    this.ready.delete(key);
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.ready.add(key);
      this.opts.onReady?.();
    }
  }

  /** Nothing ready and nothing being processed (delayed keys do not count: they wait on the clock). */
  isIdle(): boolean {
    return this.ready.size === 0 && this.processing.size === 0;
  }

  readyCount(): number {
    return this.ready.size;
  }

  delayedCount(): number {
    return this.delayed.size;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) handle.cancel();
    this.delayed.clear();
    this.ready.clear();
    this.dirty.clear();
  }
}
