// Prometheus metrics of one proxy, named as Envoy's /stats/prometheus names them so dashboards and
// queries written for Envoy work. Each proxy has its own registry (tests run several in one process).

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

// Envoy's default histogram buckets (ms).
const ENVOY_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/**
 * Per-request counts by (name, code) kept in nested Maps and handed to prom-client only when scraped:
 * prom-client validates and hashes the label object on every inc(), which cost more than the rest of
 * the stats on the request path. The name (a cluster or stat prefix from config) is the same string
 * object request after request, so its hash is cached; the code is a small integer.
 */
class PendingCounts<L extends Record<string, string>> {
  private readonly counts = new Map<string, Map<number, { labels: L; value: number }>>();

  constructor(private readonly labelsOf: (name: string, code: number) => L) {}

  add(name: string, code: number): void {
    let byCode = this.counts.get(name);
    if (!byCode) this.counts.set(name, (byCode = new Map()));
    const entry = byCode.get(code);
    if (entry) entry.value++;
    else byCode.set(code, { labels: this.labelsOf(name, code), value: 1 });
  }

  /** Sets `counter` to the totals (a collect() hook: runs right before each scrape). */
  writeTo(counter: Counter<Extract<keyof L, string>>): void {
    counter.reset();
    for (const byCode of this.counts.values()) for (const { labels, value } of byCode.values()) counter.inc(labels, value);
  }
}

export class ProxyStats {
  readonly registry = new Registry();
  private readonly upstreamCounts = new PendingCounts((cluster, status) => ({ envoy_cluster_name: cluster, envoy_response_code: String(status) }));
  private readonly downstreamCounts = new PendingCounts((statPrefix, codeClass) => ({ envoy_http_conn_manager_prefix: statPrefix, envoy_response_code_class: `${codeClass}xx` }));
  private readonly upstreamRq: Counter<'envoy_cluster_name' | 'envoy_response_code'> = new Counter({
    name: 'envoy_cluster_upstream_rq',
    help: 'Requests answered per cluster and response code',
    labelNames: ['envoy_cluster_name', 'envoy_response_code'] as const,
    registers: [this.registry],
    collect: () => this.upstreamCounts.writeTo(this.upstreamRq),
  });
  private readonly upstreamRqTime = new Histogram({
    name: 'envoy_cluster_upstream_rq_time',
    help: 'Upstream request time (ms) to response headers',
    labelNames: ['envoy_cluster_name'] as const,
    buckets: ENVOY_BUCKETS,
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: 'envoy_cluster_upstream_rq_retry',
    help: 'Retried upstream requests',
    labelNames: ['envoy_cluster_name'] as const,
    registers: [this.registry],
  });
  private readonly ejections = new Counter({
    name: 'envoy_cluster_outlier_detection_ejections_enforced_total',
    help: 'Hosts ejected by outlier detection',
    labelNames: ['envoy_cluster_name'] as const,
    registers: [this.registry],
  });
  private readonly downstreamRq: Counter<'envoy_http_conn_manager_prefix' | 'envoy_response_code_class'> = new Counter({
    name: 'envoy_http_downstream_rq',
    help: 'Downstream requests per connection manager and response code class',
    labelNames: ['envoy_http_conn_manager_prefix', 'envoy_response_code_class'] as const,
    registers: [this.registry],
    collect: () => this.downstreamCounts.writeTo(this.downstreamRq),
  });
  private readonly xdsUpdates = new Counter({
    name: 'meshwork_proxy_xds_updates',
    help: 'xDS responses accepted (ACK) or rejected (NACK) per type',
    labelNames: ['type', 'result'] as const,
    registers: [this.registry],
  });
  readonly controlPlaneConnected = new Gauge({
    name: 'envoy_control_plane_connected_state',
    help: '1 while the ADS stream is up',
    registers: [this.registry],
  });
  private readonly internalErrors = new Counter({
    name: 'meshwork_proxy_internal_errors',
    help: 'Errors handled inside the proxy, by where they happened',
    labelNames: ['where'] as const,
    registers: [this.registry],
  });

  /** RBAC counters by Envoy's Prometheus name (http.<hcm>.<rules_stat_prefix>rbac.allowed, <stat_prefix>rbac.denied, ...). */
  private readonly rbacCounters = new Map<string, Counter<string>>();

  /** One RBAC filter's decision: `hcmPrefix` for an HTTP filter, undefined for a network one. */
  rbac(hcmPrefix: string | undefined, statPrefix: string, allowed: boolean): void {
    const scope = (hcmPrefix === undefined ? statPrefix : `http.${statPrefix}`).replace(/[^a-zA-Z0-9_]/g, '_');
    const name = `envoy_${scope}rbac_${allowed ? 'allowed' : 'denied'}`.replace(/__+/g, '_');
    let counter = this.rbacCounters.get(name);
    if (!counter) {
      const labelNames = hcmPrefix === undefined ? [] : ['envoy_http_conn_manager_prefix'];
      counter = new Counter({ name, help: `RBAC filter decisions (${allowed ? 'allowed' : 'denied'})`, labelNames, registers: [this.registry] });
      this.rbacCounters.set(name, counter);
    }
    if (hcmPrefix === undefined) counter.inc();
    else counter.inc({ envoy_http_conn_manager_prefix: hcmPrefix });
  }

  upstream(cluster: string, status: number, upstreamTimeMs: number | undefined): void {
    this.upstreamCounts.add(cluster, status);
    if (upstreamTimeMs !== undefined) this.upstreamRqTime.observe({ envoy_cluster_name: cluster }, upstreamTimeMs);
  }

  retry(cluster: string): void {
    this.retries.inc({ envoy_cluster_name: cluster });
  }

  ejection(cluster: string): void {
    this.ejections.inc({ envoy_cluster_name: cluster });
  }

  downstream(statPrefix: string, status: number): void {
    this.downstreamCounts.add(statPrefix, Math.floor(status / 100));
  }

  xdsUpdate(type: string, accepted: boolean): void {
    this.xdsUpdates.inc({ type, result: accepted ? 'ack' : 'nack' });
  }

  internalError(where: string): void {
    this.internalErrors.inc({ where });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
