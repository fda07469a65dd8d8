// Outbound clusters (one per service port, plus one per DestinationRule subset) with the
// DestinationRule's traffic policy, and their ClusterLoadAssignments built from the endpoints of
// every member cluster.

import { parseDuration, type DestinationRule, type TrafficPolicy } from '../config/istio-types.js';
import type { IstioObject, MeshEndpoint } from '../registry/model.js';
import { destinationRuleFor, ruleIncludes, serviceVisible, type ServiceView, type TranslationContext } from './context.js';
import type {
  CircuitBreakerThresholds,
  Cluster,
  ClusterLoadAssignment,
  ConfigSource,
  Duration,
  OutlierDetection,
} from './envoy-types.js';
import { applyConnectionPool, applyLoadBalancer, applyLocalOriginSplit, reportedBy, UNLIMITED, type ReportOn } from './cluster-policy.js';
import { applyClusterTls, meshTlsEndpoint, serviceIdentities } from './cluster-tls.js';
import { loadAssignment, type EndpointTls } from './endpoints.js';
import { portMtls, workloadMtls, type WorkloadMtls } from './peer-authentication.js';
import { endpointSelectorLabels, localityLbPlan } from './locality-lb.js';
import { endpointPortKey, labelsMatch, outboundClusterName } from './names.js';
import { problemAt, type ConfigRef } from '../config/problems.js';

export const ADS: ConfigSource = { ads: {}, resource_api_version: 'V3' };
const DEFAULT_CONNECT_TIMEOUT: Duration = { seconds: 10, nanos: 0 };
/** Istio's default circuit breaker thresholds: none (Envoy's would allow 1024 requests and 3 concurrent retries). */
export const UNLIMITED_THRESHOLDS: CircuitBreakerThresholds = {
  max_connections: { value: UNLIMITED },
  max_pending_requests: { value: UNLIMITED },
  max_requests: { value: UNLIMITED },
  max_retries: { value: UNLIMITED },
};

/**
 * Istio's policy merge (MergeSubsetTrafficPolicy): a layer's port-level settings for the port replace
 * that layer's policy whole -- components they leave out fall back to defaults, not to the layer's
 * own -- and then the subset's policy replaces the top level's component by component, except that a
 * subset port-level setting replaces all four (loadBalancer, connectionPool, outlierDetection, tls).
 */
export function effectivePolicy(rule: DestinationRule | undefined, subsetName: string | undefined, port: number): TrafficPolicy {
  const components = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls'] as const;
  const atPort = (layer: TrafficPolicy | undefined): { policy: TrafficPolicy | undefined; portLevel: boolean } => {
    const p = layer?.portLevelSettings?.find((s) => s.port?.number === port);
    if (!p) return { policy: layer, portLevel: false };
    return { policy: { loadBalancer: p.loadBalancer, connectionPool: p.connectionPool, outlierDetection: p.outlierDetection, tls: p.tls }, portLevel: true };
  };
  const out: TrafficPolicy = {};
  const top = atPort(rule?.trafficPolicy).policy;
  for (const c of components) if (top?.[c]) (out as Record<string, unknown>)[c] = top[c];
  const subset = subsetName ? rule?.subsets?.find((s) => s.name === subsetName) : undefined;
  const own = atPort(subset?.trafficPolicy);
  for (const c of components) {
    if (own.policy?.[c] !== undefined || own.portLevel) {
      if (own.policy?.[c] !== undefined) (out as Record<string, unknown>)[c] = own.policy[c];
      else delete out[c];
    }
  }
  return out;
}

function policyDuration(ctx: TranslationContext, ref: ConfigRef | undefined, text: string | undefined, field: string): Duration | undefined {
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (parsed.ok) return parsed.duration;
  if (ref) ctx.problems.add(problemAt(ref, 'warning', 'invalid-duration', field, `${parsed.error}; Envoy's default is used instead.`));
  return undefined;
}

function applyPolicy(ctx: TranslationContext, cluster: Cluster, policy: TrafficPolicy, ref: ConfigRef | undefined, field: string, reportOn: ReportOn = () => true): void {
  applyLoadBalancer(ctx, cluster, policy, reportOn('loadBalancer') ? ref : undefined, field);
  applyConnectionPool(ctx, cluster, policy, reportOn('connectionPool') ? ref : undefined, field);
  const od = policy.outlierDetection;
  if (od) {
    const out: OutlierDetection = { enforcing_success_rate: { value: 0 } };
    const consecutive5xx = od.consecutive5xxErrors ?? od.consecutiveErrors;
    if (consecutive5xx !== undefined) {
      out.consecutive_5xx = { value: consecutive5xx };
      out.enforcing_consecutive_5xx = { value: consecutive5xx > 0 ? 100 : 0 };
    }
    if (od.consecutiveGatewayErrors !== undefined) {
      out.consecutive_gateway_failure = { value: od.consecutiveGatewayErrors };
      out.enforcing_consecutive_gateway_failure = { value: od.consecutiveGatewayErrors > 0 ? 100 : 0 };
    }
    const interval = policyDuration(ctx, ref, od.interval, `${field}.outlierDetection.interval`);
    if (interval) out.interval = interval;
    const ejection = policyDuration(ctx, ref, od.baseEjectionTime, `${field}.outlierDetection.baseEjectionTime`);
    if (ejection) out.base_ejection_time = ejection;
    if (od.maxEjectionPercent !== undefined) out.max_ejection_percent = { value: od.maxEjectionPercent };
    applyLocalOriginSplit(ctx, od, out, reportOn('outlierDetection') ? ref : undefined, field);
    cluster.outlier_detection = out;
    if (od.minHealthPercent !== undefined) cluster.common_lb_config = { healthy_panic_threshold: { value: od.minHealthPercent } };
  }
}

function baseCluster(name: string, service: ServiceView): Cluster {
  if (service.discovery !== 'eds') {
    // Istio's DNS clusters for IPv4 proxies: A records only, re-resolved every meshConfig.dnsRefreshRate (60 s) or as the TTL says.
    return {
      name,
      type: service.discovery === 'dns' ? 'STRICT_DNS' : 'LOGICAL_DNS',
      connect_timeout: DEFAULT_CONNECT_TIMEOUT,
      lb_policy: 'ROUND_ROBIN',
      dns_lookup_family: 'V4_ONLY',
      dns_refresh_rate: { seconds: 60, nanos: 0 },
      respect_dns_ttl: true,
      // Sidecars bind their pod IP (a loopback address here) for upstream connections; a name may
      // resolve to any address, which a loopback source cannot reach: the kernel picks the source.
      upstream_bind_config: { source_address: { address: '0.0.0.0', port_value: 0 } },
    };
  }
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, service_name: name },
    connect_timeout: DEFAULT_CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
  };
}

/**
 * gRPC resolves one name per cluster (LOGICAL_DNS) and refuses STRICT_DNS: a DNS ServiceEntry of one
 * endpoint becomes LOGICAL_DNS for proxyless clients; with several, the cluster is left out (its routes
 * fail with UNAVAILABLE), reported. Returns whether the cluster is kept.
 */
function proxylessDns(ctx: TranslationContext, service: ServiceView, cluster: Cluster, cla: ClusterLoadAssignment): boolean {
  const count = cla.endpoints.reduce((n, l) => n + l.lb_endpoints.length, 0);
  if (count === 1) {
    cluster.type = 'LOGICAL_DNS';
    return true;
  }
  if (service.origin) {
    ctx.problems.add(problemAt(service.origin, 'warning', 'unsupported-by-proxyless', 'spec.endpoints',
      `proxyless gRPC clients resolve one name per cluster (LOGICAL_DNS); ${service.hostname} has ${count} DNS endpoints, so they get no cluster for it and its routes fail with UNAVAILABLE. Use one endpoint name.`));
  }
  return false;
}

export interface OutboundClusters {
  clusters: Cluster[];
  /** CLAs for EDS clusters (DNS clusters carry theirs inline). */
  endpoints: ClusterLoadAssignment[];
}

function drRef(rule: IstioObject<DestinationRule> | undefined): ConfigRef | undefined {
  return rule ? { kind: 'DestinationRule', name: rule.name, namespace: rule.namespace } : undefined;
}

/** Every outbound cluster a proxy in `ctx.proxy.namespace` may use (all of them for analyze). */
export function buildOutboundClusters(ctx: TranslationContext): OutboundClusters {
  const clusters: Cluster[] = [];
  const endpoints: ClusterLoadAssignment[] = [];
  const clientNamespace = ctx.proxy?.namespace;
  const endpointTls = ctx.proxy?.kind === 'proxyless' || ctx.proxy?.plaintextOnly ? undefined : istioTlsEndpoints(ctx);
  for (const service of ctx.serviceList) {
    if (!serviceVisible(service, clientNamespace)) continue;
    const rule = destinationRuleFor(ctx, service.hostname, clientNamespace);
    const ref = drRef(rule);
    const serviceEndpoints = ctx.endpointsByHost.get(service.hostname) ?? [];
    const identities = serviceIdentities(ctx, service, serviceEndpoints);
    for (const port of service.ports) {
      const portKey = endpointPortKey(port);
      const variants: Array<{ subset?: string; labels?: Record<string, string>; field: string }> = [{ field: 'spec.trafficPolicy' }];
      (rule?.spec.subsets ?? []).forEach((s, i) => variants.push({ subset: s.name, labels: s.labels ?? {}, field: `spec.subsets[${i}].trafficPolicy` }));
      for (const v of variants) {
        const name = outboundClusterName(port.port, v.subset, service.hostname);
        const cluster = baseCluster(name, service);
        const policy = effectivePolicy(rule?.spec, v.subset, port.port);
        const reportOn = reportedBy(rule?.spec, v.subset, port.port);
        applyPolicy(ctx, cluster, policy, ref, v.field, reportOn);
        applyClusterTls({ ctx, cluster, service, port: port.port, subset: v.subset, tls: policy.tls, identities, ref: reportOn('tls') ? ref : undefined, field: v.field });
        const plan = localityLbPlan(policy);
        if (plan?.localityWeighted) cluster.common_lb_config = { ...cluster.common_lb_config, locality_weighted_lb_config: {} };
        const localityLb = plan && ctx.topology ? { plan, proxy: ctx.topology } : undefined;
        const cla = loadAssignment(name, serviceEndpoints, portKey, v.labels, localityLb, endpointTls);
        if (service.discovery !== 'eds' && ctx.proxy?.kind === 'proxyless' && !proxylessDns(ctx, service, cluster, cla)) continue;
        if (service.discovery !== 'eds') cluster.load_assignment = cla;
        else endpoints.push(cla);
        clusters.push(cluster);
      }
    }
  }
  return { clusters, endpoints };
}

/**
 * Which endpoints carry tlsMode istio (Istio's EDS metadata): mesh workloads, except on a port their
 * PeerAuthentication sets to DISABLE (Istio's mtlsChecker), where clients must not use mTLS.
 */
function istioTlsEndpoints(ctx: TranslationContext): EndpointTls {
  const byEndpoint = new Map<MeshEndpoint, WorkloadMtls>();
  return (endpoint, targetPort) => {
    if (!meshTlsEndpoint(endpoint)) return false;
    if (ctx.peerAuthentications.length === 0) return true;
    let mtls = byEndpoint.get(endpoint);
    if (!mtls) byEndpoint.set(endpoint, (mtls = workloadMtls(ctx.peerAuthentications, ctx.rootNamespace, endpoint)));
    return portMtls(mtls, targetPort) !== 'DISABLE';
  };
}

/** Analyzer check: a subset whose labels select no endpoint in any member cluster. */
export function checkSubsetsSelectEndpoints(ctx: TranslationContext): void {
  for (const rule of ctx.destinationRules) {
    const ref: ConfigRef = { kind: 'DestinationRule', name: rule.name, namespace: rule.namespace };
    const host = rule.spec.host ?? '';
    const matching = ctx.serviceList.filter((s) => ruleIncludes(destinationRuleFor(ctx, s.hostname, undefined), rule));
    if (matching.length === 0) {
      ctx.problems.add(problemAt(ref, 'warning', 'unknown-host', 'spec.host',
        `host "${host}" matches no service in the mesh (short names resolve in namespace ${rule.namespace}); this rule has no effect.`));
      continue;
    }
    (rule.spec.subsets ?? []).forEach((subset, i) => {
      const any = matching.some((s) => (ctx.endpointsByHost.get(s.hostname) ?? []).some((e) => labelsMatch(subset.labels ?? {}, endpointSelectorLabels(e))));
      if (!any) {
        ctx.problems.add(problemAt(ref, 'warning', 'subset-selects-nothing', `spec.subsets[${i}].labels`,
          `subset "${subset.name}" selects no endpoint in any cluster; traffic routed to it fails with 503 until pods with labels ` +
            `${JSON.stringify(subset.labels ?? {})} run.`));
      }
    });
  }
}
