// Istio's standard HTTP metrics of the pod, computed in its agent as Istio's stats filter does in each
// proxy: every access log entry of the data plane (Envoy over the access log service, the meshwork
// proxy in process) becomes one count in istio_requests_total and one observation in each histogram,
// under the labels src/telemetry/istio-labels.ts gives it. The series live in the agent's registry
// for the pod's life (Prometheus' rates need counters that never reset while the pod runs).
import { Counter, Histogram, type Registry } from 'prom-client';
import type { HttpAccessLogEntry } from '../telemetry/access-log-entry.js';
import { requestSample } from '../telemetry/istio-labels.js';
import {
  ENVOY_DEFAULT_BUCKETS_MS,
  ISTIO_BYTES_BUCKETS,
  ISTIO_HTTP_LABELS,
  ISTIO_REQUEST_BYTES,
  ISTIO_REQUEST_DURATION,
  ISTIO_REQUESTS_TOTAL,
  ISTIO_RESPONSE_BYTES,
  type IstioHttpLabel,
} from '../telemetry/istio-metric-names.js';
import type { WorkloadInfo, WorkloadTable } from '../telemetry/workload-table.js';

export interface IstioMetricsOptions {
  registry: Registry;
  podIp: string;
  /** The pod's own workload (from its environment); its services come from the workload table. */
  self: WorkloadInfo;
}

export class IstioMetrics {
  private table: WorkloadTable = { workloads: {} };
  private tableReceived = false;
  private readonly requests: Counter<IstioHttpLabel>;
  private readonly duration: Histogram<IstioHttpLabel>;
  private readonly requestBytes: Histogram<IstioHttpLabel>;
  private readonly responseBytes: Histogram<IstioHttpLabel>;

  constructor(private readonly opts: IstioMetricsOptions) {
    const labelNames = [...ISTIO_HTTP_LABELS];
    const registers = [opts.registry];
    this.requests = new Counter({ name: ISTIO_REQUESTS_TOTAL, help: 'requests, by Istio\'s labels', labelNames, registers });
    this.duration = new Histogram({ name: ISTIO_REQUEST_DURATION, help: 'request duration (ms)', labelNames, buckets: ENVOY_DEFAULT_BUCKETS_MS, registers });
    this.requestBytes = new Histogram({ name: ISTIO_REQUEST_BYTES, help: 'request size, headers and body (bytes)', labelNames, buckets: ISTIO_BYTES_BUCKETS, registers });
    this.responseBytes = new Histogram({ name: ISTIO_RESPONSE_BYTES, help: 'response size, headers and body (bytes)', labelNames, buckets: ISTIO_BYTES_BUCKETS, registers });
  }

  setWorkloadTable(table: WorkloadTable): void {
    this.table = table;
    this.tableReceived = true;
  }

  hasWorkloadTable(): boolean {
    return this.tableReceived;
  }

  /** Counts one request. */
  readonly record = (logName: string, entry: HttpAccessLogEntry): void => {
    const self = { ...this.opts.self, services: this.table.workloads[this.opts.podIp]?.services ?? [] };
    const sample = requestSample(logName, entry, { self, lookup: (ip) => this.table.workloads[ip] });
    // Istio's label order, whatever order the sample's object has.
    const labels = Object.fromEntries(ISTIO_HTTP_LABELS.map((l) => [l, sample.labels[l]])) as Record<IstioHttpLabel, string>;
    this.requests.inc(labels);
    this.duration.observe(labels, sample.durationMs);
    this.requestBytes.observe(labels, sample.requestBytes);
    this.responseBytes.observe(labels, sample.responseBytes);
  };
}
