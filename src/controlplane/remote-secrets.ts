// Remote secrets, as `istioctl create-remote-secret` writes them: a Secret in the control plane's
// namespace labelled istio/multiCluster=true, annotated networking.istio.io/cluster=<name>, whose
// data has one key per cluster name with a kubeconfig as value. Each cluster in such a secret is a
// member cluster to watch; secrets added, changed or deleted at run time add, replace or remove
// clusters without a restart.

import type { V1Secret } from '@kubernetes/client-node';

export interface RemoteCluster {
  clusterId: string;
  /** The kubeconfig text (decoded). */
  kubeconfig: string;
  /** `<namespace>/<name>` of the secret that brought it. */
  secret: string;
}

export interface ParsedRemoteSecret {
  clusters: RemoteCluster[];
  /** Keys that could not be used, with the reason. */
  problems: string[];
}

/** The member clusters a remote secret describes. The control plane's own cluster is never remote. */
export function parseRemoteSecret(secret: V1Secret, ownClusterId: string): ParsedRemoteSecret {
  const key = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  const clusters: RemoteCluster[] = [];
  const problems: string[] = [];
  const data: Record<string, string> = { ...(secret.data ?? {}) };
  // stringData is write-only on real API servers, but a local one may echo it back.
  for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = Buffer.from(v, 'utf8').toString('base64');
  for (const clusterId of Object.keys(data).sort()) {
    if (clusterId === ownClusterId) {
      problems.push(`secret ${key}: key ${clusterId} names this control plane's own cluster; ignored`);
      continue;
    }
    const kubeconfig = Buffer.from(data[clusterId], 'base64').toString('utf8');
    if (!/\bclusters\s*:/.test(kubeconfig)) {
      problems.push(`secret ${key}: key ${clusterId} does not hold a kubeconfig (no "clusters:"); ignored`);
      continue;
    }
    clusters.push({ clusterId, kubeconfig, secret: key });
  }
  if (Object.keys(data).length === 0) problems.push(`secret ${key}: no data keys (expected one per cluster name, value a kubeconfig)`);
  return { clusters, problems };
}

export interface ClusterPlan {
  /** Clusters to start watching (new, or their kubeconfig changed: stop the old watch first). */
  start: RemoteCluster[];
  /** Cluster ids to stop watching. */
  stop: string[];
}

/**
 * What to change when the set of remote secrets changes: `current` is what is watched now,
 * `desired` what the secrets now say. The first secret (by namespace/name) wins when two name the
 * same cluster, so the choice does not depend on event order.
 */
export function planClusters(current: ReadonlyMap<string, RemoteCluster>, desired: readonly RemoteCluster[]): ClusterPlan {
  const wanted = new Map<string, RemoteCluster>();
  for (const c of [...desired].sort((a, b) => a.secret.localeCompare(b.secret))) {
    if (!wanted.has(c.clusterId)) wanted.set(c.clusterId, c);
  }
  const plan: ClusterPlan = { start: [], stop: [] };
  for (const [id, running] of current) {
    const want = wanted.get(id);
    if (!want || want.kubeconfig !== running.kubeconfig) plan.stop.push(id);
  }
  for (const [id, want] of wanted) {
    const running = current.get(id);
    if (!running || running.kubeconfig !== want.kubeconfig) plan.start.push(want);
  }
  plan.stop.sort();
  plan.start.sort((a, b) => a.clusterId.localeCompare(b.clusterId));
  return plan;
}
