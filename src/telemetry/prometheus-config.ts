// A Prometheus configuration for the mesh's clusters, as Istio's sample (samples/addons/prometheus.yaml):
// the `kubernetes-pods` job honouring the prometheus.io/* pod annotations, per member cluster, and a job
// scraping each cluster's control plane (istiod's /metrics on 15014). Every series gets a `cluster` label.
// Pure: the caller writes the token, CA and (for file discovery) target files this config points at.

/** One cluster Prometheus discovers pods in. */
export interface ScrapedCluster {
  /** The `cluster` label (the kubeconfig context / cluster id). */
  name: string;
  /** Kubernetes discovery: the API server URL, its CA file, and a token file allowed to list/watch pods cluster-wide. */
  apiServer: string;
  caFile: string;
  tokenFile: string;
  /** File discovery: the file_sd JSON file holding this cluster's pod targets (pod-targets.ts). */
  targetsFile: string;
}

/**
 * How Prometheus learns the pods: `kubernetes` (kubernetes_sd_configs role pod against each API server,
 * as Istio's sample), or `file` (file_sd files with the same __meta_kubernetes_* labels, kept current by
 * `meshwork prometheus-targets`, for Prometheus builds without Kubernetes discovery such as Debian's).
 */
export type PodDiscovery = 'kubernetes' | 'file';

export interface PrometheusConfigOptions {
  clusters: readonly ScrapedCluster[];
  discovery: PodDiscovery;
  /** Prometheus duration, e.g. `15s` (Istio's sample) or `2s` (tests). */
  scrapeInterval?: string;
  /** The control plane's namespace and monitoring port (istiod's: istio-system, 15014). */
  controlPlaneNamespace?: string;
  controlPlanePort?: number;
}

export const DEFAULT_CONTROL_PLANE_NAMESPACE = 'istio-system';
export const CONTROL_PLANE_MONITORING_PORT = 15014;
/** The job labels, as in Istio's sample and dashboards. */
export const PODS_JOB = 'kubernetes-pods';
export const CONTROL_PLANE_JOB = 'istiod';

type Relabel = Record<string, unknown>;

const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

function podDiscovery(cluster: ScrapedCluster, discovery: PodDiscovery): Record<string, unknown> {
  if (discovery === 'file') return { file_sd_configs: [{ files: [cluster.targetsFile], refresh_interval: '5s' }] };
  return {
    kubernetes_sd_configs: [
      {
        role: 'pod',
        api_server: cluster.apiServer,
        tls_config: { ca_file: cluster.caFile },
        authorization: { credentials_file: cluster.tokenFile },
      },
    ],
  };
}

/** Istio's `kubernetes-pods` relabelling (samples/addons/prometheus.yaml), rule for rule. */
export function istioPodRelabelling(): Relabel[] {
  return [
    { action: 'keep', regex: 'true', source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'] },
    { action: 'drop', regex: 'true', source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape_slow'] },
    { action: 'replace', regex: '(https?)', source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scheme'], target_label: '__scheme__' },
    { action: 'replace', regex: '(.+)', source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], target_label: '__metrics_path__' },
    {
      action: 'replace',
      regex: '(\\d+);(([A-Fa-f0-9]{1,4}::?){1,7}[A-Fa-f0-9]{1,4})',
      replacement: '[$2]:$1',
      source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_port', '__meta_kubernetes_pod_ip'],
      target_label: '__address__',
    },
    {
      action: 'replace',
      regex: '(\\d+);((([0-9]+?)(\\.|$)){4})',
      replacement: '$2:$1',
      source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_port', '__meta_kubernetes_pod_ip'],
      target_label: '__address__',
    },
    { action: 'labelmap', regex: '__meta_kubernetes_pod_annotation_prometheus_io_param_(.+)', replacement: '__param_$1' },
    { action: 'labelmap', regex: '__meta_kubernetes_pod_label_(.+)' },
    { action: 'replace', source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
    { action: 'replace', source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    { action: 'drop', regex: 'Pending|Succeeded|Failed|Completed', source_labels: ['__meta_kubernetes_pod_phase'] },
    { action: 'replace', source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
  ];
}

/** One job per cluster keeps the cluster apart (discovery carries no label naming its API server); `job` is set back to the shared name. */
function clusterLabels(cluster: ScrapedCluster, job: string): Relabel[] {
  return [
    { action: 'replace', target_label: 'cluster', replacement: cluster.name },
    { action: 'replace', target_label: 'job', replacement: job },
  ];
}

function controlPlaneRelabelling(namespace: string, port: number): Relabel[] {
  return [
    { action: 'keep', regex: `${namespace};istiod`, source_labels: ['__meta_kubernetes_namespace', '__meta_kubernetes_pod_label_app'] },
    { action: 'drop', regex: 'Pending|Succeeded|Failed|Completed', source_labels: ['__meta_kubernetes_pod_phase'] },
    // Every container port of the pod is a target until here; they all become the one monitoring port.
    { action: 'replace', regex: '(.+)', replacement: `$1:${port}`, source_labels: ['__meta_kubernetes_pod_ip'], target_label: '__address__' },
    { action: 'replace', target_label: '__metrics_path__', replacement: '/metrics' },
    { action: 'replace', source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
    { action: 'replace', source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    { action: 'replace', source_labels: ['__meta_kubernetes_pod_label_istio_io_rev'], target_label: 'revision' },
  ];
}

/** The configuration as a plain object (the caller writes it as YAML). Throws on input Prometheus would refuse. */
export function prometheusConfig(opts: PrometheusConfigOptions): Record<string, unknown> {
  const interval = opts.scrapeInterval ?? '15s';
  if (!DURATION.test(interval)) throw new Error(`scrape interval "${interval}" is not a Prometheus duration (e.g. 15s, 1m)`);
  if (opts.clusters.length === 0) throw new Error('no clusters to scrape: give at least one (are the local clusters up? `meshwork up`)');
  const names = new Set<string>();
  for (const c of opts.clusters) {
    if (names.has(c.name)) throw new Error(`cluster "${c.name}" is given twice; each cluster needs its own name for the cluster label`);
    names.add(c.name);
  }
  const namespace = opts.controlPlaneNamespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE;
  const port = opts.controlPlanePort ?? CONTROL_PLANE_MONITORING_PORT;
  return {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: opts.clusters.flatMap((c) => [
      {
        job_name: `${PODS_JOB}-${c.name}`,
        honor_labels: true,
        ...podDiscovery(c, opts.discovery),
        relabel_configs: [...istioPodRelabelling(), ...clusterLabels(c, PODS_JOB)],
      },
      {
        job_name: `${CONTROL_PLANE_JOB}-${c.name}`,
        ...podDiscovery(c, opts.discovery),
        relabel_configs: [...controlPlaneRelabelling(namespace, port), ...clusterLabels(c, CONTROL_PLANE_JOB)],
      },
    ]),
  };
}
