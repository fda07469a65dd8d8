// envoy.data.accesslog.v3.HTTPAccessLogEntry in the shape our proto loader decodes it (snake_case,
// enums by name, uint64 as numbers, wrappers as {value}): the one input of the agent's Istio metrics,
// whether Envoy sent it over the access log service or the meshwork proxy handed it over in process.
// Only the fields the metrics read are typed.

/** Istio's cluster name for the access log service; the pod's agent serves it (a pipe for Envoy, in process for the meshwork proxy). */
export const ACCESS_LOG_SERVICE_CLUSTER = 'envoy_accesslog_service';

export interface LogAddress {
  socket_address?: { address?: string; port_value?: number };
}

export interface LogDuration {
  seconds?: number;
  nanos?: number;
}

export interface CertificateProperties {
  subject_alt_name?: Array<{ uri?: string; dns?: string }>;
  subject?: string;
}

/** envoy.data.accesslog.v3.ResponseFlags: a boolean per flag (unauthorized_details is a message). */
export type LogResponseFlags = Partial<Record<string, boolean | object>>;

export interface HttpAccessLogEntry {
  common_properties?: {
    /** The client as the connection manager judged it (x-forwarded-for when the HCM trusts it). */
    downstream_remote_address?: LogAddress;
    /** The connection's peer: a sidecar or gateway connects from its pod IP. */
    downstream_direct_remote_address?: LogAddress;
    downstream_local_address?: LogAddress;
    tls_properties?: {
      peer_certificate_properties?: CertificateProperties;
      local_certificate_properties?: CertificateProperties;
    };
    upstream_remote_address?: LogAddress;
    upstream_cluster?: string;
    response_flags?: LogResponseFlags;
    /** Envoy 1.27+: start to the end of the stream. */
    duration?: LogDuration;
    time_to_last_downstream_tx_byte?: LogDuration;
  };
  protocol_version?: 'PROTOCOL_UNSPECIFIED' | 'HTTP10' | 'HTTP11' | 'HTTP2' | 'HTTP3';
  request?: {
    request_method?: string;
    authority?: string;
    path?: string;
    request_headers_bytes?: number;
    request_body_bytes?: number;
    /** additional_request_headers_to_log: content-type (gRPC or not). */
    request_headers?: Record<string, string>;
  };
  response?: {
    response_code?: { value?: number };
    response_headers_bytes?: number;
    response_body_bytes?: number;
    /** additional_response_headers_to_log / _trailers_to_log: grpc-status. */
    response_headers?: Record<string, string>;
    response_trailers?: Record<string, string>;
  };
}

/**
 * Envoy's response flag short codes by the ResponseFlags field that carries each, in the proto's order
 * (Envoy's access log order).
 */
export const RESPONSE_FLAG_CODES: ReadonlyArray<readonly [field: string, code: string]> = [
  ['failed_local_healthcheck', 'LH'],
  ['no_healthy_upstream', 'UH'],
  ['upstream_request_timeout', 'UT'],
  ['local_reset', 'LR'],
  ['upstream_remote_reset', 'UR'],
  ['upstream_connection_failure', 'UF'],
  ['upstream_connection_termination', 'UC'],
  ['upstream_overflow', 'UO'],
  ['no_route_found', 'NR'],
  ['delay_injected', 'DI'],
  ['fault_injected', 'FI'],
  ['rate_limited', 'RL'],
  ['unauthorized_details', 'UAEX'],
  ['rate_limit_service_error', 'RLSE'],
  ['downstream_connection_termination', 'DC'],
  ['upstream_retry_limit_exceeded', 'URX'],
  ['stream_idle_timeout', 'SI'],
  ['invalid_envoy_request_headers', 'IH'],
  ['downstream_protocol_error', 'DPE'],
  ['upstream_max_stream_duration_reached', 'UMSDR'],
  ['response_from_cache_filter', 'RFCF'],
  ['no_filter_config_found', 'NFCF'],
  ['duration_timeout', 'DT'],
  ['upstream_protocol_error', 'UPE'],
  ['no_cluster_found', 'NC'],
  ['overload_manager', 'OM'],
  ['dns_resolution_failure', 'DF'],
  ['downstream_remote_reset', 'DR'],
];

/** Short codes (`NR`, `UF`, ...) as ResponseFlags fields; codes Envoy has no field for are left out. */
export function responseFlagsOf(codes: readonly string[]): LogResponseFlags {
  const flags: LogResponseFlags = {};
  for (const [field, code] of RESPONSE_FLAG_CODES) {
    if (codes.includes(code)) flags[field] = field === 'unauthorized_details' ? {} : true;
  }
  return flags;
}

/** ResponseFlags as Envoy's %RESPONSE_FLAGS% writes them: codes joined by ',', `-` for none. */
export function responseFlagsText(flags: LogResponseFlags | undefined): string {
  const codes = RESPONSE_FLAG_CODES.filter(([field]) => flags?.[field]).map(([, code]) => code);
  return codes.length > 0 ? codes.join(',') : '-';
}

export function durationMs(d: LogDuration | undefined): number | undefined {
  if (!d) return undefined;
  return (d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6;
}
