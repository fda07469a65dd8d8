// A sliding window over scrapes of counters (Istio's request counters and duration buckets): each target's
// scrapes are kept for the window, and the increase of every series over the window (or since a later
// time) is the sum of its rises from scrape to scrape. A counter that went down restarted (Prometheus'
// reset rule: the new value is all increase). A series a target did not have in its previous scrape was
// born since (the first request of a new peer): all of its value is increase; one seen in a target's very
// first scrape has an unknown history and counts from there. Pure: times are passed in.
//
// Exports: SampleWindow, seriesKey.
import type { Sample } from '../telemetry/prom-text.js';

interface Point {
  at: number;
  values: Map<string, number>;
}

interface TargetRing {
  points: Point[];
}

/** A series' identity: name and sorted labels. */
export function seriesKey(sample: Pick<Sample, 'name' | 'labels'>): string {
  return `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
}

export interface WindowIncrease {
  /** One sample per series (summed over targets), value = increase. */
  samples: Sample[];
  /** The time the increases cover (ms): the window, or less while the window is still filling. */
  coveredMs: number;
}

export class SampleWindow {
  private readonly rings = new Map<string, TargetRing>();
  private readonly series = new Map<string, Pick<Sample, 'name' | 'labels'>>();

  /**
   * @param keepMs how far back scrapes are kept (the longest window asked for)
   * @param keep which series are kept (others are dropped on arrival, to bound memory)
   */
  constructor(
    private readonly keepMs: number,
    private readonly keep: (name: string) => boolean = () => true,
  ) {}

  /** Records one scrape of `target` taken at `at` (ms). */
  add(target: string, at: number, samples: readonly Sample[]): void {
    const values = new Map<string, number>();
    for (const s of samples) {
      if (!this.keep(s.name) || !Number.isFinite(s.value)) continue;
      const key = seriesKey(s);
      if (!this.series.has(key)) this.series.set(key, { name: s.name, labels: s.labels });
      values.set(key, (values.get(key) ?? 0) + s.value);
    }
    const ring = this.rings.get(target) ?? { points: [] };
    this.rings.set(target, ring);
    ring.points.push({ at, values });
    // Keep one scrape at or before the window's start: the baseline of the first rise in the window.
    while (ring.points.length > 2 && ring.points[1]!.at <= at - this.keepMs) ring.points.shift();
  }

  /** Forgets targets not in `live` (pods that went away: their counters are no longer read). */
  retain(live: ReadonlySet<string>): void {
    for (const target of [...this.rings.keys()]) if (!live.has(target)) this.rings.delete(target);
    const used = new Set<string>();
    for (const ring of this.rings.values()) for (const p of ring.points) for (const k of p.values.keys()) used.add(k);
    for (const key of [...this.series.keys()]) if (!used.has(key)) this.series.delete(key);
  }

  /** Increase of every series from `now - windowMs` (or `since`, when later) to `now`, over all targets. */
  increases(now: number, windowMs: number, since?: number): WindowIncrease {
    const start = Math.max(now - windowMs, since ?? -Infinity);
    const totals = new Map<string, number>();
    let earliest = now;
    for (const ring of this.rings.values()) {
      // The baseline: the last scrape at or before the start, else the first one after it.
      let first = ring.points.findIndex((p) => p.at > start) - 1;
      if (first === -2) continue; // every scrape is older than the start: nothing happened since that we saw
      if (first < 0) first = 0;
      const base = ring.points[first]!;
      if (ring.points.length - first < 2) continue;
      earliest = Math.min(earliest, Math.max(base.at, start));
      for (let i = first + 1; i < ring.points.length; i++) {
        const before = ring.points[i - 1]!.values;
        for (const [key, value] of ring.points[i]!.values) {
          const was = before.get(key);
          const rise = was === undefined ? value : value >= was ? value - was : value;
          if (rise > 0) totals.set(key, (totals.get(key) ?? 0) + rise);
        }
      }
    }
    const samples: Sample[] = [];
    for (const [key, value] of totals) {
      const s = this.series.get(key);
      if (s) samples.push({ name: s.name, labels: s.labels, value });
    }
    return { samples, coveredMs: Math.max(now - earliest, 0) };
  }
}
