import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { RESOURCE_TYPES, findByKind } from '../../k8s/kinds.js';
import { isRecord } from './read.js';
import { DEPLOYMENTS, NAMESPACES, PODS, SERVICES } from './resources.js';
import type { TestCluster } from './testing.js';
import { deploymentObject, list, readyAll, startTestCluster } from './testing.js';

let cluster: TestCluster;
afterEach(() => cluster?.close());

function phaseOf(name: string): unknown {
  const ns = cluster.store.get(NAMESPACES, undefined, name);
  return ns && isRecord(ns.status) ? ns.status.phase : undefined;
}

describe('namespace controller', () => {
  test('the built-in namespaces exist and are Active at start; a new one becomes Active', async () => {
    cluster = startTestCluster();
    await cluster.settle();
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.equal(phaseOf(name), 'Active', name);
    cluster.store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sample' } });
    await cluster.settle();
    assert.equal(phaseOf('sample'), 'Active');
  });

  test('a namespace marked for deletion is emptied of every namespaced kind, then removed', async () => {
    cluster = startTestCluster();
    cluster.store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sample' } });
    cluster.store.create(DEPLOYMENTS, deploymentObject('helloworld', { namespace: 'sample', replicas: 2 }));
    cluster.store.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'helloworld', namespace: 'sample' }, spec: { selector: { app: 'helloworld' }, ports: [{ port: 5000 }] } });
    const vs = findByKind('networking.istio.io', 'VirtualService')!;
    cluster.store.create(vs, { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'hw', namespace: 'sample' }, spec: { hosts: ['helloworld'] } });
    cluster.store.create(DEPLOYMENTS, deploymentObject('keep', { namespace: 'default' }));
    await cluster.settle();
    readyAll(cluster, 'sample');
    await cluster.settle();
    assert.equal(list(cluster.store, PODS, 'sample').length, 2);

    const ns = cluster.store.get(NAMESPACES, undefined, 'sample')!;
    cluster.store.update(NAMESPACES, { ...ns, metadata: { ...ns.metadata, deletionTimestamp: '2026-01-01T00:01:00Z' } });
    await cluster.settle();
    for (const t of RESOURCE_TYPES) {
      if (t.namespaced) assert.equal(list(cluster.store, t, 'sample').length, 0, `no ${t.plural} left`);
    }
    assert.equal(cluster.store.get(NAMESPACES, undefined, 'sample'), undefined, 'the namespace is gone');
    assert.equal(list(cluster.store, PODS, 'default').length, 1, 'other namespaces are untouched');
  });

  test('a namespace with a foreign finalizer is emptied and waits for it', async () => {
    cluster = startTestCluster();
    cluster.store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'held', finalizers: ['example.com/hold'] }, spec: { finalizers: ['kubernetes'] } });
    cluster.store.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'held' }, spec: { ports: [{ port: 1 }] } });
    await cluster.settle();
    const ns = cluster.store.get(NAMESPACES, undefined, 'held')!;
    cluster.store.update(NAMESPACES, { ...ns, metadata: { ...ns.metadata, deletionTimestamp: '2026-01-01T00:01:00Z' } });
    await cluster.settle();
    const held = cluster.store.get(NAMESPACES, undefined, 'held');
    assert.ok(held, 'kept while its finalizer is there');
    assert.equal(isRecord(held.status) ? held.status.phase : undefined, 'Terminating');
    assert.deepEqual(isRecord(held.spec) ? held.spec.finalizers : undefined, [], 'our finalizer is given up');
    assert.equal(list(cluster.store, SERVICES, 'held').length, 0);
  });

  test('an object with a finalizer is marked, and the namespace waits until it is gone', async () => {
    cluster = startTestCluster();
    const configMaps = findByKind('', 'ConfigMap')!;
    cluster.store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'slow' } });
    cluster.store.create(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: 'slow', finalizers: ['example.com/cleanup'] } });
    await cluster.settle();
    const ns = cluster.store.get(NAMESPACES, undefined, 'slow')!;
    cluster.store.update(NAMESPACES, { ...ns, metadata: { ...ns.metadata, deletionTimestamp: '2026-01-01T00:01:00Z' } });
    await cluster.settle();
    const held = cluster.store.get(configMaps, 'slow', 'held');
    assert.ok(held?.metadata.deletionTimestamp, 'marked for deletion, not removed');
    assert.ok(cluster.store.get(NAMESPACES, undefined, 'slow'), 'the namespace waits');

    // The finalizer's owner finishes its work.
    cluster.store.update(configMaps, { ...held, metadata: { ...held.metadata, finalizers: [] } });
    cluster.store.delete(configMaps, 'slow', 'held');
    cluster.clock.advance(1000);
    await cluster.settle();
    assert.equal(cluster.store.get(NAMESPACES, undefined, 'slow'), undefined);
  });
});
