// What the analyzer says about the proxy.istio.io/config annotations of pods with a proxy: one that
// does not parse is not applied (the proxy runs with the mesh's default proxy config), and fields
// meshwork does not act on change nothing. Pure.
import { parseProxyConfig, PROXY_CONFIG_ANNOTATION } from '../config/proxy-config.js';
import type { PodAnnotation } from '../registry/model.js';
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
