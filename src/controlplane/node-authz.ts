// Whether an authenticated caller may hold an xDS stream for the node it names (pure). A node is a
// pod: its id `<type>~<ip>~<pod>.<namespace>~<domain>` and its metadata NAMESPACE, POD_NAME and
// SERVICE_ACCOUNT all claim who it is, and each claim must be the token's, or a pod could ask for
// another workload's config (its listeners, its gateway's credentials).
import { structToPlain } from '../xds/status.js';
import type { XdsNode } from '../xds/protos.js';
import type { CallerIdentity } from './token-review.js';

/** Undefined when the caller is the node; else why not, naming both. */
export function nodeIdentityMismatch(node: XdsNode, caller: CallerIdentity): string | undefined {
  const id = node.id ?? '';
  const metadata = structToPlain(node.metadata);
  const str = (key: string): string | undefined => (typeof metadata[key] === 'string' && metadata[key] !== '' ? (metadata[key] as string) : undefined);
  const parts = id.split('~');
  const token = `the token is ${caller.username}${caller.podName ? ` of pod ${caller.namespace}/${caller.podName}` : ''}`;
  if (parts.length < 4 || !parts[2]) return `node id "${id}" is not <type>~<ip>~<pod>.<namespace>~<domain>; ${token}`;
  if (!caller.podName) return `node "${id}" is a pod's, but ${token}, not bound to a pod: connect with the pod's own service-account token`;
  const podDotNs = parts[2];
  const namespace = str('NAMESPACE') ?? podDotNs.slice(podDotNs.lastIndexOf('.') + 1);
  const claims: Array<[string, string | undefined, string]> = [
    ['namespace (metadata NAMESPACE)', str('NAMESPACE'), caller.namespace],
    ['pod.namespace (node id)', podDotNs, `${caller.podName}.${caller.namespace}`],
    ['pod (metadata POD_NAME)', str('POD_NAME'), caller.podName],
    ['service account (metadata SERVICE_ACCOUNT)', str('SERVICE_ACCOUNT'), caller.serviceAccount],
  ];
  for (const [what, claimed, actual] of claims) {
    if (claimed === undefined || claimed === actual) continue;
    return `node "${id}" claims ${what} ${claimed} (namespace ${namespace}), but ${token}: a proxy gets only its own pod's config`;
  }
  return undefined;
}
