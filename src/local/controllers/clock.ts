// Time as the controllers see it. Injected so that back-off, minReadySeconds and progress deadlines
// are tested on virtual time instead of sleeps.

export type TimerHandle = number;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The wall clock. Handles are small integers so that fake and real clocks share one handle type. */
export function systemClock(): Clock {
  const timers = new Map<TimerHandle, NodeJS.Timeout>();
  let nextHandle = 1;
  return {
    now: () => Date.now(),
    setTimeout(callback, ms) {
      const handle = nextHandle++;
      timers.set(
        handle,
        setTimeout(() => {
          timers.delete(handle);
          callback();
        }, ms),
      );
      return handle;
    },
    clearTimeout(handle) {
      const timer = timers.get(handle);
      if (timer !== undefined) {
        clearTimeout(timer);
        timers.delete(handle);
      }
    },
  };
}

/** Virtual time: nothing fires until advance() moves the clock past a timer's due time. */
export class FakeClock implements Clock {
  private current: number;
  private nextHandle = 1;
  private readonly timers = new Map<TimerHandle, { due: number; callback: () => void }>();

  constructor(startMs = Date.UTC(2024, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle = this.nextHandle++;
    this.timers.set(handle, { due: this.current + Math.max(0, ms), callback });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle);
  }

  /** Timers not yet fired. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by ms, firing due timers in due order (each sees now() at its due time). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: [TimerHandle, { due: number; callback: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].due <= target && (next === undefined || entry[1].due < next[1].due)) next = entry;
      }
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.current = Math.max(this.current, next[1].due);
      next[1].callback();
    }
    this.current = target;
  }
}

/** RFC 3339 with second precision, as the apiserver writes timestamps. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
