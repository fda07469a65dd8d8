// Reading a pod's merged metrics (the agent's POD_IP:15020/stats/prometheus: Envoy's and Istio's series in
// one scrape), as Prometheus does through the pod's prometheus.io annotations: where, and the samples.
// Used by the canary analysis (the destination pods of a Service) and the dashboard (every mesh pod).
//
// Exports: mergedMetricsUrl(pod), scrapeMergedMetrics(url, timeoutMs).
import type { V1Pod } from '@kubernetes/client-node';
import { fetchFailure } from '../net/fetch-error.js';
import { parsePrometheusText, type Sample } from './prom-text.js';
import { MERGED_METRICS_PATH, MERGED_METRICS_PORT } from './istio-metric-names.js';

/** The scrape URL of a running pod with an IP (its prometheus.io/port and /path annotations, else 15020 and /stats/prometheus); undefined otherwise. */
export function mergedMetricsUrl(pod: V1Pod): string | undefined {
  const ip = pod.status?.podIP;
  if (pod.status?.phase !== 'Running' || !ip || pod.metadata?.deletionTimestamp) return undefined;
  const annotations = pod.metadata?.annotations ?? {};
  const port = annotations['prometheus.io/port'] ?? String(MERGED_METRICS_PORT);
  const path = annotations['prometheus.io/path'] ?? MERGED_METRICS_PATH;
  return `http://${ip}:${port}${path}`;
}

/** The samples of one scrape; throws `scrape of URL failed: ...` on a network error, a non-200 answer or unreadable text. */
export async function scrapeMergedMetrics(url: string, timeoutMs = 5_000): Promise<Sample[]> {
  let text: string;
  let status: number;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
    status = res.status;
  } catch (err) {
    throw new Error(`scrape of ${url} failed: ${fetchFailure(err)}`);
  }
  if (status !== 200) throw new Error(`scrape of ${url} failed: HTTP ${status}`);
  return parsePrometheusText(text);
}
