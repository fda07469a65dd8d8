import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findByKind } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { storeWritingAs } from './tracked-store.js';

const DEPLOYMENTS = findByKind('apps', 'Deployment')!;
const CONFIGMAPS = findByKind('', 'ConfigMap')!;
const NOW = Date.parse('2025-03-01T10:00:00Z');

function entries(obj: KubeObject): Array<[string, string, string | undefined, unknown]> {
  const list = (obj.metadata.managedFields ?? []) as Array<{ manager: string; operation: string; subresource?: string; fieldsV1: unknown }>;
  return list.map((e) => [e.manager, e.operation, e.subresource, e.fieldsV1]);
}

describe('a store writing as an in-process manager', () => {
  const deployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1 } };

  test('a create is an Update by the manager, the status not owned', () => {
    const store = openSqliteStore({ path: ':memory:', log: () => {} });
    const kcm = storeWritingAs(store, 'kube-controller-manager', () => NOW);
    const created = kcm.create(DEPLOYMENTS, { ...deployment, status: { replicas: 0 } });
    assert.deepEqual(entries(created), [['kube-controller-manager', 'Update', undefined, { 'f:spec': { 'f:replicas': {} } }]]);
    assert.equal((created.metadata.managedFields as Array<{ time: string }>)[0]!.time, '2025-03-01T10:00:00Z');
    store.close();
  });

  test('a status change is recorded under the status subresource, a spec change under the object', () => {
    const store = openSqliteStore({ path: ':memory:', log: () => {} });
    const kcm = storeWritingAs(store, 'kube-controller-manager', () => NOW);
    const kubelet = storeWritingAs(store, 'kubelet', () => NOW);
    const created = kcm.create(DEPLOYMENTS, deployment);
    const withStatus = kubelet.update(DEPLOYMENTS, { ...created, status: { replicas: 1, readyReplicas: 1 } });
    const both = kcm.update(DEPLOYMENTS, { ...withStatus, spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 1 } });
    assert.deepEqual(entries(both), [
      ['kube-controller-manager', 'Update', undefined, { 'f:spec': { 'f:replicas': {} } }],
      ['kube-controller-manager', 'Update', 'status', { 'f:status': { 'f:replicas': {} } }],
      ['kubelet', 'Update', 'status', { 'f:status': { 'f:readyReplicas': {} } }],
    ]);
    store.close();
  });

  test('managedFields the writer\'s copy carries are not believed: ownership starts from the stored object', () => {
    const store = openSqliteStore({ path: ':memory:', log: () => {} });
    const kcm = storeWritingAs(store, 'kube-controller-manager', () => NOW);
    const created = kcm.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { a: '1' } });
    const updated = kcm.update(CONFIGMAPS, { ...created, metadata: { ...created.metadata, managedFields: [] }, data: { a: '1', b: '2' } });
    assert.deepEqual(entries(updated), [['kube-controller-manager', 'Update', undefined, { 'f:data': { '.': {}, 'f:a': {}, 'f:b': {} } }]]);
    store.close();
  });

  test('an object stored without managedFields stays untracked, as the apiserver leaves such objects', () => {
    const store = openSqliteStore({ path: ':memory:', log: () => {} });
    const raw = store.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old', namespace: 'default' }, data: { a: '1' } });
    const updated = storeWritingAs(store, 'kubelet', () => NOW).update(CONFIGMAPS, { ...raw, data: { a: '2' } });
    assert.equal(updated.metadata.managedFields, undefined);
    assert.deepEqual(updated.data, { a: '2' });
    store.close();
  });
});
