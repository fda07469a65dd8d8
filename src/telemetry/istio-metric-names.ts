// Istio's standard metrics, by the names and labels Istio's stats filter gives them, so existing Grafana
// dashboards, Kiali and Flagger queries work unchanged. Both data planes produce them (docs/telemetry.md).

export const ISTIO_REQUESTS_TOTAL = 'istio_requests_total';
export const ISTIO_REQUEST_DURATION = 'istio_request_duration_milliseconds';
export const ISTIO_REQUEST_BYTES = 'istio_request_bytes';
export const ISTIO_RESPONSE_BYTES = 'istio_response_bytes';

/** Istio's labels on the HTTP metrics, in Istio's order. Unknown values are `unknown`, as Istio writes them. */
export const ISTIO_HTTP_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'source_canonical_service',
  'source_canonical_revision',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'destination_canonical_service',
  'destination_canonical_revision',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export type IstioHttpLabel = (typeof ISTIO_HTTP_LABELS)[number];
export type IstioHttpLabels = Record<IstioHttpLabel, string>;

/** Envoy's default histogram buckets (ms), which Istio's duration histogram uses. */
export const ENVOY_DEFAULT_BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** Istio's size buckets for istio_request_bytes / istio_response_bytes: 1, 10, ..., 10^8. */
export const ISTIO_BYTES_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000];

/** Where a pod's merged metrics are scraped, as Istio's injector annotates pods (prometheus.io/*). */
export const MERGED_METRICS_PORT = 15020;
export const MERGED_METRICS_PATH = '/stats/prometheus';
