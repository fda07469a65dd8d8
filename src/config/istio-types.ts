// The subset of the Istio networking API (networking.istio.io v1alpha3/v1beta1/v1) that the translator
// reads. Field names and shapes follow the Istio CRDs exactly so the scenario YAML parses into them
// unchanged; every field is optional where Istio's is, because validation (src/config/validate.ts)
// and the translator's own checks report what is missing rather than the type system assuming it.

/** Istio's StringMatch: exactly one of exact, prefix, regex (RE2 syntax). */
export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface Percent {
  value?: number;
}

export interface PortSelector {
  number?: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  /** An empty StringMatch ({}) means "header present". */
  headers?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
  withoutHeaders?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
  ignoreUriCase?: boolean;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
}

export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  redirectCode?: number;
}

export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  /** RE2 match and substitution (\1 for groups) applied to the path (Istio 1.18+); not with `uri`. */
  uriRegexRewrite?: { match?: string; rewrite?: string };
}

export interface HTTPRetry {
  attempts?: number;
  perTryTimeout?: string;
  retryOn?: string;
  retryRemoteLocalities?: boolean;
}

export interface HTTPFaultInjection {
  delay?: { fixedDelay?: string; percentage?: Percent; percent?: number };
  abort?: { httpStatus?: number; grpcStatus?: string; http2Error?: string; percentage?: Percent };
}

export interface HTTPMirrorPolicy {
  destination: Destination;
  /** Default 100. */
  percentage?: Percent;
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrorPercentage?: Percent;
  /** Several mirrors, each with its own percentage (Istio 1.19+); not together with `mirror`. */
  mirrors?: HTTPMirrorPolicy[];
  headers?: Headers;
  /** A root route hands its matches to the routes of another VirtualService (one level only). */
  delegate?: { name?: string; namespace?: string };
  corsPolicy?: CorsPolicy;
  directResponse?: HTTPDirectResponse;
}

export interface CorsPolicy {
  allowOrigins?: StringMatch[];
  /** Deprecated exact origins; used when allowOrigins is absent. */
  allowOrigin?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  /** What a preflight whose origin is not allowed gets: forwarded upstream (default) or ignored. */
  unmatchedPreflights?: 'UNSPECIFIED' | 'FORWARD' | 'IGNORE';
}

export interface HTTPDirectResponse {
  status?: number;
  /** `bytes` is base64, as in Istio's JSON. */
  body?: { string?: string; bytes?: string };
}

export interface VirtualService {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tcp?: TCPRoute[];
  tls?: TLSRoute[];
  exportTo?: string[];
}

/** Conditions on an L4 connection; the conditions of one match are ANDed, several matches ORed. */
export interface L4MatchAttributes {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
}

export interface TLSMatchAttributes extends L4MatchAttributes {
  /** The SNI of the ClientHello; a leading `*.` matches any subdomain. */
  sniHosts?: string[];
}

export interface RouteDestination {
  destination: Destination;
  weight?: number;
}

export interface TCPRoute {
  match?: L4MatchAttributes[];
  route?: RouteDestination[];
}

export interface TLSRoute {
  match?: TLSMatchAttributes[];
  route?: RouteDestination[];
}

export type SimpleLB = 'UNSPECIFIED' | 'ROUND_ROBIN' | 'LEAST_CONN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH';

export interface LoadBalancerSettings {
  simple?: SimpleLB;
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name?: string; path?: string; ttl?: string; attributes?: Array<{ name?: string; value?: string }> };
    useSourceIp?: boolean;
    httpQueryParameterName?: string;
    ringHash?: { minimumRingSize?: number };
    maglev?: { tableSize?: number };
    minimumRingSize?: number;
  };
  localityLbSetting?: LocalityLbSetting;
  warmupDurationSecs?: string;
}

/** networking.v1alpha3.LocalityLoadBalancerSetting: localities are `region/zone/subzone`, `*` a wildcard. */
export interface LocalityLbSetting {
  distribute?: Array<{ from?: string; to?: Record<string, number> }>;
  failover?: Array<{ from?: string; to?: string }>;
  /** Label names (optionally `name=value`) in order of importance. */
  failoverPriority?: string[];
  enabled?: boolean;
}

export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeout?: string;
    tcpKeepalive?: { probes?: number; time?: string; interval?: string };
    maxConnectionDuration?: string;
    /** A TCP proxy closes a connection without traffic for this long (Envoy's default: 1h). */
    idleTimeout?: string;
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    useClientProtocol?: boolean;
    maxConcurrentStreams?: number;
  };
}

export interface OutlierDetection {
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  /** Deprecated alias of consecutive5xxErrors in older Istio. */
  consecutiveErrors?: number;
  splitExternalLocalOriginErrors?: boolean;
  consecutiveLocalOriginFailures?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

export type ClientTLSMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

export interface ClientTLSSettings {
  mode?: ClientTLSMode;
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  sni?: string;
  insecureSkipVerify?: boolean;
}

export interface PortTrafficPolicy {
  port?: PortSelector;
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
}

export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
  portLevelSettings?: PortTrafficPolicy[];
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRule {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  workloadSelector?: { matchLabels?: Record<string, string> };
}

export interface ServerTLSSettings {
  httpsRedirect?: boolean;
  mode?: 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
  credentialName?: string;
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  subjectAltNames?: string[];
  minProtocolVersion?: string;
  maxProtocolVersion?: string;
  cipherSuites?: string[];
}

export interface GatewayServer {
  port: { number: number; name?: string; protocol: string; targetPort?: number };
  bind?: string;
  hosts: string[];
  tls?: ServerTLSSettings;
  name?: string;
}

export interface Gateway {
  selector?: Record<string, string>;
  servers?: GatewayServer[];
}

export interface ServicePort {
  number: number;
  protocol?: string;
  name?: string;
  targetPort?: number;
}

export interface WorkloadEntry {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}

export interface ServiceEntry {
  hosts: string[];
  addresses?: string[];
  ports?: ServicePort[];
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints?: WorkloadEntry[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
  subjectAltNames?: string[];
}

/** A protobuf Duration as Envoy's JSON/YAML spells it. */
export interface ProtoDuration {
  seconds: number;
  nanos: number;
}

export type DurationParse = { ok: true; duration: ProtoDuration; millis: number } | { ok: false; error: string };

const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|ns|m|s)/gy;
const UNIT_NANOS: Record<string, number> = {
  h: 3600e9,
  m: 60e9,
  s: 1e9,
  ms: 1e6,
  us: 1e3,
  'µs': 1e3,
  ns: 1,
};

/**
 * Parses an Istio duration string ("1.5s", "100ms", "1h30m", as Go's time.ParseDuration reads them).
 * Istio rejects negative durations and a bare number without unit; so does this.
 */
export function parseDuration(text: string): DurationParse {
  // Config read from YAML is not typed: `timeout: 10` arrives as a number.
  if (typeof text !== 'string') return { ok: false, error: `invalid duration ${JSON.stringify(text)}: a duration is a string with a unit, like "10s" or "250ms"` };
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'empty duration; write it like "1.5s" or "250ms"' };
  if (trimmed === '0') return { ok: true, duration: { seconds: 0, nanos: 0 }, millis: 0 };
  let totalNanos = 0n;
  DURATION_PART.lastIndex = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = DURATION_PART.exec(trimmed)) !== null) {
    const [whole, amount, unit] = match;
    consumed += whole.length;
    // Split integer and fraction so "1.5s" stays exact in nanoseconds.
    const [intPart, fracPart = ''] = amount.split('.');
    const unitNanos = BigInt(UNIT_NANOS[unit]);
    totalNanos += BigInt(intPart || '0') * unitNanos;
    if (fracPart) {
      const scale = 10n ** BigInt(fracPart.length);
      totalNanos += (BigInt(fracPart) * unitNanos) / scale;
    }
  }
  if (consumed !== trimmed.length) {
    return { ok: false, error: `invalid duration "${text}"; write it like "1.5s", "250ms" or "1m30s"` };
  }
  const seconds = totalNanos / 1_000_000_000n;
  const nanos = totalNanos % 1_000_000_000n;
  return {
    ok: true,
    duration: { seconds: Number(seconds), nanos: Number(nanos) },
    millis: Number(totalNanos / 1_000_000n),
  };
}

/** networking.istio.io Sidecar: what a workload's proxy sees (egress), serves (ingress) and does with unknown hosts. */
export interface Sidecar {
  workloadSelector?: { labels?: Record<string, string> };
  ingress?: SidecarIngressListener[];
  egress?: SidecarEgressListener[];
  outboundTrafficPolicy?: OutboundTrafficPolicy;
  inboundConnectionPool?: unknown;
}

export interface SidecarPort {
  number?: number;
  protocol?: string;
  name?: string;
  targetPort?: number;
}

export interface SidecarIngressListener {
  port?: SidecarPort;
  bind?: string;
  captureMode?: string;
  defaultEndpoint?: string;
  tls?: unknown;
  connectionPool?: unknown;
}

export interface SidecarEgressListener {
  port?: SidecarPort;
  bind?: string;
  captureMode?: string;
  /** `namespace/dnsName`: `*` or `.` or `~` or a namespace, then `*`, `*.suffix` or a host. */
  hosts?: string[];
}

export interface OutboundTrafficPolicy {
  mode?: 'REGISTRY_ONLY' | 'ALLOW_ANY';
  egressProxy?: unknown;
}

/** security.istio.io AuthorizationPolicy (translated by translate/authorization.ts). */
export interface AuthorizationPolicy {
  selector?: { matchLabels?: Record<string, string> };
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  action?: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
  provider?: { name?: string };
  rules?: AuthorizationRule[];
}

export interface PolicyTargetReference {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface AuthorizationRule {
  from?: Array<{ source?: AuthorizationSource }>;
  to?: Array<{ operation?: AuthorizationOperation }>;
  when?: Array<{ key: string; values?: string[]; notValues?: string[] }>;
}

export interface AuthorizationSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
}

export interface AuthorizationOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

/** security.istio.io PeerAuthentication mTLS mode; UNSET (or absent) inherits from the enclosing scope. */
export type PeerAuthenticationMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

/** security.istio.io PeerAuthentication: what mTLS a workload's inbound side accepts. */
export interface PeerAuthentication {
  /** Absent (or no labels): the namespace (or, in the root namespace, the mesh). */
  selector?: { matchLabels?: Record<string, string> };
  mtls?: { mode?: PeerAuthenticationMode };
  /** Per workload port (the container port, as a string key); only with a selector. */
  portLevelMtls?: Record<string, { mode?: PeerAuthenticationMode }>;
}
