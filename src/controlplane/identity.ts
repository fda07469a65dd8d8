// Who a connecting xDS client is, from its node (id and metadata), as Istio reads it:
//   sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local   a sidecar (metadata GENERATOR=grpc: proxyless gRPC)
//   router~<ip>~<pod>.<ns>~<ns>.svc.cluster.local    a gateway
//   anything else                                     a proxyless gRPC client (its bootstrap's node id)
// Labels come from the pod in the registry's cache when it is there (the source of truth), else
// from metadata LABELS.

import type { V1Pod } from '@kubernetes/client-node';
import { checkProxyConfig, type GatewayTopology } from '../config/proxy-config.js';
import type { Locality, ProxyIdentity, ProxyKind } from '../registry/model.js';
import { appAddressFor, sidecarFrontsApp } from '../registry/build.js';
import { podLocality, ZONE_LABEL } from '../registry/locality.js';
import type { XdsNode } from '../xds/protos.js';
import { structToPlain } from '../xds/status.js';
import { ACCESS_LOG_SERVICE_METADATA } from '../translate/access-log.js';
import { INTERCEPTION_MODE_METADATA } from '../translate/interception.js';

export interface IdentityContext {
  /** The control plane's own cluster: a node without CLUSTER_ID runs there. */
  defaultCluster: string;
  /** The pod `namespace/name` in member cluster `cluster`, if the cache has it. */
  findPod(cluster: string, namespace: string, name: string): V1Pod | undefined;
}

interface ParsedNodeId {
  kind: 'sidecar' | 'router';
  ip: string;
  podName?: string;
  namespace?: string;
}

/** `sidecar~ip~pod.ns~ns.svc.cluster.local` / `router~...` into parts; undefined for other shapes. */
export function parseNodeId(id: string): ParsedNodeId | undefined {
  const parts = id.split('~');
  if (parts.length !== 4 || (parts[0] !== 'sidecar' && parts[0] !== 'router')) return undefined;
  const [kind, ip, podId, domain] = parts;
  const namespace = domain.split('.')[0] || undefined;
  // The pod part is `<pod>.<ns>`; pod names may contain dots, the namespace may not.
  let podName: string | undefined = podId || undefined;
  if (podId && namespace && podId.endsWith(`.${namespace}`)) podName = podId.slice(0, -namespace.length - 1);
  else if (podId.includes('.')) podName = podId.slice(0, podId.lastIndexOf('.'));
  return { kind, ip, ...(podName ? { podName } : {}), ...(namespace ? { namespace } : {}) };
}

export function proxyIdentity(node: XdsNode, ctx: IdentityContext): ProxyIdentity {
  const id = node.id ?? '';
  const metadata = structToPlain(node.metadata);
  const meta = (key: string): string | undefined => {
    const v = metadata[key];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const parsed = parseNodeId(id);
  const kind: ProxyKind = meta('GENERATOR') === 'grpc' || !parsed ? 'proxyless' : parsed.kind;
  const namespace = meta('NAMESPACE') ?? parsed?.namespace ?? 'default';
  const podName = meta('NAME') ?? parsed?.podName;
  const cluster = meta('CLUSTER_ID') ?? ctx.defaultCluster;
  const pod = podName ? ctx.findPod(cluster, namespace, podName) : undefined;
  const ip = parsed?.ip || pod?.status?.podIP || firstInstanceIp(metadata['INSTANCE_IPS']) || '';

  const labels = pod ? { ...(pod.metadata?.labels ?? {}) } : stringMap(metadata['LABELS']);
  // Only a sidecar sits in front of an app; when the pod is known it must have an app container too.
  const fronted = kind === 'sidecar' && (pod === undefined || sidecarFrontsApp(pod));
  const appIp = fronted ? appAddressFor(ip) : undefined;
  const gatewayTopology = kind === 'router' ? gatewayTopologyOf(metadata['PROXY_CONFIG']) : undefined;
  const locality = nodeLocality(node) ?? labelLocality(labels);
  return {
    id,
    kind,
    namespace,
    cluster,
    labels,
    ip,
    ...(appIp ? { appIp } : {}),
    ...(podName ? { podName } : {}),
    ...(gatewayTopology ? { gatewayTopology } : {}),
    ...(locality ? { locality } : {}),
    ...(meta(ACCESS_LOG_SERVICE_METADATA) === 'true' && kind !== 'proxyless' ? { accessLogService: true } : {}),
    ...(meta(INTERCEPTION_MODE_METADATA) === 'REDIRECT' && kind === 'sidecar' ? { interceptionMode: 'REDIRECT' as const } : {}),
  };
}

/** The bootstrap's node.locality wins, as in Istio. */
function nodeLocality(node: XdsNode): Locality | undefined {
  const { region = '', zone = '', sub_zone: subZone = '' } = node.locality ?? {};
  if (region === '' && zone === '') return undefined;
  return { region, zone, ...(subZone ? { subZone } : {}) };
}

/**
 * A pod whose labels name its zone has that locality. Otherwise it stays unknown here (the node's zone
 * is not read): the translator takes the locality of the proxy's own endpoints, which the registry
 * made from the same labels and the EndpointSlice's zone.
 */
function labelLocality(labels: Record<string, string>): Locality | undefined {
  return labels[ZONE_LABEL] === undefined ? undefined : podLocality(labels, labels[ZONE_LABEL]);
}

/**
 * A gateway's topology from its node metadata PROXY_CONFIG (the pod's effective ProxyConfig, as
 * pilot-agent sends it). The agent checked it before sending; a node whose PROXY_CONFIG does not check
 * (not sent by our agent) gets Istio's defaults, as one without PROXY_CONFIG does.
 */
function gatewayTopologyOf(value: unknown): GatewayTopology | undefined {
  if (value === undefined) return undefined;
  const checked = checkProxyConfig(value);
  if (!checked.ok) return undefined;
  const { numTrustedProxies, forwardClientCertDetails } = checked.config.gatewayTopology ?? {};
  const topology: GatewayTopology = {
    ...(numTrustedProxies !== undefined ? { numTrustedProxies } : {}),
    ...(forwardClientCertDetails !== undefined ? { forwardClientCertDetails } : {}),
  };
  return Object.keys(topology).length > 0 ? topology : undefined;
}

function firstInstanceIp(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.split(',').map((s) => s.trim()).find((s) => s !== '');
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
