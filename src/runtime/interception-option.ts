// `meshwork up --interception <mode>`: how pods' traffic reaches their sidecar. `http_proxy` (the
// default, no root): apps get http_proxy and bind the app IP. `iptables`: Istio's capture in per-pod
// network namespaces (root). See docs/interception.md for what of it the embedded clusters run.
import { podNetworkUnsupported } from '../local/kubelet/pod-network.js';

export type InterceptionOption = 'http_proxy' | 'iptables';

export function parseInterceptionOption(value: string): InterceptionOption {
  if (value === 'http_proxy' || value === 'iptables') return value;
  throw new Error(`--interception: "${value}" is not a mode; use http_proxy (the default) or iptables`);
}

/** Why `up` cannot run with this mode, or undefined when it can. */
export function interceptionProblem(mode: InterceptionOption, unsupported: () => string | undefined = podNetworkUnsupported): string | undefined {
  if (mode === 'http_proxy') return undefined;
  const missing = unsupported();
  if (missing) return `--interception iptables: ${missing}`;
  // The pieces exist (istio-init rules, the interception listener model, pod network namespaces), but
  // the embedded kubelet does not yet start pods inside them: refuse rather than run http_proxy quietly.
  return '--interception iptables: the embedded clusters do not yet run pods in network namespaces (the kubelet, the pod address plan and the control plane\'s reachability from a pod namespace are missing; docs/interception.md says what exists). Run without --interception';
}
