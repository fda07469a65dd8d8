// Istio's standard metrics need every request a proxy serves: each HCM of a sidecar (inbound and
// outbound) and of a gateway logs to the access log service of the pod's agent, which computes the
// metrics (docs/telemetry.md). `envoy_accesslog_service` is Istio's name for that cluster; the agent's
// bootstrap defines it (a pipe to the agent) and says so in the node metadata, so only proxies that
// have it get the logger (an Envoy without the cluster would NACK the listener). Pure.
import { ACCESS_LOG_SERVICE_CLUSTER } from '../telemetry/access-log-entry.js';
import { ACCESS_LOG_NAMES } from '../telemetry/istio-labels.js';
import { TYPE_URL, type AccessLog, type Listener, type NetworkFilter } from './envoy-types.js';

/** Node metadata the agent sets when it serves `envoy_accesslog_service`. */
export const ACCESS_LOG_SERVICE_METADATA = 'MESHWORK_ACCESS_LOG_SERVICE';

export function accessLogEntry(logName: string): AccessLog {
  return {
    name: 'envoy.access_loggers.http_grpc',
    typed_config: {
      '@type': TYPE_URL.httpGrpcAccessLog,
      common_config: { log_name: logName, transport_api_version: 'V3', grpc_service: { envoy_grpc: { cluster_name: ACCESS_LOG_SERVICE_CLUSTER } } },
      // request_protocol (grpc or http) and grpc_response_status need these.
      additional_request_headers_to_log: ['content-type'],
      additional_response_headers_to_log: ['grpc-status'],
      additional_response_trailers_to_log: ['grpc-status'],
    },
  };
}

/** The listener with the agent's access log on each of its HCMs, named for the reporter it counts as. */
export function withAccessLogService(listener: Listener, proxyKind: 'sidecar' | 'router'): Listener {
  const logName = proxyKind === 'router' ? ACCESS_LOG_NAMES.gateway : listener.traffic_direction === 'OUTBOUND' ? ACCESS_LOG_NAMES.outbound : ACCESS_LOG_NAMES.inbound;
  const withLog = (f: NetworkFilter): NetworkFilter => {
    const config = f.typed_config;
    if (config['@type'] !== TYPE_URL.httpConnectionManager) return f;
    return { ...f, typed_config: { ...config, access_log: [...(config.access_log ?? []), accessLogEntry(logName)] } };
  };
  if (!listener.filter_chains) return listener;
  return { ...listener, filter_chains: listener.filter_chains.map((c) => ({ ...c, filters: c.filters.map(withLog) })) };
}
