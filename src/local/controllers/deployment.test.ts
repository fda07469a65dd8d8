import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { StoredObject } from '../../k8s/object.js';
import { computePodTemplateHash } from './pod-template-hash.js';
import { isPodReady } from './pods.js';
import { isRecord, record } from './read.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from './resources.js';
import type { TestCluster } from './testing.js';
import { deploymentObject, list, readyAll, setPodStatus, startTestCluster } from './testing.js';

let cluster: TestCluster;
afterEach(() => cluster?.close());

function getDeployment(name: string): StoredObject {
  const d = cluster.store.get(DEPLOYMENTS, 'default', name);
  assert.ok(d, `deployment ${name} exists`);
  return d;
}

function statusOf(obj: StoredObject): Record<string, unknown> {
  return isRecord(obj.status) ? obj.status : {};
}

function condition(obj: StoredObject, type: string): Record<string, unknown> | undefined {
  const conds = statusOf(obj).conditions;
  return Array.isArray(conds) ? conds.find((c): c is Record<string, unknown> => isRecord(c) && c.type === type) : undefined;
}

function replicasOf(rs: StoredObject): number {
  return Number(record(rs.spec, 'spec').replicas);
}

/** kubectl's DeploymentStatusViewer (rollout status), verbatim in logic. */
function rolloutStatus(d: StoredObject): { done: boolean; message: string } {
  const s = statusOf(d);
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  if ((d.metadata.generation ?? 0) > n(s.observedGeneration)) return { done: false, message: 'Waiting for deployment spec update to be observed...' };
  if (condition(d, 'Progressing')?.reason === 'ProgressDeadlineExceeded') throw new Error(`deployment "${d.metadata.name}" exceeded its progress deadline`);
  const spec = n(record(d.spec, 'spec').replicas);
  if (n(s.updatedReplicas) < spec) return { done: false, message: `${n(s.updatedReplicas)} out of ${spec} new replicas have been updated...` };
  if (n(s.replicas) > n(s.updatedReplicas)) return { done: false, message: `${n(s.replicas) - n(s.updatedReplicas)} old replicas are pending termination...` };
  if (n(s.availableReplicas) < n(s.updatedReplicas)) return { done: false, message: `${n(s.availableReplicas)} of ${n(s.updatedReplicas)} updated replicas are available...` };
  return { done: true, message: `deployment "${d.metadata.name}" successfully rolled out` };
}

function activePods(selector?: string): StoredObject[] {
  return list(cluster.store, PODS, 'default', selector).filter((p) => !p.metadata.deletionTimestamp && statusOf(p).phase !== 'Failed');
}

function updateDeployment(name: string, change: (spec: Record<string, unknown>) => void): void {
  const d = getDeployment(name);
  const spec = structuredClone(record(d.spec, 'spec'));
  change(spec);
  cluster.store.update(DEPLOYMENTS, { ...d, spec });
}

describe('deployment controller', () => {
  test('creates a ReplicaSet named by the pod-template-hash and N pods owned by it', async () => {
    cluster = startTestCluster();
    const d = cluster.store.create(DEPLOYMENTS, deploymentObject('helloworld-v1', { replicas: 3, labels: { app: 'helloworld', version: 'v1' } }));
    await cluster.settle();

    const rss = list(cluster.store, REPLICASETS);
    assert.equal(rss.length, 1);
    const rs = rss[0]!;
    const hash = computePodTemplateHash(record(d.spec, 'spec').template);
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    assert.equal(rs.metadata.name, `helloworld-v1-${hash}`);
    assert.deepEqual(rs.metadata.labels, { app: 'helloworld', version: 'v1', 'pod-template-hash': hash });
    assert.deepEqual(record(rs.spec, 'spec').selector, { matchLabels: { app: 'helloworld', version: 'v1', 'pod-template-hash': hash } });
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.deepEqual(rs.metadata.ownerReferences, [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'helloworld-v1', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(replicasOf(rs), 3);

    const pods = list(cluster.store, PODS);
    assert.equal(pods.length, 3);
    for (const pod of pods) {
      assert.match(pod.metadata.name, new RegExp(`^helloworld-v1-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      assert.equal(pod.metadata.generateName, `helloworld-v1-${hash}-`);
      assert.deepEqual(pod.metadata.labels, { app: 'helloworld', version: 'v1', 'pod-template-hash': hash });
      assert.deepEqual(pod.metadata.ownerReferences, [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
      const podSpec = record(pod.spec, 'spec');
      assert.equal(podSpec.restartPolicy, 'Always', 'the apiserver defaults are applied');
      assert.ok(Array.isArray(podSpec.containers));
      assert.deepEqual(
        podSpec.containers.map((c) => ({ name: record(c, 'c').name, image: record(c, 'c').image })),
        [{ name: 'app', image: 'helloworld-v1:v1' }],
      );
      assert.equal(podSpec.nodeName, undefined, 'binding is the kubelet\'s');
    }
    const dd = getDeployment('helloworld-v1');
    assert.equal(dd.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rolloutStatus(dd).message, '0 of 3 updated replicas are available...');
    assert.equal(condition(dd, 'Available')?.status, 'False');

    readyAll(cluster);
    await cluster.settle();
    const done = getDeployment('helloworld-v1');
    assert.deepEqual(rolloutStatus(done), { done: true, message: 'deployment "helloworld-v1" successfully rolled out' });
    const s = statusOf(done);
    assert.deepEqual(
      { observedGeneration: s.observedGeneration, replicas: s.replicas, updatedReplicas: s.updatedReplicas, readyReplicas: s.readyReplicas, availableReplicas: s.availableReplicas, unavailableReplicas: s.unavailableReplicas },
      { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0 },
    );
    assert.equal(condition(done, 'Available')?.status, 'True');
    assert.equal(condition(done, 'Available')?.reason, 'MinimumReplicasAvailable');
    assert.equal(condition(done, 'Progressing')?.reason, 'NewReplicaSetAvailable');
    assert.equal(condition(done, 'Progressing')?.message, `ReplicaSet "helloworld-v1-${hash}" has successfully progressed.`);
    const rsStatus = statusOf(cluster.store.get(REPLICASETS, 'default', rs.metadata.name)!);
    assert.deepEqual(rsStatus, { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    assert.deepEqual(cluster.controllers.errors(), Object.fromEntries(Object.keys(cluster.controllers.errors()).map((k) => [k, 0])));
  });

  test('scales up, and scales down not-ready pods first', async () => {
    cluster = startTestCluster();
    cluster.store.create(DEPLOYMENTS, deploymentObject('web', { replicas: 2 }));
    await cluster.settle();
    readyAll(cluster);
    await cluster.settle();
    const readyNames = new Set(activePods().map((p) => p.metadata.name));

    updateDeployment('web', (spec) => (spec.replicas = 5));
    await cluster.settle();
    assert.equal(activePods().length, 5);
    assert.equal(list(cluster.store, REPLICASETS).length, 1, 'scaling makes no new ReplicaSet');
    assert.equal(rolloutStatus(getDeployment('web')).message, '2 of 5 updated replicas are available...');

    updateDeployment('web', (spec) => (spec.replicas = 2));
    await cluster.settle();
    const left = activePods();
    assert.deepEqual(new Set(left.map((p) => p.metadata.name)), readyNames, 'the three not-ready pods went first');
    assert.ok(rolloutStatus(getDeployment('web')).done);

    updateDeployment('web', (spec) => (spec.replicas = 0));
    await cluster.settle();
    assert.equal(activePods().length, 0);
    assert.equal(statusOf(getDeployment('web')).replicas, 0);
  });

  test('a template change rolls out a new ReplicaSet within maxSurge/maxUnavailable', async () => {
    cluster = startTestCluster();
    cluster.store.create(DEPLOYMENTS, deploymentObject('web', { replicas: 4, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    await cluster.settle();
    readyAll(cluster);
    await cluster.settle();
    const [oldRS] = list(cluster.store, REPLICASETS);
    assert.ok(oldRS);

    updateDeployment('web', (spec) => {
      const template = record(spec.template, 'spec.template');
      record(template.spec, 'template.spec').containers = [{ name: 'app', image: 'web:v2' }];
    });
    await cluster.settle();
    const rss = list(cluster.store, REPLICASETS);
    assert.equal(rss.length, 2);
    const newRS = rss.find((r) => r.metadata.uid !== oldRS.metadata.uid)!;
    assert.equal(newRS.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.notEqual(newRS.metadata.labels?.['pod-template-hash'], oldRS.metadata.labels?.['pod-template-hash']);
    assert.equal(rolloutStatus(getDeployment('web')).done, false);

    // Drive the rollout as a kubelet would: new pods become ready, one step at a time.
    const newHash = newRS.metadata.labels!['pod-template-hash']!;
    for (let step = 0; step < 10; step++) {
      const active = activePods();
      const ready = active.filter(isPodReady);
      assert.ok(active.length <= 5, `at most replicas + maxSurge pods (step ${step}: ${active.length})`);
      assert.ok(ready.length >= 3, `at least replicas - maxUnavailable ready (step ${step}: ${ready.length})`);
      if (rolloutStatus(getDeployment('web')).done) break;
      const notReady = active.find((p) => !ready.includes(p));
      if (notReady) setPodStatus(cluster, notReady, { ready: true });
      await cluster.settle();
    }
    const d = getDeployment('web');
    assert.ok(rolloutStatus(d).done, rolloutStatus(d).message);
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.equal(replicasOf(cluster.store.get(REPLICASETS, 'default', oldRS.metadata.name)!), 0, 'the old ReplicaSet is kept, scaled to 0');
    assert.equal(activePods(`pod-template-hash=${newHash}`).length, 4);
    assert.equal(activePods().length, 4);
    assert.equal(condition(d, 'Progressing')?.reason, 'NewReplicaSetAvailable');
    assert.equal(statusOf(d).observedGeneration, d.metadata.generation);

    // Rolling back to the first template reuses the old ReplicaSet under a new revision.
    updateDeployment('web', (spec) => {
      const template = record(spec.template, 'spec.template');
      record(template.spec, 'template.spec').containers = [{ name: 'app', image: 'web:v1' }];
    });
    await cluster.settle();
    assert.equal(list(cluster.store, REPLICASETS).length, 2);
    assert.equal(cluster.store.get(REPLICASETS, 'default', oldRS.metadata.name)!.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
  });

  test('Recreate scales the old ReplicaSet to zero before the new one starts', async () => {
    cluster = startTestCluster();
    cluster.store.create(DEPLOYMENTS, deploymentObject('db', { replicas: 2, strategy: { type: 'Recreate' } }));
    await cluster.settle();
    readyAll(cluster);
    await cluster.settle();
    updateDeployment('db', (spec) => {
      const template = record(spec.template, 'spec.template');
      record(template.spec, 'template.spec').containers = [{ name: 'app', image: 'db:v2' }];
    });
    await cluster.settle();
    const rss = list(cluster.store, REPLICASETS);
    assert.equal(rss.length, 2);
    const pods = activePods();
    assert.equal(pods.length, 2);
    assert.ok(pods.every((p) => JSON.stringify(p.spec).includes('db:v2')), 'only new pods remain');
    readyAll(cluster);
    await cluster.settle();
    assert.ok(rolloutStatus(getDeployment('db')).done);
  });

  test('a failed pod is replaced', async () => {
    cluster = startTestCluster();
    cluster.store.create(DEPLOYMENTS, deploymentObject('web', { replicas: 2 }));
    await cluster.settle();
    readyAll(cluster);
    await cluster.settle();
    const [victim] = activePods();
    setPodStatus(cluster, victim!, { ready: false, phase: 'Failed' });
    await cluster.settle();
    const active = activePods();
    assert.equal(active.length, 2);
    assert.ok(!active.some((p) => p.metadata.name === victim!.metadata.name));
    assert.equal(statusOf(cluster.store.get(PODS, 'default', victim!.metadata.name)!).phase, 'Failed', 'the failed pod is kept, as Kubernetes does');
  });

  test('minReadySeconds and the progress deadline follow the clock', async () => {
    cluster = startTestCluster();
    const obj = deploymentObject('slow', { replicas: 1, minReadySeconds: 30 });
    record(obj.spec, 'spec').progressDeadlineSeconds = 60;
    cluster.store.create(DEPLOYMENTS, obj);
    await cluster.settle();
    readyAll(cluster);
    await cluster.settle();
    assert.equal(statusOf(getDeployment('slow')).availableReplicas, 0, 'ready but not yet for minReadySeconds');
    cluster.clock.advance(31_000);
    await cluster.settle();
    assert.equal(statusOf(getDeployment('slow')).availableReplicas, 1);
    assert.ok(rolloutStatus(getDeployment('slow')).done);

    // A rollout whose pods never become ready times out.
    updateDeployment('slow', (spec) => {
      const template = record(spec.template, 'spec.template');
      record(template.spec, 'template.spec').containers = [{ name: 'app', image: 'slow:broken' }];
    });
    await cluster.settle();
    assert.equal(condition(getDeployment('slow'), 'Progressing')?.status, 'True');
    cluster.clock.advance(62_000);
    await cluster.settle();
    const d = getDeployment('slow');
    assert.equal(condition(d, 'Progressing')?.status, 'False');
    assert.equal(condition(d, 'Progressing')?.reason, 'ProgressDeadlineExceeded');
    assert.throws(() => rolloutStatus(d), /exceeded its progress deadline/);
  });

  test('a malformed deployment is logged and retried without stopping the others', async () => {
    cluster = startTestCluster();
    const bad = deploymentObject('bad', { replicas: 1 });
    record(bad.spec, 'spec').replicas = 'three';
    cluster.store.create(DEPLOYMENTS, bad);
    cluster.store.create(DEPLOYMENTS, deploymentObject('good', { replicas: 2 }));
    await cluster.settle();
    assert.equal(activePods('app=good').length, 2, 'the good deployment is served');
    assert.ok(cluster.logs.some((l) => l.includes('default/bad') && l.includes('spec.replicas: expected an integer')), cluster.logs.join('\n'));
    assert.ok(cluster.controllers.errors()['deployment-controller']! >= 1);

    const failures = cluster.controllers.errors()['deployment-controller']!;
    cluster.clock.advance(10);
    await cluster.settle();
    assert.ok(cluster.controllers.errors()['deployment-controller']! > failures, 'retried after its back-off');

    updateDeployment('bad', (spec) => (spec.replicas = 1));
    await cluster.settle();
    assert.equal(activePods('app=bad').length, 1, 'fixed, it is synced at once');
  });
});
