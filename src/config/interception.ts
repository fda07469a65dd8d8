// Istio's pod conventions for iptables capture: the injector writes them (inject/interception.ts) and the
// analyzer reads a pod's capture from them (translate/pod-annotations.ts). Pure.

/** Istio's pod annotation: REDIRECT (captured), NONE (not captured); TPROXY is not supported here. */
export const INTERCEPTION_MODE_ANNOTATION = 'sidecar.istio.io/interceptionMode';
/** The init container that programs the capture; a pod without it is not captured. */
export const INIT_CONTAINER = 'istio-init';
/** The annotations that shape istio-init's rules (includeOutboundIPRanges, excludeInboundPorts, ...). */
export const TRAFFIC_ANNOTATION_PREFIX = 'traffic.sidecar.istio.io/';

/** The Node label of a cluster whose pods run in network namespaces with iptables interception: what `meshwork install` reads. */
export const INTERCEPTION_NODE_LABEL = 'mesh.meshwork.io/interception';

/** A pod's traffic.sidecar.istio.io annotations, sorted. */
export function trafficAnnotations(annotations: Readonly<Record<string, string>> | undefined): string[] {
  return Object.keys(annotations ?? {})
    .filter((k) => k.startsWith(TRAFFIC_ANNOTATION_PREFIX))
    .sort();
}
