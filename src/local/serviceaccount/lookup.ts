// Token validation's view of the cluster: the service accounts, pods and token Secrets in the store.
import { findByKind } from '../../k8s/kinds.js';
import type { ObjectStore } from '../store/store.js';
import type { BoundObjectLookup } from './tokens.js';

export function storeLookup(store: ObjectStore): BoundObjectLookup {
  const type = (kind: string) => {
    const t = findByKind('', kind);
    if (!t) throw new Error(`resource table lacks core/v1 ${kind}`);
    return t;
  };
  const serviceAccounts = type('ServiceAccount');
  const pods = type('Pod');
  const secrets = type('Secret');
  return {
    serviceAccountUid: (ns, name) => store.get(serviceAccounts, ns, name)?.metadata.uid,
    pod: (ns, name) => {
      const pod = store.get(pods, ns, name);
      if (!pod) return undefined;
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
      return { uid: pod.metadata.uid, ...(nodeName ? { nodeName } : {}) };
    },
    secret: (ns, name) => store.get(secrets, ns, name),
  };
}
