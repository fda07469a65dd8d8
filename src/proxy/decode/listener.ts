// envoy.config.listener.v3.Listener -> Listener: filter chains ending in an HttpConnectionManager (each
// chain its own; identical ones are shared) or a tcp_proxy, matched on destination port, SNI and transport protocol;
// anything else is rejected with a clear reason.

import type { FaultConfig } from '../model/fault.js';
import { isIP } from 'node:net';
import type { CidrRange, ClientCertDetail, FilterChain, ForwardClientCert, HttpConnectionManager, Listener, RouteSource, TrustBoundary } from '../model/listener.js';
import { err, ok, type Result } from '../result.js';
import { CORS_FILTER_NAME, CORS_TYPE_URL } from './cors.js';
import { decodeFault, FAULT_FILTER_NAME, FAULT_TYPE_URL } from './fault.js';
import { arr, bool, enumName, join, num, obj, objs, Problems, str, wrappedBool, wrappedNum, type Obj } from './fields.js';
import { decodeChainMatch, decodeListenerFilters, decodeTcpProxy, TCP_PROXY_FILTER_NAME, TCP_PROXY_TYPE_URL } from './network-filters.js';
import { decodeRouteTableInto } from './route.js';
import type { RbacFilter } from '../model/rbac.js';
import { decodeRbacFilter, HTTP_RBAC_FILTER_NAME, HTTP_RBAC_TYPE_URL, NETWORK_RBAC_FILTER_NAME, NETWORK_RBAC_TYPE_URL } from './rbac.js';
import { decodeDownstreamTls, decodeTransportSocket, DOWNSTREAM_TLS_URL } from './tls.js';
import { ACCESS_LOG_SERVICE_CLUSTER } from '../../telemetry/access-log-entry.js';

export const HCM_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const HCM_FILTER_NAME = 'envoy.filters.network.http_connection_manager';
// Filters Istio adds for telemetry: they change no routing decision, so serving without them is safe.
const SKIPPABLE_FILTERS = new Set(['envoy.filters.http.grpc_stats', 'istio.stats', 'istio.metadata_exchange', 'istio.alpn']);
// Istio's telemetry network filters: they count, they do not route.
const SKIPPABLE_NETWORK_FILTERS = new Set(['istio.stats', 'istio.metadata_exchange', 'envoy.filters.network.metadata_exchange']);
const ROUTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

function decodeHcm(o: Obj, path: string, p: Problems, configKey: string): HttpConnectionManager | undefined {
  let routes: RouteSource | undefined;
  const rds = obj(o, 'rds', path, p);
  const inline = obj(o, 'route_config', path, p);
  if (rds) {
    const name = str(rds, 'route_config_name', join(path, 'rds'), p);
    if (!name) p.add(join(path, 'rds.route_config_name'), 'is required');
    else routes = { kind: 'rds', routeConfigName: name };
  } else if (inline) {
    routes = { kind: 'inline', table: decodeRouteTableInto(inline, join(path, 'route_config'), p) };
  } else {
    p.add(path, 'one of rds, route_config is required (scoped_routes is not supported)');
  }
  let fault: FaultConfig | undefined;
  let faultFilterPresent = false;
  let routerSeen = false;
  let corsFilter: HttpConnectionManager['corsFilter'];
  const rbac: RbacFilter[] = [];
  const httpFilters = objs(o, 'http_filters', path, p);
  for (const { value: filter, path: fPath } of httpFilters) {
    const name = str(filter, 'name', fPath, p) ?? '';
    const typed = obj(filter, 'typed_config', fPath, p);
    const typeUrl = typed && typeof typed['@type'] === 'string' ? typed['@type'] : undefined;
    if (name === FAULT_FILTER_NAME || typeUrl === FAULT_TYPE_URL) {
      faultFilterPresent = true;
      if (typed) fault = decodeFault(typed, join(fPath, 'typed_config'), p);
    } else if (name === CORS_FILTER_NAME || typeUrl === CORS_TYPE_URL) {
      // The filter's own config (Cors) is empty: policies come per route and virtual host.
      if (typed && Object.keys(typed).some((k) => k !== '@type')) p.add(join(fPath, 'typed_config'), 'the CORS filter takes no config of its own here (policies go in typed_per_filter_config)');
      corsFilter = faultFilterPresent ? 'after-fault' : 'before-fault';
    } else if (name === HTTP_RBAC_FILTER_NAME || typeUrl === HTTP_RBAC_TYPE_URL) {
      // Checked before routing: in front of fault and CORS, where Istio puts it.
      if (faultFilterPresent || corsFilter) p.add(fPath, 'the RBAC filter is only supported before the fault and CORS filters');
      if (typed) rbac.push(decodeRbacFilter(typed, join(fPath, 'typed_config'), p, false));
    } else if (typeUrl === ROUTER_TYPE_URL || name === 'envoy.filters.http.router') {
      routerSeen = true;
    } else if (SKIPPABLE_FILTERS.has(name)) {
      // Telemetry/CORS filters change no routing decision; serving without them is safe.
    } else if (!(bool(filter, 'is_optional', fPath, p) ?? false)) {
      // Envoy rejects unknown non-optional filters; so do we, by name, so the control plane can see why.
      p.add(fPath, `http filter '${name}'${typeUrl ? ` (${typeUrl})` : ''} is not supported (mark it is_optional to skip it)`);
    }
  }
  if (!routerSeen && httpFilters.length > 0) p.add(join(path, 'http_filters'), 'the last filter must be envoy.filters.http.router');
  if (!routes) return undefined;
  return {
    configKey,
    statPrefix: str(o, 'stat_prefix', path, p) ?? '',
    routes,
    fault,
    faultFilterPresent,
    corsFilter,
    rbac,
    connectEnabled: objs(o, 'upgrade_configs', path, p).some(({ value, path: uPath }) =>
      (str(value, 'upgrade_type', uPath, p) ?? '').toUpperCase() === 'CONNECT' && (wrappedBool(value, 'enabled', uPath, p) ?? true)),
    stripAnyHostPort: bool(o, 'strip_any_host_port', path, p) ?? false,
    stripMatchingHostPort: bool(o, 'strip_matching_host_port', path, p) ?? false,
    trust: decodeTrust(o, path, p),
    ...decodeAccessLogs(o, path, p),
  };
}

const HTTP_GRPC_LOGGER = 'envoy.access_loggers.http_grpc';
const HTTP_GRPC_LOGGER_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig';

/**
 * The HCM's access_log: an http_grpc logger on `envoy_accesslog_service` is honoured (the pod's agent
 * computes Istio's metrics from it); any other logger is accepted and reported as not acted on.
 */
function decodeAccessLogs(o: Obj, path: string, p: Problems): Pick<HttpConnectionManager, 'grpcAccessLogs' | 'unenforced'> {
  const grpcAccessLogs: string[] = [];
  const unenforced: string[] = [];
  for (const { value: log, path: lPath } of objs(o, 'access_log', path, p)) {
    const name = str(log, 'name', lPath, p) ?? '';
    const typed = obj(log, 'typed_config', lPath, p);
    const typeUrl = typed && typeof typed['@type'] === 'string' ? typed['@type'] : undefined;
    const common = typed && (name === HTTP_GRPC_LOGGER || typeUrl === HTTP_GRPC_LOGGER_TYPE_URL) ? obj(typed, 'common_config', join(lPath, 'typed_config'), p) : undefined;
    const cluster = (common?.['grpc_service'] as { envoy_grpc?: { cluster_name?: unknown } } | undefined)?.envoy_grpc?.cluster_name;
    if (common && cluster === ACCESS_LOG_SERVICE_CLUSTER && log['filter'] === undefined) {
      grpcAccessLogs.push(str(common, 'log_name', join(lPath, 'typed_config.common_config'), p) ?? '');
    } else {
      unenforced.push(`${lPath} (${name || typeUrl || 'access logger'}${cluster ? ` on ${String(cluster)}` : ''}: only http_grpc on ${ACCESS_LOG_SERVICE_CLUSTER}, without filter, is served)`);
    }
  }
  return { grpcAccessLogs, unenforced };
}

const FORWARD_CLIENT_CERT: readonly ForwardClientCert[] = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'];

/**
 * The HCM fields that decide what a request's forwarding headers are worth: x-forwarded-for,
 * x-envoy-external-address, x-envoy-internal, x-forwarded-client-cert. Fields that would change these
 * headers in ways we do not implement are refused by name rather than ignored.
 */
function decodeTrust(o: Obj, path: string, p: Problems): TrustBoundary {
  const hops = num(o, 'xff_num_trusted_hops', path, p) ?? 0;
  if (!Number.isInteger(hops) || hops < 0) p.add(join(path, 'xff_num_trusted_hops'), `must be a non-negative integer, got ${hops}`);
  if (arr(o, 'original_ip_detection_extensions', path, p).length > 0) {
    p.add(join(path, 'original_ip_detection_extensions'), 'is not supported (x-forwarded-for with xff_num_trusted_hops is)');
  }
  if (bool(o, 'append_x_forwarded_port', path, p)) p.add(join(path, 'append_x_forwarded_port'), 'is not supported');
  if (str(o, 'via', path, p)) p.add(join(path, 'via'), 'is not supported');
  if (wrappedBool(o, 'add_user_agent', path, p)) p.add(join(path, 'add_user_agent'), 'is not supported');
  // Paths are routed and forwarded as received (Envoy's defaults); normalising them is not implemented.
  if (wrappedBool(o, 'normalize_path', path, p)) p.add(join(path, 'normalize_path'), 'is not supported (paths are routed as received)');
  if (bool(o, 'merge_slashes', path, p)) p.add(join(path, 'merge_slashes'), 'is not supported (paths are routed as received)');
  const escaped = o['path_with_escaped_slashes_action'];
  if (escaped !== undefined && escaped !== 'IMPLEMENTATION_SPECIFIC_DEFAULT' && escaped !== 'KEEP_UNCHANGED') {
    p.add(join(path, 'path_with_escaped_slashes_action'), `${JSON.stringify(escaped)} is not supported (KEEP_UNCHANGED is)`);
  }
  const internalCidrs: CidrRange[] = [];
  const internal = obj(o, 'internal_address_config', path, p);
  if (internal) {
    const here = join(path, 'internal_address_config');
    // Unix sockets are never internal here: our listeners bind TCP only.
    for (const { value: r, path: rPath } of objs(internal, 'cidr_ranges', here, p)) {
      const prefix = str(r, 'address_prefix', rPath, p) ?? '';
      const family = isIP(prefix);
      const length = wrappedNum(r, 'prefix_len', rPath, p) ?? 0;
      if (family === 0) p.add(join(rPath, 'address_prefix'), `must be an IP address, got ${JSON.stringify(prefix)}`);
      else if (!Number.isInteger(length) || length < 0 || length > (family === 4 ? 32 : 128)) p.add(join(rPath, 'prefix_len'), `must be in [0, ${family === 4 ? 32 : 128}], got ${length}`);
      else internalCidrs.push({ prefix, length });
    }
  }
  // set_current_client_cert_details: what APPEND_FORWARD and SANITIZE_SET write about a client certificate,
  // in the order Envoy writes them.
  const details = obj(o, 'set_current_client_cert_details', path, p) ?? {};
  const dPath = join(path, 'set_current_client_cert_details');
  const clientCertDetails: ClientCertDetail[] = [];
  if (bool(details, 'cert', dPath, p)) clientCertDetails.push('Cert');
  if (bool(details, 'chain', dPath, p)) clientCertDetails.push('Chain');
  if (wrappedBool(details, 'subject', dPath, p)) clientCertDetails.push('Subject');
  if (bool(details, 'uri', dPath, p)) clientCertDetails.push('URI');
  if (bool(details, 'dns', dPath, p)) clientCertDetails.push('DNS');
  return {
    useRemoteAddress: wrappedBool(o, 'use_remote_address', path, p) ?? false,
    xffNumTrustedHops: Number.isInteger(hops) && hops >= 0 ? hops : 0,
    skipXffAppend: bool(o, 'skip_xff_append', path, p) ?? false,
    forwardClientCert: enumName(o, 'forward_client_cert_details', FORWARD_CLIENT_CERT, path, p) ?? 'SANITIZE',
    clientCertDetails,
    internalCidrs,
    preserveExternalRequestId: bool(o, 'preserve_external_request_id', path, p) ?? false,
  };
}

/** One filter chain: its match and what ends it (an HCM, shared with earlier chains in `hcms` whose config is identical, or a tcp_proxy). */
function decodeChain(chain: Obj, path: string, p: Problems, hcms: HttpConnectionManager[]): FilterChain | undefined {
  const ts = obj(chain, 'transport_socket', path, p);
  const unenforced: string[] = [];
  const transport = ts ? decodeTransportSocket(ts, join(path, 'transport_socket'), p, DOWNSTREAM_TLS_URL, (o, tPath, tp) => decodeDownstreamTls(o, tPath, tp, unenforced)) : undefined;
  const tls = transport?.kind === 'tls' ? { tls: transport.tls } : {};
  const match = decodeChainMatch(obj(chain, 'filter_chain_match', path, p), join(path, 'filter_chain_match'), p);
  const name = str(chain, 'name', path, p) ?? '';
  const filters = objs(chain, 'filters', path, p);
  if (filters.length === 0) {
    p.add(join(path, 'filters'), 'must not be empty');
    return undefined;
  }
  const last = filters[filters.length - 1]!;
  const networkRbac: RbacFilter[] = [];
  for (const { value, path: fPath } of filters.slice(0, -1)) {
    const fName = str(value, 'name', fPath, p) ?? '';
    const fTyped = obj(value, 'typed_config', fPath, p);
    if (fName === NETWORK_RBAC_FILTER_NAME || fTyped?.['@type'] === NETWORK_RBAC_TYPE_URL) {
      if (fTyped) networkRbac.push(decodeRbacFilter(fTyped, join(fPath, 'typed_config'), p, true));
    } else if (!SKIPPABLE_NETWORK_FILTERS.has(fName)) {
      p.add(fPath, `network filter '${fName}' is not supported (only the last filter, an HTTP connection manager or tcp_proxy, is, with envoy.filters.network.rbac in front of a tcp_proxy)`);
    }
  }
  const typed = obj(last.value, 'typed_config', last.path, p);
  const typeUrl = typed?.['@type'];
  const filterName = last.value['name'];
  if (!typed) {
    p.add(join(last.path, 'typed_config'), 'is required');
    return undefined;
  }
  if (filterName === HCM_FILTER_NAME || typeUrl === HCM_TYPE_URL) {
    if (networkRbac.length > 0) p.add(join(path, 'filters'), 'envoy.filters.network.rbac in front of an HTTP connection manager is not supported (envoy.filters.http.rbac is)');
    const configKey = JSON.stringify(typed);
    const hcm = hcms.find((h) => h.configKey === configKey) ?? decodeHcm(typed, join(last.path, 'typed_config'), p, configKey);
    if (!hcm) return undefined;
    if (!hcms.includes(hcm)) hcms.push(hcm);
    unenforced.push(...hcm.unenforced);
    return { name, match, terminal: { kind: 'http', hcm }, ...tls, ...(unenforced.length > 0 ? { unenforced } : {}) };
  }
  if (filterName === TCP_PROXY_FILTER_NAME || typeUrl === TCP_PROXY_TYPE_URL) {
    const tcp = decodeTcpProxy(typed, join(last.path, 'typed_config'), p);
    return tcp ? { name, match, terminal: { kind: 'tcp', tcp: { ...tcp, networkRbac } }, ...tls, ...(unenforced.length > 0 ? { unenforced } : {}) } : undefined;
  }
  p.add(last.path, `the last filter must be envoy.filters.network.http_connection_manager or envoy.filters.network.tcp_proxy, got '${String(filterName)}'`);
  return undefined;
}

export function decodeListener(o: Obj): Result<Listener, string[]> {
  const p = new Problems();
  const name = str(o, 'name', '', p) ?? '';
  if (!name) p.add('name', 'is required');
  const address = obj(o, 'address', '', p);
  const sock = address && obj(address, 'socket_address', 'address', p);
  let host = '';
  let port = 0;
  if (!sock) p.add('address.socket_address', 'is required (pipe and envoy_internal_address are not supported)');
  else {
    host = str(sock, 'address', 'address.socket_address', p) ?? '';
    port = num(sock, 'port_value', 'address.socket_address', p) ?? 0;
    if (!host) p.add('address.socket_address.address', 'is required');
    if (!Number.isInteger(port) || port <= 0 || port > 65535) p.add('address.socket_address.port_value', `must be in [1, 65535], got ${port}`);
    if (sock['protocol'] !== undefined && sock['protocol'] !== 'TCP') p.add('address.socket_address.protocol', 'only TCP is supported');
  }
  const hcms: HttpConnectionManager[] = [];
  const chains: FilterChain[] = [];
  for (const { value, path } of objs(o, 'filter_chains', '', p)) {
    const chain = decodeChain(value, path, p, hcms);
    if (chain) chains.push(chain);
  }
  const dflt = obj(o, 'default_filter_chain', '', p);
  const defaultChain = dflt ? decodeChain(dflt, 'default_filter_chain', p, hcms) : undefined;
  if (chains.length === 0 && !defaultChain && p.list.length === 0) p.add('filter_chains', 'must not be empty');
  const { tlsInspector } = decodeListenerFilters(o, p);
  if (!tlsInspector && [...chains, ...(defaultChain ? [defaultChain] : [])].some((c) => c.match.serverNames.length > 0 || c.match.transportProtocol === 'tls')) {
    // Envoy accepts it, but without the inspector no connection has a server name: those chains never match.
    p.add('listener_filters', 'filter chains match on server_names or transport_protocol "tls" but there is no envoy.filters.listener.tls_inspector');
  }
  if (p.list.length) return err(p.list);
  return ok({ name, address: { host, port }, hcms, chains, defaultChain, tlsInspector });
}
