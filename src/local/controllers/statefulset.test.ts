import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { isRecord, record } from './read.js';
import { CONTROLLER_REVISIONS, PODS, STATEFULSETS } from './resources.js';
import type { MemberPod, StatefulSetSpecView } from './statefulset-spec.js';
import { ordinalOf, planStatefulSet, readStatefulSetSpec } from './statefulset-spec.js';
import type { TestCluster } from './testing.js';
import { createAsApiServer, list, setPodStatus, startTestCluster } from './testing.js';

let cluster: TestCluster;
afterEach(() => cluster?.close());

function stsObject(name: string, spec: Record<string, unknown> = {}, image = 'web:v1'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      serviceName: name,
      selector: { matchLabels: { app: name } },
      ...spec,
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

function pods(): StoredObject[] {
  return list(cluster.store, PODS).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

function names(): string[] {
  return pods().map((p) => p.metadata.name);
}

function status(name: string): Record<string, unknown> {
  const s = cluster.store.get(STATEFULSETS, 'default', name)?.status;
  return isRecord(s) ? s : {};
}

/** Marks the not-yet-ready pods Running and Ready, one settle at a time, and returns the order they appeared in. */
async function readyInTurn(): Promise<string[]> {
  const order: string[] = [];
  for (let i = 0; i < 10; i++) {
    await cluster.settle();
    const next = pods().find((p) => !(isRecord(p.status) && Array.isArray(p.status.conditions) && p.status.conditions.some((c) => isRecord(c) && c.type === 'Ready' && c.status === 'True')));
    if (!next) break;
    order.push(next.metadata.name);
    setPodStatus(cluster, next, { ready: true });
  }
  return order;
}

function updateSpec(name: string, change: (spec: Record<string, unknown>) => void): void {
  const s = cluster.store.get(STATEFULSETS, 'default', name)!;
  const spec = structuredClone(record(s.spec, 'spec'));
  change(spec);
  cluster.store.update(STATEFULSETS, { ...s, spec });
}

describe('statefulset controller', () => {
  test('OrderedReady: web-0, web-1, web-2 one after another, each once the one before is Running and Ready', async () => {
    cluster = startTestCluster();
    const set = createAsApiServer(cluster, STATEFULSETS, stsObject('web', { replicas: 3 }));
    await cluster.settle();
    assert.deepEqual(names(), ['web-0'], 'only the first pod until it is ready');
    const web0 = pods()[0]!;
    const revision = String(status('web').updateRevision);
    assert.match(revision, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.deepEqual(web0.metadata.labels, {
      app: 'web',
      'statefulset.kubernetes.io/pod-name': 'web-0',
      'apps.kubernetes.io/pod-index': '0',
      'controller-revision-hash': revision,
    });
    assert.deepEqual(web0.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: set.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.equal(isRecord(web0.spec) && web0.spec.hostname, 'web-0');
    assert.equal(isRecord(web0.spec) && web0.spec.subdomain, 'web');
    const [rev] = list(cluster.store, CONTROLLER_REVISIONS);
    assert.equal(rev?.metadata.name, revision);
    assert.equal(rev?.revision, 1);

    assert.deepEqual(await readyInTurn(), ['web-0', 'web-1', 'web-2']);
    await cluster.settle();
    const s = status('web');
    assert.deepEqual(
      { replicas: s.replicas, readyReplicas: s.readyReplicas, currentReplicas: s.currentReplicas, updatedReplicas: s.updatedReplicas, availableReplicas: s.availableReplicas, currentRevision: s.currentRevision, observedGeneration: s.observedGeneration },
      { replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3, currentRevision: revision, observedGeneration: 1 },
    );
  });

  test('scaling 3 -> 1 deletes web-2 first, then web-1', async () => {
    cluster = startTestCluster();
    createAsApiServer(cluster, STATEFULSETS, stsObject('web', { replicas: 3 }));
    await readyInTurn();
    const deleted: string[] = [];
    const stop = cluster.store.watch(PODS, { resourceVersion: cluster.store.currentResourceVersion() }, (e) => {
      if (e.type === 'DELETED') deleted.push(e.object.metadata.name);
    });
    updateSpec('web', (spec) => (spec.replicas = 1));
    await cluster.settle();
    stop();
    assert.deepEqual(deleted, ['web-2', 'web-1'], 'one at a time, the highest ordinal first');
    assert.deepEqual(names(), ['web-0']);
    assert.equal(status('web').replicas, 1);
  });

  test('Parallel creates every pod at once; a template change rolls from the highest ordinal down', async () => {
    cluster = startTestCluster();
    createAsApiServer(cluster, STATEFULSETS, stsObject('db', { replicas: 3, podManagementPolicy: 'Parallel' }));
    await cluster.settle();
    assert.deepEqual(names(), ['db-0', 'db-1', 'db-2']);
    for (const p of pods()) setPodStatus(cluster, p, { ready: true });
    await cluster.settle();
    const first = String(status('db').currentRevision);

    updateSpec('db', (spec) => {
      record(record(spec.template, 't').spec, 's').containers = [{ name: 'app', image: 'web:v2' }];
    });
    await cluster.settle();
    const second = String(status('db').updateRevision);
    assert.notEqual(second, first);
    const revisionOf = (n: string) => cluster.store.get(PODS, 'default', n)?.metadata.labels?.['controller-revision-hash'];
    assert.deepEqual(['db-0', 'db-1', 'db-2'].map(revisionOf), [first, first, second], 'db-2 replaced first');
    for (const expected of [[first, second, second], [second, second, second]]) {
      for (const p of pods()) setPodStatus(cluster, p, { ready: true });
      await cluster.settle();
      assert.deepEqual(['db-0', 'db-1', 'db-2'].map(revisionOf), expected);
    }
    for (const p of pods()) setPodStatus(cluster, p, { ready: true });
    await cluster.settle();
    assert.equal(status('db').currentRevision, second, 'the update revision becomes current once all pods run it');
    assert.equal(list(cluster.store, CONTROLLER_REVISIONS).length, 2);
  });

  test('a failed pod is deleted and created again under the same name', async () => {
    cluster = startTestCluster();
    createAsApiServer(cluster, STATEFULSETS, stsObject('web', { replicas: 1 }));
    await cluster.settle();
    const before = pods()[0]!;
    setPodStatus(cluster, before, { ready: false, phase: 'Failed' });
    await cluster.settle();
    const after = pods()[0]!;
    assert.equal(after.metadata.name, 'web-0');
    assert.notEqual(after.metadata.uid, before.metadata.uid);
  });
});

describe('statefulset planning', () => {
  const spec = (s: Record<string, unknown>): StatefulSetSpecView => readStatefulSetSpec(stsObject('web', s));
  const member = (ordinal: number, o: Partial<MemberPod> = {}): MemberPod => ({
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${ordinal}`, uid: `u${ordinal}`, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' } },
    ordinal,
    revision: 'web-a',
    terminating: false,
    runningAndReady: true,
    available: true,
    finished: false,
    ...o,
  });
  const revs = { current: 'web-a', update: 'web-a' };

  test('pod names and ordinals', () => {
    assert.equal(ordinalOf('web', 'web-12'), 12);
    assert.equal(ordinalOf('web', 'web-012'), undefined);
    assert.equal(ordinalOf('web', 'webx-1'), undefined);
    assert.equal(ordinalOf('web', 'web-a-1'), undefined);
  });

  test('OrderedReady waits for an unready pod; scale down waits for pods below to be ready', () => {
    const waiting = planStatefulSet(spec({ replicas: 3 }), [member(0, { available: false, runningAndReady: false })], revs);
    assert.deepEqual(waiting, { actions: [], waitingFor: 'pod web-0 to be Running and Ready' });
    assert.deepEqual(planStatefulSet(spec({ replicas: 3 }), [member(0)], revs).actions, [{ create: 1, revision: 'update' }]);
    const down = planStatefulSet(spec({ replicas: 1 }), [member(0), member(1), member(2)], revs);
    assert.deepEqual(down.actions.map((a) => ('delete' in a ? a.delete.ordinal : -1)), [2]);
    const unready = { available: false, runningAndReady: false };
    assert.deepEqual(planStatefulSet(spec({ replicas: 1 }), [member(0, unready), member(1), member(2)], revs), { actions: [], waitingFor: 'pod web-0 to be Running and Ready' });
    const blocked = planStatefulSet(spec({ replicas: 1 }), [member(0), member(1, unready), member(2, unready)], revs);
    assert.deepEqual(blocked, { actions: [], waitingFor: 'pod web-1 to be Running and Ready before scaling down' });
  });

  test('ordinals.start and partition: pods below the partition keep the current revision', () => {
    const s = spec({ replicas: 2, ordinals: { start: 5 }, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } });
    assert.deepEqual(planStatefulSet(s, [], { current: 'web-a', update: 'web-b' }).actions, [{ create: 5, revision: 'current' }]);
    const plan = planStatefulSet(s, [member(5), member(6)], { current: 'web-a', update: 'web-b' });
    assert.deepEqual(plan.actions.map((a) => ('delete' in a ? [a.delete.ordinal, a.reason] : [])), [[6, 'update']]);
    assert.deepEqual(planStatefulSet(s, [member(5), member(6, { revision: 'web-b' })], { current: 'web-a', update: 'web-b' }).actions, [], 'nothing below the partition is updated');
  });
});
