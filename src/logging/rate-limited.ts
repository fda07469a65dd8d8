// Repeated log lines, rate-limited with counts: a misbehaving peer (a NACK storm, a client asking for a
// type we do not serve in a loop) must not fill the disk, and what was held back is still counted.
// Lines are grouped by a key the caller chooses (e.g. "nack LDS"); each key may log `burst` lines per
// window; the rest are counted and summed up in one line when the next line of that key passes.
import { systemClock, type Clock } from '../clock.js';

export interface RateLimitOptions {
  /** Lines per key per window that pass as they are (default 5). */
  burst?: number;
  /** The window in ms (default 10 000). */
  windowMs?: number;
  clock?: Clock;
}

export type KeyedLog = (key: string, line: string) => void;

export function rateLimitedLog(log: (line: string) => void, opts: RateLimitOptions = {}): KeyedLog & { suppressed(): number } {
  const burst = opts.burst ?? 5;
  const windowMs = opts.windowMs ?? 10_000;
  const clock = opts.clock ?? systemClock;
  const windows = new Map<string, { start: number; passed: number; held: number }>();
  let suppressedTotal = 0;
  const keyed = (key: string, line: string): void => {
    const now = clock.now();
    let w = windows.get(key);
    if (!w || now - w.start >= windowMs) {
      if (w && w.held > 0) log(`${line} [and ${w.held} more "${key}" lines held back in the previous ${Math.round(windowMs / 1000)} s]`);
      else log(line);
      windows.set(key, { start: now, passed: 1, held: 0 });
      // Keys seen once long ago need not be remembered forever.
      if (windows.size > 10_000) for (const [k, v] of windows) if (now - v.start >= windowMs) windows.delete(k);
      return;
    }
    if (w.passed < burst) {
      w.passed++;
      log(line);
      return;
    }
    if (w.held === 0) log(`${line} [further "${key}" lines are held back for up to ${Math.round(windowMs / 1000)} s and counted]`);
    w.held++;
    suppressedTotal++;
  };
  return Object.assign(keyed, { suppressed: () => suppressedTotal });
}
