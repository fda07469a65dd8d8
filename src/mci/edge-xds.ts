// The Envoy edge of a MultiClusterIngress, as xDS: pure functions from the MCI's plan (its default
// backend and the BackendConfig's health check) and the gateway pods of every member cluster to one
// Listener on the VIP, one EDS Cluster and its ClusterLoadAssignment. What GCLB does, Envoy does here:
// HTTP health checks on each gateway's status port with the BackendConfig's interval, timeout and
// thresholds, round robin over the healthy gateways of all clusters, no traffic to unhealthy ones.
//
// One difference remains: GCLB judges a new backend unhealthy until `healthyThreshold` probes pass;
// Envoy takes a new host in after its first passing check (later recoveries need healthyThreshold).
import type { HealthCheckSpec } from '../edge/health.js';
import type { EdgeBackend } from '../edge/edge-proxy.js';
import { BACKEND_HEADER } from '../edge/edge-proxy.js';
import type { Cluster, ClusterLoadAssignment, Duration, FilterChain, HeaderMatcher, LbEndpoint, Listener, LocalityLbEndpoints, NetworkFilter, Route, StructValue } from '../translate/envoy-types.js';
import { TYPE_URL } from '../translate/envoy-types.js';
import { UNLIMITED_THRESHOLDS } from '../translate/clusters.js';
import { RETRY_PREVIOUS_HOSTS } from '../translate/http-routes.js';
import { TYPE_URLS } from '../xds/protos.js';
import type { XdsSnapshot } from '../xds/snapshot.js';
import type { EdgeCertificate, EdgePlan } from './resources.js';
import { X509Certificate } from 'node:crypto';
import { TLS_SOCKET_NAME } from '../translate/tls-context.js';

/** Filter metadata namespace of the edge's endpoints: `backend` (cluster/pod) and `cluster`. */
export const EDGE_METADATA = 'meshwork.edge';
/** GCLB's default backend service timeout. */
const BACKEND_TIMEOUT_S = 30;
/** The TypeScript edge's connect timeout to a gateway. */
const CONNECT_TIMEOUT_S = 2;

export interface EdgeXdsInput {
  /** `namespace/name` of the MultiClusterIngress. */
  mci: string;
  vip: string;
  /** The port Envoy listens on at the VIP (80, or the fallback when 80 may not be bound). */
  port: number;
  /** The HTTPS port (443, or its fallback); used when the plan has certificates. */
  tlsPort?: number;
  plan: Pick<EdgePlan, 'mcs' | 'derivedServiceName' | 'servicePort' | 'healthCheck' | 'tls'>;
  /** Gateway pods of every member cluster, sorted or not (the output is sorted). */
  backends: readonly EdgeBackend[];
}

export interface EdgeXdsResources {
  listener: Listener;
  /** HTTPS on tlsPort, when the MCI has tls entries. */
  tlsListener?: Listener;
  cluster: Cluster;
  endpoints: ClusterLoadAssignment;
}

const seconds = (s: number): Duration => ({ seconds: s, nanos: 0 });
const str = (value: string): StructValue => ({ string_value: value });

/** The Envoy node id of an MCI's edge: `router~<vip>~<name>.<namespace>~mci.edge`. */
export function edgeNodeId(mci: string, vip: string): string {
  const [namespace = 'default', name = mci] = mci.split('/');
  return `router~${vip}~${name}.${namespace}~mci.edge`;
}

/** The backend Cluster's name: the derived Service's host and the MCI's backend port. */
export function edgeClusterName(plan: EdgeXdsInput['plan']): string {
  return `outbound|${plan.servicePort.port}||${edgeBackendHost(plan)}`;
}

function edgeBackendHost(plan: EdgeXdsInput['plan']): string {
  return `${plan.derivedServiceName}.${plan.mcs.namespace}.svc.cluster.local`;
}

export function edgeHealthCheck(spec: HealthCheckSpec, host: string): NonNullable<Cluster['health_checks']>[number] {
  return {
    timeout: seconds(spec.timeoutSec),
    interval: seconds(spec.checkIntervalSec),
    // GCLB probes at the same pace whether or not requests arrive; Envoy would slow to 60 s without traffic.
    no_traffic_interval: seconds(spec.checkIntervalSec),
    unhealthy_threshold: { value: spec.unhealthyThreshold },
    healthy_threshold: { value: spec.healthyThreshold },
    // Each probe on a new connection, as GCLB (and the TypeScript edge) probe.
    reuse_connection: { value: false },
    // 200 passes; any other status counts towards unhealthyThreshold, as with GCLB (Envoy's default
    // marks a host unhealthy at the first non-200 answer).
    http_health_check: { path: spec.requestPath, host, retriable_statuses: [{ start: 100, end: 600 }] },
  };
}

function lbEndpoint(b: EdgeBackend, healthPort: number): LbEndpoint {
  const id = `${b.cluster}/${b.pod}`;
  return {
    endpoint: {
      address: { socket_address: { address: b.ip, port_value: b.port } },
      // Probed on the BackendConfig's port (the gateway's status port 15021), served on the target port.
      health_check_config: { port_value: healthPort },
      hostname: id,
    },
    metadata: { filter_metadata: { [EDGE_METADATA]: { fields: { backend: str(id), cluster: str(b.cluster), pod: str(b.pod) } } } },
  };
}

/** The health check as one line, e.g. `HTTP :15021/healthz/ready every 5s timeout 5s healthy 2 unhealthy 2`. */
export function describeHealthCheck(hc: HealthCheckSpec): string {
  return `${hc.type} :${hc.port}${hc.requestPath} every ${hc.checkIntervalSec}s timeout ${hc.timeoutSec}s healthy ${hc.healthyThreshold} unhealthy ${hc.unhealthyThreshold}`;
}

/**
 * Gateways grouped by locality: region = member cluster, zone = the pod's zone (or the cluster's name).
 * (A health check change re-creates the Cluster in Envoy, which then waits for its endpoints: the ADS
 * server sends a changed cluster's endpoints again, see endpointsOfChangedClusters in src/xds/stream.ts.)
 */
export function edgeLoadAssignment(clusterName: string, backends: readonly EdgeBackend[], hc: HealthCheckSpec): ClusterLoadAssignment {
  const groups = new Map<string, { cluster: string; zone: string; backends: EdgeBackend[] }>();
  for (const b of backends) {
    const zone = b.zone ?? b.cluster;
    const key = `${b.cluster}\u0000${zone}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { cluster: b.cluster, zone, backends: [] }));
    g.backends.push(b);
  }
  const endpoints: LocalityLbEndpoints[] = [...groups.values()]
    .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.zone.localeCompare(b.zone))
    .map((g) => ({
      locality: { region: g.cluster, zone: g.zone },
      lb_endpoints: [...g.backends].sort((a, b) => a.pod.localeCompare(b.pod) || a.ip.localeCompare(b.ip)).map((b) => lbEndpoint(b, hc.port)),
    }));
  return { cluster_name: clusterName, endpoints };
}

export function edgeResources(input: EdgeXdsInput): EdgeXdsResources {
  const { plan } = input;
  const clusterName = edgeClusterName(plan);
  const hc = plan.healthCheck;
  const cluster: Cluster = {
    name: clusterName,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: clusterName },
    connect_timeout: seconds(CONNECT_TIMEOUT_S),
    // Plain round robin over every healthy gateway: with no local cluster set, Envoy does not weigh localities.
    lb_policy: 'ROUND_ROBIN',
    health_checks: [edgeHealthCheck(hc, edgeBackendHost(plan))],
    // Never send to unhealthy gateways (Envoy's default panics below 50% healthy and uses them all), and
    // act on a health change at once (Envoy's default merges host updates over 1 s windows).
    common_lb_config: { healthy_panic_threshold: { value: 0 }, update_merge_window: seconds(0) },
    ignore_health_on_host_removal: true,
    // GCLB sheds no load and limits no retries: without this, Envoy's default allows 3 concurrent
    // retries, and under concurrent load the retries away from a dead gateway would overflow and fail.
    circuit_breakers: { thresholds: [UNLIMITED_THRESHOLDS] },
  };
  const listener: Listener = {
    name: `edge_${input.vip}_${input.port}`,
    address: { socket_address: { address: input.vip, port_value: input.port } },
    traffic_direction: 'INBOUND',
    filter_chains: [{ filters: [edgeConnectionManager(input.mci, clusterName)] }],
  };
  const tlsListener = plan.tls && plan.tls.length > 0 && input.tlsPort !== undefined ? edgeTlsListener(input.vip, input.tlsPort, plan.tls, edgeConnectionManager(input.mci, clusterName)) : undefined;
  return { listener, ...(tlsListener ? { tlsListener } : {}), cluster, endpoints: edgeLoadAssignment(clusterName, input.backends, hc) };
}

/**
 * HTTPS on the VIP, as GCLB terminates it with the MCI's Secrets: the certificate whose names match the
 * client's SNI, else the first one listed (a chain per certificate by its DNS SANs, then a default chain).
 */
function edgeTlsListener(vip: string, port: number, certificates: readonly EdgeCertificate[], manager: NetworkFilter): Listener {
  const socket = (c: EdgeCertificate): NonNullable<FilterChain['transport_socket']> => ({
    name: TLS_SOCKET_NAME,
    typed_config: {
      '@type': TYPE_URL.downstreamTlsContext,
      common_tls_context: {
        alpn_protocols: ['h2', 'http/1.1'],
        tls_certificates: [{ certificate_chain: { inline_string: c.certificateChainPem }, private_key: { inline_string: c.privateKeyPem } }],
      },
    },
  });
  const claimed = new Set<string>();
  const chains: FilterChain[] = [];
  for (const certificate of certificates) {
    const names = dnsNames(certificate.certificateChainPem).filter((n) => !claimed.has(n));
    for (const n of names) claimed.add(n);
    if (names.length > 0) chains.push({ filter_chain_match: { server_names: names }, filters: [manager], transport_socket: socket(certificate) });
  }
  chains.push({ filters: [manager], transport_socket: socket(certificates[0]!) });
  return {
    name: `edge_${vip}_${port}`,
    address: { socket_address: { address: vip, port_value: port } },
    traffic_direction: 'INBOUND',
    listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TYPE_URL.tlsInspector } }],
    filter_chains: chains,
  };
}

/** The DNS names of a certificate (its leaf, the first PEM block), lower-cased, sorted. */
function dnsNames(pem: string): string[] {
  const sans = new X509Certificate(pem).subjectAltName ?? '';
  return [...new Set(sans.split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase()))].sort();
}

function edgeConnectionManager(mci: string, clusterName: string): NetworkFilter {
  return {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TYPE_URL.httpConnectionManager,
          stat_prefix: 'edge',
          codec_type: 'AUTO',
          // The client's address goes into x-forwarded-for, as GCLB appends it; nothing in front of the
          // edge is trusted (xff_num_trusted_hops 0), and x-forwarded-client-cert from a client never
          // reaches a gateway (GCLB sends its own mTLS headers only when configured to).
          use_remote_address: { value: true },
          forward_client_cert_details: 'SANITIZE',
          route_config: {
            name: `edge_${mci}`,
            virtual_hosts: [{
              name: 'default-backend',
              domains: ['*'],
              // A gateway that refuses the connection (gone before its EDS removal): try another one. A GET
              // or HEAD is also replayed when the gateway resets it (as the TypeScript edge replays them).
              routes: [
                backendRoute('default-backend-replayable', clusterName, 'connect-failure,refused-stream,reset', [{ name: ':method', string_match: { safe_regex: { regex: 'GET|HEAD' } } }]),
                backendRoute('default-backend', clusterName, 'connect-failure,refused-stream'),
              ],
            }],
          },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPE_URL.router } }],
        },
  };
}

function backendRoute(name: string, cluster: string, retryOn: string, headers?: HeaderMatcher[]): Route {
  return {
    name,
    match: { prefix: '/', ...(headers ? { headers } : {}) },
    // A retry goes to another gateway (re-selected up to 5 times, as Istio's retry policies do).
    route: {
      cluster,
      timeout: seconds(BACKEND_TIMEOUT_S),
      retry_policy: { retry_on: retryOn, num_retries: { value: 2 }, retry_host_predicate: [RETRY_PREVIOUS_HOSTS], host_selection_retry_max_attempts: 5 },
    },
    response_headers_to_add: [{
      header: { key: BACKEND_HEADER, value: `%UPSTREAM_METADATA(${EDGE_METADATA}:backend)%` },
      append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
    }],
  };
}

export function edgeSnapshot(r: EdgeXdsResources): XdsSnapshot {
  return {
    resources: {
      [TYPE_URLS.listener]: new Map([r.listener, ...(r.tlsListener ? [r.tlsListener] : [])].map((l) => [l.name, l])),
      [TYPE_URLS.cluster]: new Map([[r.cluster.name, r.cluster]]),
      [TYPE_URLS.endpoint]: new Map([[r.endpoints.cluster_name, r.endpoints]]),
    },
  };
}
