// What Prometheus needs to discover a cluster's pods, made through the cluster's API with the caller's
// (admin) kubeconfig: ServiceAccount istio-system/prometheus bound to a ClusterRole that may only
// get/list/watch pods, endpoints and services (least privilege, not the admin token), and a long-lived
// token from a `kubernetes.io/service-account-token` Secret (valid while the ServiceAccount exists).
// The token and the API server's CA are written into a folder per cluster for Prometheus to read.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import { applyObjects } from '../k8s/client/apply.js';
import type { ScrapedCluster } from './prometheus-config.js';

export const PROMETHEUS_NAMESPACE = 'istio-system';
export const PROMETHEUS_SERVICE_ACCOUNT = 'prometheus';
const TOKEN_SECRET = 'prometheus-token';

/** The objects: the namespace, the ServiceAccount, its ClusterRole and binding, the token Secret. */
export function prometheusAccessObjects(): KubeObject[] {
  const name = PROMETHEUS_SERVICE_ACCOUNT;
  const namespace = PROMETHEUS_NAMESPACE;
  const labels = { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/managed-by': 'meshwork' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, labels },
      rules: [{ apiGroups: [''], resources: ['pods', 'endpoints', 'services'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: TOKEN_SECRET, namespace, labels, annotations: { 'kubernetes.io/service-account.name': name } },
    },
  ] as KubeObject[];
}

/** The API server's CA as PEM, from the context's cluster (inline data or a file). */
function caPem(kc: KubeConfig, context: string): string {
  const cluster = kc.getCluster(kc.getContextObject(context)?.cluster ?? '');
  if (cluster?.caData) return Buffer.from(cluster.caData, 'base64').toString();
  if (cluster?.caFile) return readFileSync(cluster.caFile, 'utf8');
  throw new Error(`context "${context}": its cluster has no certificate-authority(-data); Prometheus needs the API server's CA`);
}

/**
 * Makes (or keeps) the access objects in the context's cluster, waits for the token controller to fill
 * the Secret, and writes `token` and `ca.crt` into `dir`. Returns the cluster as the config needs it.
 */
export async function preparePrometheusAccess(kc: KubeConfig, context: string, dir: string, timeoutMs = 15_000): Promise<ScrapedCluster> {
  if (!kc.getContextObject(context)) throw new Error(`context "${context}" is not in the kubeconfig (contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
  const admin = kc;
  admin.setCurrentContext(context);
  const server = admin.getCurrentCluster()?.server;
  if (!server) throw new Error(`context "${context}" has no API server URL`);
  await applyObjects(admin, prometheusAccessObjects().map((object) => ({ object, source: 'prometheus access' })));
  const core = admin.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  let token: string | undefined;
  while (!token) {
    const secret = await core.readNamespacedSecret({ name: TOKEN_SECRET, namespace: PROMETHEUS_NAMESPACE });
    const data = secret.data?.['token'];
    if (data) token = Buffer.from(data, 'base64').toString();
    else if (Date.now() > deadline) throw new Error(`context "${context}": Secret ${PROMETHEUS_NAMESPACE}/${TOKEN_SECRET} got no token within ${timeoutMs} ms; is the cluster's token controller running?`);
    else await new Promise((r) => setTimeout(r, 100));
  }
  mkdirSync(dir, { recursive: true });
  const tokenFile = join(dir, 'token');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  writeFileSync(caFile, caPem(admin, context));
  return { name: context, apiServer: server, caFile, tokenFile, targetsFile: join(dir, 'pods.json') };
}
