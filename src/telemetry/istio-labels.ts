// Istio's standard HTTP metric labels for one request, as Istio's stats filter computes them in each
// proxy, from an HTTPAccessLogEntry, the pod's own workload and the workload table. Pure.
//
// Reporter: `destination` on a sidecar's inbound side, `source` on its outbound side and on gateways
// (the access log's name says which: the translator names each HCM's logger). The peer is the
// downstream address's workload (inbound: sidecars connect from their pod IP) or the upstream host's
// (outbound). Values nobody knows are `unknown`, as Istio writes them.
import { durationMs, responseFlagsText, type HttpAccessLogEntry, type LogAddress } from './access-log-entry.js';
import type { IstioHttpLabels } from './istio-metric-names.js';
import type { WorkloadInfo } from './workload-table.js';

/** The access log names the translator gives the HCMs of a proxy (HttpGrpcAccessLogConfig.common_config.log_name). */
export const ACCESS_LOG_NAMES = { inbound: 'istio-metrics-inbound', outbound: 'istio-metrics-outbound', gateway: 'istio-metrics-gateway' } as const;

const UNKNOWN = 'unknown';

export interface RequestSample {
  labels: IstioHttpLabels;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
}

export interface LabelInputs {
  /** The pod's own workload; its `principal` is the pod's SPIFFE identity ('' without certificates). */
  self: WorkloadInfo;
  /** A peer by IP (the workload table), undefined when unknown. */
  lookup: (ip: string) => WorkloadInfo | undefined;
}

function ipOf(address: LogAddress | undefined): string | undefined {
  return address?.socket_address?.address || undefined;
}

const known = (v: string | undefined): string => (v ? v : UNKNOWN);

function side(prefix: 'source' | 'destination', w: WorkloadInfo | undefined, principal: string | undefined): Partial<IstioHttpLabels> {
  return {
    [`${prefix}_workload`]: known(w?.name),
    [`${prefix}_workload_namespace`]: known(w?.namespace),
    [`${prefix}_principal`]: known(principal),
    [`${prefix}_app`]: known(w?.app),
    [`${prefix}_version`]: known(w?.version),
    [`${prefix}_cluster`]: known(w?.cluster),
    [`${prefix}_canonical_service`]: known(w?.canonical_service),
    [`${prefix}_canonical_revision`]: known(w?.canonical_revision),
  };
}

/** host -> service name and namespace, as Istio splits `name.namespace.svc.<domain>`. */
function serviceLabels(host: string | undefined): Pick<IstioHttpLabels, 'destination_service' | 'destination_service_name' | 'destination_service_namespace'> {
  if (!host) return { destination_service: UNKNOWN, destination_service_name: UNKNOWN, destination_service_namespace: UNKNOWN };
  const parts = host.split('.');
  const kube = parts.length >= 3 && parts[2] === 'svc';
  return { destination_service: host, destination_service_name: kube ? parts[0]! : host, destination_service_namespace: kube ? parts[1]! : UNKNOWN };
}

function uriSan(props: { subject_alt_name?: Array<{ uri?: string }> } | undefined): string | undefined {
  return props?.subject_alt_name?.find((san) => san.uri)?.uri;
}

/** Whether the entry is counted at the destination (a sidecar's inbound side). */
export function isInbound(logName: string, entry: HttpAccessLogEntry): boolean {
  if (logName === ACCESS_LOG_NAMES.inbound) return true;
  if (logName === ACCESS_LOG_NAMES.outbound || logName === ACCESS_LOG_NAMES.gateway) return false;
  return (entry.common_properties?.upstream_cluster ?? '').startsWith('inbound|');
}

/** The service a request reached on the inbound side: the pod's service whose target port the inbound cluster (or listener) serves. */
function inboundService(entry: HttpAccessLogEntry, self: WorkloadInfo): string | undefined {
  const cluster = entry.common_properties?.upstream_cluster ?? '';
  const parts = cluster.split('|');
  const port = parts[0] === 'inbound' ? Number(parts[1]) : entry.common_properties?.downstream_local_address?.socket_address?.port_value;
  return self.services.find((s) => s.target_port === port)?.host ?? self.services[0]?.host;
}

function outboundService(entry: HttpAccessLogEntry): string | undefined {
  const parts = (entry.common_properties?.upstream_cluster ?? '').split('|');
  return parts.length === 4 && parts[0] === 'outbound' && parts[3] ? parts[3] : undefined;
}

function requestProtocol(entry: HttpAccessLogEntry): 'grpc' | 'http' {
  const contentType = entry.request?.request_headers?.['content-type'] ?? '';
  return contentType.startsWith('application/grpc') ? 'grpc' : 'http';
}

/** Istio's labels and the measured values of one request (from its access log entry). */
export function requestSample(logName: string, entry: HttpAccessLogEntry, inputs: LabelInputs): RequestSample {
  const common = entry.common_properties ?? {};
  const inbound = isInbound(logName, entry);
  const protocol = requestProtocol(entry);
  const grpcStatus = protocol === 'grpc' ? entry.response?.response_trailers?.['grpc-status'] ?? entry.response?.response_headers?.['grpc-status'] ?? '' : '';
  let peerSide: Partial<IstioHttpLabels>;
  let ownSide: Partial<IstioHttpLabels>;
  let service: ReturnType<typeof serviceLabels>;
  let security: string;
  if (inbound) {
    // The connection's peer, not the client x-forwarded-for names: a gateway forwards its clients' addresses.
    const peerIp = ipOf(common.downstream_direct_remote_address) ?? ipOf(common.downstream_remote_address);
    const peerPrincipal = uriSan(common.tls_properties?.peer_certificate_properties);
    peerSide = side('source', peerIp ? inputs.lookup(peerIp) : undefined, peerPrincipal);
    ownSide = side('destination', inputs.self, uriSan(common.tls_properties?.local_certificate_properties) ?? (peerPrincipal ? inputs.self.principal : undefined));
    service = serviceLabels(inboundService(entry, inputs.self));
    security = peerPrincipal ? 'mutual_tls' : 'none';
  } else {
    const peerIp = ipOf(common.upstream_remote_address);
    const peer = peerIp ? inputs.lookup(peerIp) : undefined;
    // The upstream connection's certificates are not in the access log: mesh mTLS (auto mTLS) is what a
    // pod with certificates uses to a pod with a sidecar, whose principal the table carries.
    const mtls = Boolean(inputs.self.principal && peer?.principal);
    ownSide = side('source', inputs.self, mtls ? inputs.self.principal : undefined);
    peerSide = side('destination', peer, mtls ? peer?.principal : undefined);
    service = serviceLabels(outboundService(entry));
    security = UNKNOWN;
  }
  const source = inbound ? peerSide : ownSide;
  const destination = inbound ? ownSide : peerSide;
  const labels = {
    reporter: inbound ? 'destination' : 'source',
    ...source,
    ...destination,
    ...service,
    request_protocol: protocol,
    response_code: String(entry.response?.response_code?.value ?? 0),
    grpc_response_status: grpcStatus,
    response_flags: responseFlagsText(common.response_flags),
    connection_security_policy: security,
  } as IstioHttpLabels;
  return {
    labels,
    durationMs: durationMs(common.duration) ?? durationMs(common.time_to_last_downstream_tx_byte) ?? 0,
    requestBytes: (entry.request?.request_headers_bytes ?? 0) + (entry.request?.request_body_bytes ?? 0),
    responseBytes: (entry.response?.response_headers_bytes ?? 0) + (entry.response?.response_body_bytes ?? 0),
  };
}
