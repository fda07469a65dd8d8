// SPIFFE identities of the mesh's workloads, as Istio writes them:
// spiffe://<trust domain>/ns/<namespace>/sa/<service account>.

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

export function spiffeId(identity: WorkloadIdentity): string {
  return `spiffe://${identity.trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
}

/** The identity a SPIFFE URI names, or undefined when it is not Istio's workload form. */
export function parseSpiffeId(uri: string): WorkloadIdentity | undefined {
  const match = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!match) return undefined;
  return { trustDomain: match[1]!, namespace: match[2]!, serviceAccount: match[3]! };
}
