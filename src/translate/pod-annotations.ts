// What the analyzer says about the annotations of pods with a proxy: a proxy.istio.io/config that does
// not parse is not applied (the proxy runs with the mesh's default proxy config), and fields meshwork
// does not act on change nothing; traffic.sidecar.istio.io annotations on a pod iptables does not
// capture are not applied either (the injector warns of them at admission; this says it again later,
// from the pods as they run). Pure.
import { INIT_CONTAINER, INTERCEPTION_MODE_ANNOTATION } from '../config/interception.js';
import { parseProxyConfig, PROXY_CONFIG_ANNOTATION } from '../config/proxy-config.js';
import type { PodAnnotation, UncapturedPodAnnotations } from '../registry/model.js';
import { problemAt, type Problem } from '../config/problems.js';

const FIELD = `metadata.annotations['${PROXY_CONFIG_ANNOTATION}']`;

export function proxyConfigProblems(annotations: readonly PodAnnotation[]): Problem[] {
  const out: Problem[] = [];
  for (const a of annotations) {
    const ref = { kind: 'Pod' as const, name: a.pod, namespace: a.namespace };
    const parsed = parseProxyConfig(a.value);
    if (!parsed.ok) {
      out.push(problemAt(ref, 'warning', 'invalid-annotation', FIELD,
        `Invalid annotation ${PROXY_CONFIG_ANNOTATION} (cluster ${a.cluster}): ${parsed.error}. The proxy does not apply it and runs with the ` +
          `mesh's default proxy config (Istio would refuse to inject the pod). Fix the annotation (JSON or YAML ProxyConfig fields) and recreate the pod.`));
    } else if (parsed.notActedOn.length > 0) {
      out.push(problemAt(ref, 'warning', 'unsupported', FIELD,
        `ProxyConfig fields meshwork does not act on (cluster ${a.cluster}): ${parsed.notActedOn.join(', ')}; only gatewayTopology.numTrustedProxies and ` +
          'gatewayTopology.forwardClientCertDetails change what the proxy does.'));
    }
  }
  return out;
}

/** MW0016: the traffic.sidecar.istio.io annotations of each proxy pod that has no istio-init, why, and the fix. */
export function trafficAnnotationProblems(pods: readonly UncapturedPodAnnotations[]): Problem[] {
  return pods.map((p) => {
    const one = p.annotations.length === 1;
    const names = one ? `Annotation ${p.annotations[0]} is` : `Annotations ${p.annotations.join(', ')} are`;
    const them = one ? 'it' : 'them';
    const mode = p.interceptionMode?.trim();
    const why =
      mode === 'NONE'
        ? `the pod opts out of capture (${INTERCEPTION_MODE_ANNOTATION}: NONE)`
        : mode !== undefined && mode !== 'REDIRECT'
          ? `the pod asks ${INTERCEPTION_MODE_ANNOTATION}: "${mode}", which is not supported (REDIRECT or NONE), so it is not captured`
          : `the pod is not captured by iptables: it has no ${INIT_CONTAINER} init container and reaches the mesh through http_proxy (the mesh runs without interception, or the pod's data plane is the meshwork proxy)`;
    const fix =
      mode === 'NONE'
        ? `Remove ${them}, or drop the opt-out in a mesh that runs with interception and recreate the pod.`
        : `Remove ${them}, or run the mesh with interception (meshwork up --interception iptables, as root) on the envoy data plane and recreate the pod.`;
    return problemAt({ kind: 'Pod', name: p.pod, namespace: p.namespace }, 'warning', 'traffic-annotations-not-applied', 'metadata.annotations',
      `${names} not applied (cluster ${p.cluster}): ${why}, and only ${INIT_CONTAINER}'s capture rules read ${them}. ${fix}`);
  });
}
