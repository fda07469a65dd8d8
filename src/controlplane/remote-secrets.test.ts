import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Secret } from '@kubernetes/client-node';
import { parseRemoteSecret, planClusters, type RemoteCluster } from './remote-secrets.js';

const kubeconfig = (server: string) => `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${server}\n`;

function secret(name: string, data: Record<string, string>): V1Secret {
  return {
    metadata: { name, namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' }, annotations: { 'networking.istio.io/cluster': Object.keys(data)[0] ?? '' } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

test('a remote secret gives one member cluster per data key; its own cluster and non-kubeconfigs are refused', () => {
  const parsed = parseRemoteSecret(secret('istio-remote-secret-cluster-2', { 'cluster-2': kubeconfig('https://127.20.0.1:6443'), 'cluster-1': kubeconfig('x'), junk: 'hello' }), 'cluster-1');
  assert.deepEqual(parsed.clusters, [{ clusterId: 'cluster-2', kubeconfig: kubeconfig('https://127.20.0.1:6443'), secret: 'istio-system/istio-remote-secret-cluster-2' }]);
  assert.equal(parsed.problems.length, 2);
  assert.match(parsed.problems.join('\n'), /cluster-1 names this control plane's own cluster/);
  assert.match(parsed.problems.join('\n'), /junk does not hold a kubeconfig/);
  assert.match(parseRemoteSecret(secret('empty', {}), 'cluster-1').problems[0], /no data keys/);
});

test('planning: add, replace on a changed kubeconfig, remove, and a stable winner for duplicates', () => {
  const c = (id: string, server: string, s = `istio-system/${id}`): RemoteCluster => ({ clusterId: id, kubeconfig: kubeconfig(server), secret: s });
  const current = new Map([['cluster-2', c('cluster-2', 'a')], ['cluster-3', c('cluster-3', 'b')]]);
  const plan = planClusters(current, [c('cluster-2', 'a'), c('cluster-3', 'B'), c('cluster-4', 'd')]);
  assert.deepEqual(plan.stop, ['cluster-3']);
  assert.deepEqual(plan.start.map((x) => x.clusterId), ['cluster-3', 'cluster-4']);
  assert.deepEqual(planClusters(current, []), { stop: ['cluster-2', 'cluster-3'], start: [] });
  assert.deepEqual(planClusters(current, [c('cluster-2', 'a'), c('cluster-3', 'b')]), { stop: [], start: [] });
  const dup = planClusters(new Map(), [c('cluster-5', 'z', 'istio-system/b'), c('cluster-5', 'y', 'istio-system/a')]);
  assert.equal(dup.start[0].secret, 'istio-system/a');
});
