// Where the dashboard's request counts come from (I/O): the mesh pods' merged metrics, scraped every
// refresh into a sliding window (the default: nothing to install), or Prometheus, asked with PromQL for
// the increase of Istio's series over the window. Both give the same thing: one sample per series with
// its increase, so the topology and the splits are computed the same way from either.
//
// Exports: TelemetrySource, ScrapeTelemetry, PrometheusTelemetry, ScrapeTarget.
import type { Sample } from '../telemetry/prom-text.js';
import { fetchFailure } from '../net/fetch-error.js';
import { ISTIO_REQUEST_DURATION, ISTIO_REQUESTS_TOTAL } from '../telemetry/istio-metric-names.js';
import { scrapeMergedMetrics } from '../telemetry/merged-metrics.js';
import { SampleWindow, type WindowIncrease } from './sample-window.js';
import { REQUEST_SERIES } from './traffic.js';

export interface ScrapeTarget {
  url: string;
  /** `cluster/namespace/pod`, for problems. */
  pod: string;
}

export interface TelemetrySource {
  readonly kind: 'proxies' | 'prometheus';
  /** Reads what this refresh needs (the scrape source scrapes every target); returns what could not be read. */
  refresh(targets: readonly ScrapeTarget[], now: number): Promise<string[]>;
  /** Increases over the window ending now, or since `since` when that is later. */
  increases(now: number, windowMs: number, since?: number): Promise<WindowIncrease>;
}

export class ScrapeTelemetry implements TelemetrySource {
  readonly kind = 'proxies';
  private readonly window: SampleWindow;

  constructor(
    windowMs: number,
    private readonly timeoutMs = 3_000,
  ) {
    this.window = new SampleWindow(windowMs, (name) => REQUEST_SERIES.includes(name));
  }

  async refresh(targets: readonly ScrapeTarget[], now: number): Promise<string[]> {
    const failed: string[] = [];
    await Promise.all(
      targets.map(async (t) => {
        try {
          this.window.add(t.url, now, await scrapeMergedMetrics(t.url, this.timeoutMs));
        } catch (err) {
          failed.push(`${t.pod}: ${(err as Error).message}`);
        }
      }),
    );
    this.window.retain(new Set(targets.map((t) => t.url)));
    if (failed.length === 0) return [];
    failed.sort();
    return [`${failed.length} of ${targets.length} mesh pod(s) could not be scraped, their requests are missing from the rates: ${failed.slice(0, 3).join('; ')}${failed.length > 3 ? '; ...' : ''}`];
  }

  increases(now: number, windowMs: number, since?: number): Promise<WindowIncrease> {
    return Promise.resolve(this.window.increases(now, windowMs, since));
  }
}

/** Istio's labels the dashboard reads: who called whom, the answer, mTLS. */
const BY_LABELS = [
  'reporter', 'source_workload', 'source_workload_namespace', 'source_app', 'source_version', 'source_cluster',
  'destination_workload', 'destination_workload_namespace', 'destination_app', 'destination_version', 'destination_service', 'destination_cluster',
  'response_code', 'connection_security_policy',
];

/** A PromQL range of whole seconds (at least 1s). */
export function promRange(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}

/** The two instant queries: request counts and duration buckets, summed by the labels above, over `ms`. */
export function windowQueries(ms: number): string[] {
  const r = promRange(ms);
  return [
    `sum by (${BY_LABELS.join(', ')}) (increase(${ISTIO_REQUESTS_TOTAL}[${r}]))`,
    `sum by (${[...BY_LABELS, 'le'].join(', ')}) (increase(${ISTIO_REQUEST_DURATION}_bucket[${r}]))`,
  ];
}

interface PromVectorAnswer {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: Array<{ metric?: Record<string, string>; value?: [number, string] }> };
}

export class PrometheusTelemetry implements TelemetrySource {
  readonly kind = 'prometheus';

  constructor(
    private readonly address: string,
    private readonly timeoutMs = 10_000,
  ) {}

  refresh(): Promise<string[]> {
    // Prometheus scrapes the pods itself; each query reads its range.
    return Promise.resolve([]);
  }

  private async query(promql: string, name: string): Promise<Sample[]> {
    const url = `${this.address}/api/v1/query?query=${encodeURIComponent(promql)}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new Error(`Prometheus ${this.address} unreachable: ${fetchFailure(err)}`);
    }
    const body = (await res.json().catch(() => ({ status: 'error', error: 'the answer is not JSON' }))) as PromVectorAnswer;
    if (res.status !== 200 || body.status !== 'success') throw new Error(`Prometheus ${this.address} answered HTTP ${res.status} to ${promql}: ${body.error ?? 'no data'}`);
    return (body.data?.result ?? []).flatMap((r) => {
      const value = Number(r.value?.[1]);
      return Number.isFinite(value) && value > 0 ? [{ name, labels: r.metric ?? {}, value }] : [];
    });
  }

  async increases(_now: number, windowMs: number, since?: number): Promise<WindowIncrease> {
    const ms = since !== undefined ? Math.min(windowMs, Math.max(_now - since, 1000)) : windowMs;
    const [requests, buckets] = windowQueries(ms);
    const [a, b] = await Promise.all([this.query(requests!, ISTIO_REQUESTS_TOTAL), this.query(buckets!, `${ISTIO_REQUEST_DURATION}_bucket`)]);
    return { samples: [...a, ...b], coveredMs: ms };
  }
}
