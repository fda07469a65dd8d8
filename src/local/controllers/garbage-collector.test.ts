import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { KubeObject } from '../../k8s/object.js';
import { findByKind } from '../../k8s/kinds.js';
import { DEPLOYMENTS, ENDPOINTSLICES, PODS, REPLICASETS, SERVICES } from './resources.js';
import type { TestCluster } from './testing.js';
import { deploymentObject, list, readyAll, startTestCluster } from './testing.js';

const CONFIGMAPS = findByKind('', 'ConfigMap')!;
let cluster: TestCluster;
afterEach(() => cluster?.close());

function configMap(name: string, owners: Array<{ kind: string; apiVersion: string; name: string; uid: string }>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', ownerReferences: owners }, data: {} };
}

describe('garbage collector', () => {
  test('deleting a Deployment removes its ReplicaSets and pods (background cascade)', async () => {
    cluster = startTestCluster();
    cluster.store.create(DEPLOYMENTS, deploymentObject('web', { replicas: 3 }));
    cluster.store.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    await cluster.settle();
    readyAll(cluster);
    await cluster.settle();
    assert.equal(list(cluster.store, PODS).length, 3);
    const [slice] = list(cluster.store, ENDPOINTSLICES);
    assert.ok(Array.isArray(slice?.endpoints));
    assert.equal(slice.endpoints.length, 3);

    cluster.store.delete(DEPLOYMENTS, 'default', 'web');
    await cluster.settle();
    assert.equal(list(cluster.store, REPLICASETS).length, 0);
    assert.equal(list(cluster.store, PODS).length, 0);
    assert.deepEqual(list(cluster.store, ENDPOINTSLICES)[0]?.endpoints, [], 'the service no longer lists the pods');
  });

  test('a dependent with one owner left loses only the dangling reference', async () => {
    cluster = startTestCluster();
    const a = cluster.store.create(CONFIGMAPS, configMap('owner-a', []));
    const b = cluster.store.create(CONFIGMAPS, configMap('owner-b', []));
    const ref = (o: typeof a) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata.name, uid: o.metadata.uid });
    cluster.store.create(CONFIGMAPS, configMap('shared', [ref(a), ref(b)]));
    cluster.store.create(CONFIGMAPS, configMap('only-a', [ref(a)]));
    await cluster.settle();
    cluster.store.delete(CONFIGMAPS, 'default', 'owner-a');
    await cluster.settle();
    assert.equal(cluster.store.get(CONFIGMAPS, 'default', 'only-a'), undefined);
    assert.deepEqual(cluster.store.get(CONFIGMAPS, 'default', 'shared')?.metadata.ownerReferences, [ref(b)]);
  });

  test('objects whose owner vanished before the controllers started are collected; a same-name owner with another uid does not count', async () => {
    cluster = startTestCluster('cluster-1', (store) => {
      const owner = store.create(CONFIGMAPS, configMap('owner', []));
      store.create(CONFIGMAPS, configMap('orphan', [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }]));
      store.delete(CONFIGMAPS, 'default', 'owner');
      store.create(CONFIGMAPS, configMap('owner', []));
      store.create(CONFIGMAPS, configMap('unknown-owner-kind', [{ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'x' }]));
    });
    await cluster.settle();
    assert.equal(cluster.store.get(CONFIGMAPS, 'default', 'orphan'), undefined);
    assert.ok(cluster.store.get(CONFIGMAPS, 'default', 'unknown-owner-kind'), 'an owner of unknown kind cannot be judged absent');
    assert.ok(cluster.logs.some((l) => l.includes('example.com/v1/Widget')));
  });

  test('propagationPolicy Orphan: the dependents are released and the owner removed', async () => {
    cluster = startTestCluster();
    cluster.store.create(DEPLOYMENTS, deploymentObject('web', { replicas: 2 }));
    await cluster.settle();
    const d = cluster.store.get(DEPLOYMENTS, 'default', 'web')!;
    cluster.store.update(DEPLOYMENTS, { ...d, metadata: { ...d.metadata, deletionTimestamp: '2026-01-01T00:00:05Z', finalizers: ['orphan'] } });
    await cluster.settle();
    assert.equal(cluster.store.get(DEPLOYMENTS, 'default', 'web'), undefined);
    const [rs] = list(cluster.store, REPLICASETS);
    assert.ok(rs, 'the ReplicaSet is kept');
    assert.equal(rs.metadata.ownerReferences, undefined, 'an empty list is omitted, as the apiserver does');
    assert.equal(list(cluster.store, PODS).length, 2, 'and still runs its pods');
  });

  test('propagationPolicy Foreground: the dependents go first, then the owner', async () => {
    cluster = startTestCluster();
    cluster.store.create(DEPLOYMENTS, deploymentObject('web', { replicas: 2 }));
    await cluster.settle();
    const [rs] = list(cluster.store, REPLICASETS);
    // A dependent that is itself finishing a deletion (someone else's finalizer) holds the owner.
    cluster.store.update(REPLICASETS, { ...rs!, metadata: { ...rs!.metadata, deletionTimestamp: '2026-01-01T00:00:05Z', finalizers: ['example.com/slow'] } });
    const d = cluster.store.get(DEPLOYMENTS, 'default', 'web')!;
    cluster.store.update(DEPLOYMENTS, { ...d, metadata: { ...d.metadata, deletionTimestamp: '2026-01-01T00:00:05Z', finalizers: ['foregroundDeletion'] } });
    await cluster.settle();
    assert.ok(cluster.store.get(DEPLOYMENTS, 'default', 'web'), 'waits for its blocking dependent');
    cluster.store.delete(REPLICASETS, 'default', rs!.metadata.name);
    await cluster.settle();
    assert.equal(cluster.store.get(DEPLOYMENTS, 'default', 'web'), undefined);
    assert.equal(list(cluster.store, PODS).length, 0);
  });

  test('an orphaned ReplicaSet and its pods are adopted back by a re-created Deployment', async () => {
    cluster = startTestCluster();
    cluster.store.create(DEPLOYMENTS, deploymentObject('web', { replicas: 2 }));
    await cluster.settle();
    const d = cluster.store.get(DEPLOYMENTS, 'default', 'web')!;
    cluster.store.update(DEPLOYMENTS, { ...d, metadata: { ...d.metadata, deletionTimestamp: '2026-01-01T00:00:05Z', finalizers: ['orphan'] } });
    await cluster.settle();
    const podsBefore = list(cluster.store, PODS).map((p) => p.metadata.name).sort();

    const again = cluster.store.create(DEPLOYMENTS, deploymentObject('web', { replicas: 2 }));
    await cluster.settle();
    const rss = list(cluster.store, REPLICASETS);
    assert.equal(rss.length, 1, 'no second ReplicaSet for the same template');
    assert.equal(rss[0]!.metadata.ownerReferences?.[0]?.uid, again.metadata.uid);
    assert.deepEqual(list(cluster.store, PODS).map((p) => p.metadata.name).sort(), podsBefore, 'the same pods keep running');
    assert.ok(cluster.logs.some((l) => l.includes('adopted replicaset')), cluster.logs.join('\n'));
  });
});
