// Where the analysis gets its numbers (I/O): Prometheus' HTTP API when spec.analysis.prometheus is set,
// else the destination pods' merged metrics (POD_IP:15020/stats/prometheus), scraped twice and
// subtracted. A scrape source remembers its last scrape per canary, so a check measures the traffic
// since the previous check (or since the weight changed: the controller primes it then); with nothing
// remembered (the first check after a start) it scrapes twice, `fallbackWindowMs` apart.
//
// Exports: MetricsSource, MeasureRequest, Measurement, PrometheusSource, ProxyScrapeSource,
// podScrapeTargets.
import type { V1Pod } from '@kubernetes/client-node';
import { mergedMetricsUrl, scrapeMergedMetrics } from '../telemetry/merged-metrics.js';
import { measureDelta, promQueries, type SideSelector } from './analysis.js';
import type { KubeIo } from './kube-io.js';
import { fetchFailure } from '../net/fetch-error.js';
import type { Sample } from '../telemetry/prom-text.js';
import type { SideMeasurement } from '../config/canary/types.js';

export interface MeasureRequest {
  /** `namespace/name` of the Canary. */
  key: string;
  namespace: string;
  /** The short name of the host: the destination Service. */
  service: string;
  intervalMs: number;
  canaryWeight: number;
  baseline: SideSelector;
  canary: SideSelector;
}

export interface Measurement {
  source: 'prometheus' | 'proxies';
  canary: SideMeasurement;
  baseline: SideMeasurement;
}

export interface MetricsSource {
  measure(req: MeasureRequest): Promise<Measurement>;
  /** The weights just changed: what is measured next starts now. */
  prime(req: MeasureRequest): Promise<void>;
}

interface PromVector {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ value: [number, string] }> };
}

export class PrometheusSource implements MetricsSource {
  constructor(
    private readonly address: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private async query(promql: string): Promise<number | undefined> {
    const url = `${this.address.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(promql)}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new Error(`Prometheus ${this.address} unreachable: ${fetchFailure(err)}`);
    }
    const body = (await res.json().catch(() => ({ status: 'error', error: 'the answer is not JSON' }))) as PromVector;
    if (res.status !== 200 || body.status !== 'success') throw new Error(`Prometheus ${this.address} answered HTTP ${res.status} to ${promql}: ${body.error ?? 'no data'}`);
    const first = body.data?.result[0];
    if (!first) return undefined;
    const v = Number(first.value[1]);
    return Number.isFinite(v) ? v : undefined;
  }

  private async side(selector: SideSelector, intervalMs: number): Promise<SideMeasurement> {
    const q = promQueries(selector, intervalMs);
    const [requests, errors, p99] = await Promise.all([this.query(q.requests), this.query(q.errors), this.query(q.p99)]);
    const total = requests ?? 0;
    if (total <= 0) return { requests: 0 };
    return { requests: total, successRate: (100 * (total - (errors ?? 0))) / total, ...(p99 !== undefined ? { p99Ms: p99 } : {}) };
  }

  async measure(req: MeasureRequest): Promise<Measurement> {
    const [canary, baseline] = await Promise.all([this.side(req.canary, req.intervalMs), this.side(req.baseline, req.intervalMs)]);
    return { source: 'prometheus', canary, baseline };
  }

  async prime(): Promise<void> {
    // Prometheus keeps the history: the query's range is the interval.
  }
}

/** Merged-metrics URLs of the running pods of `service` in each cluster that has the Service. */
export async function podScrapeTargets(clusters: readonly KubeIo[], namespace: string, service: string): Promise<string[]> {
  const urls: string[] = [];
  for (const io of clusters) {
    const selector = await io.serviceSelector(namespace, service);
    if (!selector || Object.keys(selector).length === 0) continue;
    const pods: V1Pod[] = await io.listPods(namespace, selector);
    for (const pod of pods) {
      const url = mergedMetricsUrl(pod);
      if (url) urls.push(url);
    }
  }
  return urls;
}

interface Scrape {
  at: number;
  canaryWeight: number;
  samples: Sample[];
}

export interface ProxyScrapeOptions {
  targets: (namespace: string, service: string) => Promise<string[]>;
  /** The window of a check with no remembered scrape (default: the interval, at most 10 s). */
  fallbackWindowMs?: (intervalMs: number) => number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class ProxyScrapeSource implements MetricsSource {
  private readonly last = new Map<string, Scrape>();

  constructor(private readonly opts: ProxyScrapeOptions) {}

  private async scrapeAll(req: MeasureRequest): Promise<Scrape> {
    const targets = await this.opts.targets(req.namespace, req.service);
    if (targets.length === 0) throw new Error(`no running pod of Service ${req.namespace}/${req.service} to scrape in any driven cluster`);
    const samples = await Promise.all(
      targets.map(async (url) => {
        // The same series come from every pod of a workload: the target keeps them apart.
        return (await scrapeMergedMetrics(url, this.opts.timeoutMs ?? 5_000)).map((s) => ({ ...s, labels: { ...s.labels, __target__: url } }));
      }),
    );
    return { at: Date.now(), canaryWeight: req.canaryWeight, samples: samples.flat() };
  }

  async prime(req: MeasureRequest): Promise<void> {
    this.last.set(req.key, await this.scrapeAll(req));
  }

  async measure(req: MeasureRequest): Promise<Measurement> {
    let before = this.last.get(req.key);
    if (!before || before.canaryWeight !== req.canaryWeight) {
      before = await this.scrapeAll(req);
      const window = this.opts.fallbackWindowMs?.(req.intervalMs) ?? Math.min(req.intervalMs, 10_000);
      await (this.opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(window);
    }
    const after = await this.scrapeAll(req);
    this.last.set(req.key, after);
    return { source: 'proxies', canary: measureDelta(before.samples, after.samples, req.canary), baseline: measureDelta(before.samples, after.samples, req.baseline) };
  }

  forget(key: string): void {
    this.last.delete(key);
  }
}
