// The subset of Envoy v3 xDS messages the translator emits, as plain objects with the .proto field
// names (snake_case), the shape protobufjs packs with keepCase. Enums are written by name.
// Any = { '@type': url, ...fields }; Duration = { seconds, nanos }; wrappers = { value }.

import type { ProtoDuration } from '../config/istio-types.js';
import type { Problem } from '../config/problems.js';
import type { SdsSecret } from '../security/credentials.js';

export type Duration = ProtoDuration;
export interface UInt32Value {
  value: number;
}
export interface BoolValue {
  value: boolean;
}
export interface DoubleValue {
  value: number;
}

export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  routeConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  clusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  httpConnectionManager: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  tcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  tlsInspector: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  originalDst: 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  fault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  previousHostsPredicate: 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
  previousPriorities: 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
  cors: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors',
  corsPolicy: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
  rbacHttp: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  rbacNetwork: 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
  httpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  stringValue: 'type.googleapis.com/google.protobuf.StringValue',
  upstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  downstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  rawBuffer: 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
  httpGrpcAccessLog: 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
} as const;

/** google.protobuf.Value / Struct in proto form. */
export type StructValue =
  | { string_value: string }
  | { number_value: number }
  | { bool_value: boolean }
  | { struct_value: Struct }
  | { list_value: { values: StructValue[] } };
export interface Struct {
  fields: Record<string, StructValue>;
}
export interface StringValueAny {
  '@type': typeof TYPE_URL.stringValue;
  value: string;
}
export interface Metadata {
  filter_metadata: Record<string, Struct>;
  typed_filter_metadata?: Record<string, StringValueAny>;
}

export interface SocketAddress {
  address: string;
  port_value: number;
}
export interface Address {
  socket_address: SocketAddress;
}

export interface ConfigSource {
  ads: Record<string, never>;
  resource_api_version: 'V3';
}

export type FractionalPercent = { numerator: number; denominator: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION' };

// ---- routes -------------------------------------------------------------------------------------

export interface RegexMatcher {
  regex: string;
}
export type StringMatcher = ({ exact: string } | { prefix: string } | { safe_regex: RegexMatcher }) & { ignore_case?: boolean };

export type HeaderMatcher = { name: string; invert_match?: boolean; treat_missing_header_as_empty?: boolean } & ({ string_match: StringMatcher } | { present_match: boolean });

export interface QueryParameterMatcher {
  name: string;
  string_match?: StringMatcher;
  present_match?: boolean;
}

/** path_separated_prefix: the prefix matches whole path segments (`/foo` matches `/foo` and `/foo/x`, not `/foobar`). */
export type PathSpecifier =
  | { prefix: string }
  | { path: string }
  | { path_separated_prefix: string }
  | { safe_regex: RegexMatcher }
  /** CONNECT requests only (they have no path). */
  | { connect_matcher: Record<string, never> };

export type RouteMatch = PathSpecifier & {
  case_sensitive?: BoolValue;
  headers?: HeaderMatcher[];
  query_parameters?: QueryParameterMatcher[];
};

export interface HeaderValueOption {
  header: { key: string; value: string };
  append_action: 'APPEND_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS_OR_ADD';
}

export interface ClusterWeight {
  name: string;
  weight: UInt32Value;
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
}

export interface WeightedCluster {
  clusters: ClusterWeight[];
}

export interface RetryHostPredicate {
  name: string;
  typed_config: { '@type': string };
}

export interface RetryPolicy {
  retry_on: string;
  num_retries: UInt32Value;
  per_try_timeout?: Duration;
  retriable_status_codes?: number[];
  retry_host_predicate?: RetryHostPredicate[];
  /** How often host selection is re-attempted when a predicate rejects the host (Envoy's default: 1). */
  host_selection_retry_max_attempts?: number;
  /** Istio's retryRemoteLocalities: each retry goes to a priority not tried yet. */
  retry_priority?: { name: string; typed_config: { '@type': typeof TYPE_URL.previousPriorities; update_frequency: number } };
}

export interface RequestMirrorPolicy {
  cluster: string;
  runtime_fraction?: { default_value: FractionalPercent };
}

/** RouteAction.HashPolicy: where a consistent-hash key comes from (Istio's consistentHash). */
export type HashPolicy =
  | { header: { header_name: string } }
  | { cookie: { name: string; path?: string; ttl?: Duration; attributes?: Array<{ name: string; value?: string }> } }
  | { connection_properties: { source_ip: boolean } }
  | { query_parameter: { name: string } };

export type RouteAction = ({ cluster: string } | { weighted_clusters: WeightedCluster }) & {
  timeout?: Duration;
  hash_policy?: HashPolicy[];
  retry_policy?: RetryPolicy;
  request_mirror_policies?: RequestMirrorPolicy[];
  prefix_rewrite?: string;
  regex_rewrite?: { pattern: RegexMatcher; substitution: string };
  host_rewrite_literal?: string;
  max_stream_duration?: { max_stream_duration?: Duration; grpc_timeout_header_max?: Duration };
  /** CONNECT with connect_config: the CONNECT request is terminated here, its payload sent raw upstream. */
  upgrade_configs?: { upgrade_type: 'CONNECT'; connect_config: Record<string, never> }[];
  /** The stream's idle timeout (for a CONNECT tunnel: no bytes either way). */
  idle_timeout?: Duration;
};

export interface RedirectAction {
  host_redirect?: string;
  port_redirect?: number;
  path_redirect?: string;
  scheme_redirect?: string;
  response_code?: 'MOVED_PERMANENTLY' | 'FOUND' | 'SEE_OTHER' | 'TEMPORARY_REDIRECT' | 'PERMANENT_REDIRECT';
}

export interface HttpFault {
  '@type': typeof TYPE_URL.fault;
  delay?: { fixed_delay: Duration; percentage: FractionalPercent };
  abort?: ({ http_status: number } | { grpc_status: number }) & { percentage: FractionalPercent };
}

/** A local answer; `inline_bytes` is base64 (the proto JSON form of bytes). */
export interface DirectResponseAction {
  status: number;
  body?: { inline_string: string } | { inline_bytes: string };
}

/** envoy.extensions.filters.http.cors.v3.CorsPolicy, a route's typed_per_filter_config for the CORS filter. */
export interface CorsPolicy {
  '@type': typeof TYPE_URL.corsPolicy;
  allow_origin_string_match?: StringMatcher[];
  allow_methods?: string;
  allow_headers?: string;
  expose_headers?: string;
  max_age?: string;
  allow_credentials?: BoolValue;
  filter_enabled: { default_value: FractionalPercent };
  forward_not_matching_preflights: BoolValue;
}

export type Route = {
  name: string;
  match: RouteMatch;
  metadata?: Metadata;
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
  typed_per_filter_config?: Record<string, HttpFault | CorsPolicy>;
} & ({ route: RouteAction } | { redirect: RedirectAction } | { direct_response: DirectResponseAction });

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
  require_tls?: 'NONE' | 'EXTERNAL_ONLY' | 'ALL';
  metadata?: Metadata;
}

export interface RouteConfiguration {
  name: string;
  virtual_hosts: VirtualHost[];
  validate_clusters?: BoolValue;
  /** Carries the snapshot version stamp: see translate.ts. */
  metadata?: Metadata;
}

// ---- listeners ----------------------------------------------------------------------------------

export interface HttpFilter {
  name: string;
  typed_config: { '@type': typeof TYPE_URL.router } | { '@type': typeof TYPE_URL.cors } | HttpFault | HttpRbac;
}

/** envoy.config.rbac.v3.RBAC: a Policy is matched when any permission and any principal match. */
export interface RbacRules {
  action: 'ALLOW' | 'DENY' | 'LOG';
  policies: Record<string, { permissions: object[]; principals: object[] }>;
}

/** envoy.extensions.filters.http.rbac.v3.RBAC (Istio's AuthorizationPolicy, translate/authorization.ts). */
export interface HttpRbac {
  '@type': typeof TYPE_URL.rbacHttp;
  rules: RbacRules;
}

/** envoy.extensions.filters.network.rbac.v3.RBAC. */
export interface NetworkRbac {
  '@type': typeof TYPE_URL.rbacNetwork;
  rules: RbacRules;
  stat_prefix: string;
}

export interface HttpConnectionManager {
  '@type': typeof TYPE_URL.httpConnectionManager;
  stat_prefix: string;
  codec_type?: 'AUTO' | 'HTTP1' | 'HTTP2';
  rds?: { config_source: ConfigSource; route_config_name: string };
  route_config?: RouteConfiguration;
  http_filters: HttpFilter[];
  http_protocol_options?: { allow_absolute_url?: BoolValue };
  /** CONNECT: lets CONNECT requests reach the routes (without it Envoy refuses them). */
  upgrade_configs?: { upgrade_type: string }[];
  use_remote_address?: BoolValue;
  /** Proxies in front of this one whose x-forwarded-for entries are trusted (gateways: numTrustedProxies). */
  xff_num_trusted_hops?: number;
  skip_xff_append?: boolean;
  forward_client_cert_details?: 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';
  set_current_client_cert_details?: { subject?: BoolValue; cert?: boolean; chain?: boolean; dns?: boolean; uri?: boolean };
  /** Peers whose requests are internal (x-envoy-internal); without it no address is. */
  internal_address_config?: { unix_sockets?: boolean; cidr_ranges?: { address_prefix: string; prefix_len: UInt32Value }[] };
  access_log?: AccessLog[];
}

/** envoy.config.accesslog.v3.AccessLog with the gRPC HTTP access logger (the only one translation writes). */
export interface AccessLog {
  name: 'envoy.access_loggers.http_grpc';
  typed_config: {
    '@type': typeof TYPE_URL.httpGrpcAccessLog;
    common_config: { log_name: string; transport_api_version: 'V3'; grpc_service: { envoy_grpc: { cluster_name: string } } };
    additional_request_headers_to_log?: string[];
    additional_response_headers_to_log?: string[];
    additional_response_trailers_to_log?: string[];
  };
}

/** tcp_proxy's ClusterWeight: a plain uint32 weight, unlike the route's wrapper. */
export interface TcpClusterWeight {
  name: string;
  weight: number;
}

export type TcpProxy = {
  '@type': typeof TYPE_URL.tcpProxy;
  stat_prefix: string;
  /** Envoy's default is 1h; 0s disables it. */
  idle_timeout?: Duration;
  max_downstream_connection_duration?: Duration;
} & ({ cluster: string } | { weighted_clusters: { clusters: TcpClusterWeight[] } });

export interface NetworkFilter {
  name: string;
  typed_config: HttpConnectionManager | TcpProxy | NetworkRbac;
}

export interface FilterChainMatch {
  destination_port?: UInt32Value;
  /** SNI names (tls_inspector); `*.example.com` matches any subdomain. */
  server_names?: string[];
  transport_protocol?: string;
  /** The ClientHello's ALPN (tls_inspector): any one of them matches. */
  application_protocols?: string[];
}

export interface FilterChain {
  name?: string;
  filter_chain_match?: FilterChainMatch;
  filters: NetworkFilter[];
  /** TLS termination (DownstreamTlsContext); absent: plaintext. */
  transport_socket?: TransportSocket;
}

// ---- TLS (envoy.extensions.transport_sockets.tls.v3) ---------------------------------------------

/** Where an SDS secret comes from: the pod agent's `sds-grpc` cluster, or the ADS stream (credentialName). */
export type SdsConfigSource =
  | {
      api_config_source: {
        api_type: 'GRPC';
        set_node_on_first_message_only: boolean;
        transport_api_version: 'V3';
        grpc_services: { envoy_grpc: { cluster_name: string } }[];
      };
      initial_fetch_timeout: Duration;
      resource_api_version: 'V3';
    }
  | ConfigSource;

export interface SdsSecretConfig {
  name: string;
  sds_config: SdsConfigSource;
}

/** A SAN the peer's certificate must carry (typed: Envoy deprecated the untyped list). */
export interface SubjectAltNameMatcher {
  san_type: 'URI' | 'DNS' | 'EMAIL' | 'IP_ADDRESS';
  matcher: { exact: string };
}

export interface CertificateValidationContext {
  match_typed_subject_alt_names?: SubjectAltNameMatcher[];
}

export interface CommonTlsContext {
  tls_params?: { tls_minimum_protocol_version?: 'TLSv1_2' | 'TLSv1_3'; tls_maximum_protocol_version?: 'TLSv1_2' | 'TLSv1_3' };
  tls_certificate_sds_secret_configs?: SdsSecretConfig[];
  /** SANs to require, with the trusted CAs from SDS. */
  combined_validation_context?: { default_validation_context: CertificateValidationContext; validation_context_sds_secret_config: SdsSecretConfig };
  /** The trusted CAs only (no SAN to require). */
  validation_context_sds_secret_config?: SdsSecretConfig;
  /** SANs only, no CA: Envoy then verifies nothing (insecureSkipVerify, or no CA known). */
  validation_context?: CertificateValidationContext;
  alpn_protocols?: string[];
}

export interface UpstreamTlsContext {
  '@type': typeof TYPE_URL.upstreamTlsContext;
  common_tls_context: CommonTlsContext;
  sni?: string;
}

export interface DownstreamTlsContext {
  '@type': typeof TYPE_URL.downstreamTlsContext;
  common_tls_context: CommonTlsContext;
  require_client_certificate?: BoolValue;
}

export interface TransportSocket {
  name: 'envoy.transport_sockets.tls' | 'envoy.transport_sockets.raw_buffer';
  /** The typed contexts mesh mTLS writes; gateways and the MCI edge write theirs field by field. */
  typed_config: UpstreamTlsContext | DownstreamTlsContext | { '@type': typeof TYPE_URL.rawBuffer } | ({ '@type': string } & Record<string, unknown>);
}

/** A cluster's transport socket chosen per endpoint by the endpoint's `envoy.transport_socket_match` metadata. */
export interface TransportSocketMatch {
  name: string;
  /** Metadata the endpoint must carry; empty matches every endpoint. */
  match: Struct | Record<string, never>;
  transport_socket: TransportSocket;
}

export interface ListenerFilter {
  name: string;
  typed_config: { '@type': typeof TYPE_URL.tlsInspector | typeof TYPE_URL.originalDst };
}

export interface Listener {
  name: string;
  address?: Address;
  /** Interception: hand a redirected connection to the listener bound to its original destination. */
  use_original_dst?: BoolValue;
  /** false: a listener that only takes connections handed over by a use_original_dst listener. */
  bind_to_port?: BoolValue;
  listener_filters?: ListenerFilter[];
  filter_chains?: FilterChain[];
  api_listener?: { api_listener: HttpConnectionManager };
  traffic_direction?: 'INBOUND' | 'OUTBOUND';
}

// ---- clusters and endpoints ---------------------------------------------------------------------

export interface CircuitBreakerThresholds {
  max_connections?: UInt32Value;
  max_pending_requests?: UInt32Value;
  max_requests?: UInt32Value;
  max_retries?: UInt32Value;
  track_remaining?: boolean;
}

export interface OutlierDetection {
  consecutive_5xx?: UInt32Value;
  enforcing_consecutive_5xx?: UInt32Value;
  consecutive_gateway_failure?: UInt32Value;
  enforcing_consecutive_gateway_failure?: UInt32Value;
  interval?: Duration;
  base_ejection_time?: Duration;
  max_ejection_percent?: UInt32Value;
  /** Set to 0: Envoy and gRPC enable success-rate ejection unless told otherwise; Istio disables it. */
  enforcing_success_rate: UInt32Value;
  split_external_local_origin_errors?: boolean;
  consecutive_local_origin_failure?: UInt32Value;
  enforcing_consecutive_local_origin_failure?: UInt32Value;
  enforcing_local_origin_success_rate?: UInt32Value;
}

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';

export interface SlowStartConfig {
  slow_start_window: Duration;
}

/** envoy.extensions.upstreams.http.v3.HttpProtocolOptions, as Istio writes it for connectionPool.http. */
export interface HttpProtocolOptions {
  '@type': typeof TYPE_URL.httpProtocolOptions;
  common_http_protocol_options?: { idle_timeout?: Duration; max_requests_per_connection?: UInt32Value; max_connection_duration?: Duration };
  explicit_http_config?: { http_protocol_options: Record<string, never> } | { http2_protocol_options: { max_concurrent_streams?: UInt32Value } };
  use_downstream_protocol_config?: { http_protocol_options: Record<string, never>; http2_protocol_options: Record<string, never> };
}

export interface LbEndpoint {
  endpoint: {
    address: Address;
    /** Active health checks probe this port instead of the serving one (e.g. a gateway's status port 15021). */
    health_check_config?: { port_value: number };
    /** Not used for routing: shown by admin /clusters and UPSTREAM_HOST_NAME. */
    hostname?: string;
  };
  health_status?: 'HEALTHY' | 'UNHEALTHY';
  metadata?: Metadata;
  load_balancing_weight?: UInt32Value;
}

export interface LocalityLbEndpoints {
  locality?: { region: string; zone: string; sub_zone?: string };
  lb_endpoints: LbEndpoint[];
  /** 0 (the default) is tried first; Envoy spills load to the next priority as health drops. */
  priority?: number;
  metadata?: Metadata;
  load_balancing_weight?: UInt32Value;
}

export interface ClusterLoadAssignment {
  cluster_name: string;
  endpoints: LocalityLbEndpoints[];
}

/** envoy.config.core.v3.HealthCheck, HTTP only. */
export interface HealthCheck {
  timeout: Duration;
  interval: Duration;
  /** The interval while the cluster has had no traffic (Envoy's default is 60 s). */
  no_traffic_interval?: Duration;
  unhealthy_threshold: UInt32Value;
  healthy_threshold: UInt32Value;
  reuse_connection?: BoolValue;
  http_health_check: { path: string; host?: string; retriable_statuses?: { start: number; end: number }[] };
}

export interface Cluster {
  name: string;
  /** ORIGINAL_DST: the connection's original destination (interception's passthrough and inbound clusters). */
  type: 'EDS' | 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'ORIGINAL_DST';
  /** DNS clusters: which address families, how often re-resolved, whether the record's TTL shortens that. */
  dns_lookup_family?: 'V4_ONLY' | 'V6_ONLY' | 'AUTO' | 'V4_PREFERRED' | 'ALL';
  dns_refresh_rate?: Duration;
  respect_dns_ttl?: boolean;
  /** Where upstream connections are bound; 0.0.0.0: wherever the kernel routes them (overrides the bootstrap's pod IP). */
  upstream_bind_config?: { source_address: { address: string; port_value: number } };
  eds_cluster_config?: { eds_config: ConfigSource; service_name: string };
  /** Inline endpoints for STATIC and STRICT_DNS clusters. */
  load_assignment?: ClusterLoadAssignment;
  connect_timeout: Duration;
  lb_policy: LbPolicy;
  ring_hash_lb_config?: { minimum_ring_size?: UInt32Value };
  maglev_lb_config?: { table_size?: UInt32Value };
  round_robin_lb_config?: { slow_start_config: SlowStartConfig };
  least_request_lb_config?: { slow_start_config: SlowStartConfig };
  upstream_connection_options?: { tcp_keepalive: { keepalive_probes?: UInt32Value; keepalive_time?: UInt32Value; keepalive_interval?: UInt32Value } };
  typed_extension_protocol_options?: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': HttpProtocolOptions };
  circuit_breakers?: { thresholds: CircuitBreakerThresholds[] };
  outlier_detection?: OutlierDetection;
  common_lb_config?: {
    healthy_panic_threshold?: { value: number };
    update_merge_window?: Duration;
    /** Pick a locality by its weight (scaled by its health) first, then a host in it. */
    locality_weighted_lb_config?: Record<string, never>;
  };
  metadata?: Metadata;
  health_checks?: HealthCheck[];
  /** A host removed by EDS leaves at once, even while its active health check still passes. */
  ignore_health_on_host_removal?: boolean;
  /** TLS to every endpoint (a DestinationRule's tls); absent: plaintext unless a socket match says otherwise. */
  transport_socket?: TransportSocket;
  /** Istio's auto mTLS: TLS to endpoints whose metadata says tlsMode istio, plaintext to the rest. */
  transport_socket_matches?: TransportSocketMatch[];
}

export interface ProxyResources {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  /** SDS Secrets served over ADS (a gateway's credentialName certificates); absent: none. */
  secrets?: SdsSecret[];
  problems: Problem[];
}
