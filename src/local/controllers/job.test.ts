import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { JOB_TRACKING_FINALIZER, readJobSpec, replacementDelayMs, wantActivePods } from './job-spec.js';
import { isRecord, record } from './read.js';
import { JOBS, PODS } from './resources.js';
import { EVENT_TYPE as EVENTS } from '../kubelet/events.js';
import type { TestCluster } from './testing.js';
import { createAsApiServer, finishPod, kubeletRemovesDeleted, list, readyAll, startTestCluster } from './testing.js';

let cluster: TestCluster;
afterEach(() => cluster?.close());

function jobObject(name: string, spec: Record<string, unknown> = {}, restartPolicy = 'Never'): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default' },
    spec: { ...spec, template: { spec: { restartPolicy, containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo done'] }] } } },
  };
}

function job(name: string): StoredObject {
  const j = cluster.store.get(JOBS, 'default', name);
  assert.ok(j, `job ${name} exists`);
  return j;
}

function status(name: string): Record<string, unknown> {
  const s = job(name).status;
  return isRecord(s) ? s : {};
}

function conditions(name: string): Array<{ type: string; status: string; reason?: string; message?: string }> {
  const c = status(name).conditions;
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return Array.isArray(c) ? c.filter(isRecord).map((x) => ({ type: String(x.type), status: String(x.status), reason: text(x.reason), message: text(x.message) })) : [];
}

function podsOf(name: string): StoredObject[] {
  return list(cluster.store, PODS, 'default', `batch.kubernetes.io/job-name=${name}`);
}

function running(name: string): StoredObject[] {
  return podsOf(name).filter((p) => !p.metadata.deletionTimestamp && (!isRecord(p.status) || (p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed')));
}

describe('job controller', () => {
  test('runs completions pods, parallelism at a time, and completes: SuccessCriteriaMet then Complete', async () => {
    cluster = startTestCluster();
    const j = createAsApiServer(cluster, JOBS, jobObject('pi', { completions: 3, parallelism: 2 }));
    await cluster.settle();

    const first = running('pi');
    assert.equal(first.length, 2, 'parallelism pods at once');
    for (const pod of first) {
      assert.equal(pod.metadata.generateName, 'pi-');
      assert.deepEqual(pod.metadata.finalizers, [JOB_TRACKING_FINALIZER]);
      assert.deepEqual(pod.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: j.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      assert.deepEqual(pod.metadata.labels, {
        'batch.kubernetes.io/controller-uid': j.metadata.uid,
        'batch.kubernetes.io/job-name': 'pi',
        'controller-uid': j.metadata.uid,
        'job-name': 'pi',
      });
      assert.equal(isRecord(pod.spec) && pod.spec.restartPolicy, 'Never');
    }
    assert.equal(status('pi').active, 2);
    assert.equal(typeof status('pi').startTime, 'string');
    readyAll(cluster);
    await cluster.settle();
    assert.equal(status('pi').ready, 2);

    finishPod(cluster, first[0]!, 0);
    await cluster.settle();
    const gone = cluster.store.get(PODS, 'default', first[0]!.metadata.name);
    assert.deepEqual(gone?.metadata.finalizers, undefined, 'a counted pod loses its tracking finalizer');
    assert.equal(status('pi').succeeded, 1);
    assert.deepEqual(status('pi').uncountedTerminatedPods, {});
    assert.equal(running('pi').length, 2, 'one more pod for the remaining completions');

    for (const pod of running('pi')) finishPod(cluster, pod, 0);
    await cluster.settle();
    assert.equal(running('pi').length, 0, 'no pod beyond completions');
    const s = status('pi');
    assert.equal(s.succeeded, 3);
    assert.equal(s.active, undefined);
    assert.equal(typeof s.completionTime, 'string');
    assert.deepEqual(
      conditions('pi').map((c) => [c.type, c.status, c.reason, c.message]),
      [
        ['SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'],
        ['Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'],
      ],
    );
    assert.ok(podsOf('pi').every((p) => !p.metadata.finalizers), 'no finalizer left on any pod');
    const events = list(cluster.store, EVENTS).filter((e) => isRecord(e.involvedObject) && e.involvedObject.kind === 'Job');
    assert.deepEqual(events.map((e) => e.reason).sort(), ['Completed', 'SuccessfulCreate', 'SuccessfulCreate', 'SuccessfulCreate']);
    assert.deepEqual(cluster.controllers.errors()['job-controller'], 0);
  });

  test('failures past backoffLimit fail the Job (FailureTarget, then Failed); replacements wait out the back-off', async () => {
    cluster = startTestCluster();
    createAsApiServer(cluster, JOBS, jobObject('fail', { backoffLimit: 1 }));
    await cluster.settle();
    finishPod(cluster, running('fail')[0]!, 3);
    await cluster.settle();
    assert.equal(status('fail').failed, 1);
    assert.equal(running('fail').length, 0, 'the replacement waits for the 10 s back-off');
    cluster.clock.advance(9_000);
    await cluster.settle();
    assert.equal(running('fail').length, 0);
    cluster.clock.advance(1_500);
    await cluster.settle();
    assert.equal(running('fail').length, 1, 'replaced after the back-off');

    finishPod(cluster, running('fail')[0]!, 3);
    await cluster.settle();
    const s = status('fail');
    assert.equal(s.failed, 2);
    assert.equal(s.completionTime, undefined);
    assert.deepEqual(
      conditions('fail').map((c) => [c.type, c.status, c.reason, c.message]),
      [
        ['FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
        ['Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
      ],
    );
    cluster.clock.advance(60_000);
    await cluster.settle();
    assert.equal(podsOf('fail').length, 2, 'a failed Job starts no more pods');
  });

  test('activeDeadlineSeconds: running pods are stopped and counted as failed; Failed waits until they are gone', async () => {
    cluster = startTestCluster();
    createAsApiServer(cluster, JOBS, jobObject('slow', { activeDeadlineSeconds: 30 }));
    await cluster.settle();
    readyAll(cluster);
    await cluster.settle();
    cluster.clock.advance(30_000);
    await cluster.settle();
    const [pod] = podsOf('slow');
    assert.ok(pod?.metadata.deletionTimestamp, 'the running pod is being deleted');
    assert.equal(pod.metadata.finalizers, undefined, 'its finalizer is removed once it is counted');
    assert.deepEqual(conditions('slow').map((c) => [c.type, c.reason]), [['FailureTarget', 'DeadlineExceeded']]);
    assert.equal(status('slow').terminating, 1);
    kubeletRemovesDeleted(cluster);
    await cluster.settle();
    assert.deepEqual(conditions('slow').map((c) => [c.type, c.reason, c.message]), [
      ['FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline'],
      ['Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline'],
    ]);
    assert.equal(status('slow').failed, 1);
    assert.equal(status('slow').terminating, 0);
  });

  test('a deleted running pod counts as failed once, and is replaced', async () => {
    cluster = startTestCluster();
    createAsApiServer(cluster, JOBS, jobObject('del', { backoffLimit: 5 }));
    await cluster.settle();
    const [pod] = running('del');
    // kubectl delete pod: the finalizer keeps the object until the controller has counted it.
    cluster.store.update(PODS, { ...pod!, metadata: { ...pod!.metadata, deletionTimestamp: new Date(cluster.clock.now()).toISOString() } });
    await cluster.settle();
    assert.equal(status('del').failed, 1);
    kubeletRemovesDeleted(cluster);
    await cluster.settle();
    assert.equal(status('del').failed, 1, 'not counted twice');
    cluster.clock.advance(10_000);
    await cluster.settle();
    assert.equal(running('del').length, 1, 'replaced after the back-off');
  });

  test('restartPolicy OnFailure: container restarts count against backoffLimit', async () => {
    cluster = startTestCluster();
    createAsApiServer(cluster, JOBS, jobObject('retry', { backoffLimit: 2 }, 'OnFailure'));
    await cluster.settle();
    const [pod] = running('retry');
    const fresh = cluster.store.get(PODS, 'default', pod!.metadata.name)!;
    cluster.store.update(PODS, { ...fresh, spec: { ...record(fresh.spec, 'spec'), nodeName: 'cluster-1-node' }, status: { phase: 'Running', containerStatuses: [{ name: 'app', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: {} }] } });
    await cluster.settle();
    assert.deepEqual(conditions('retry').map((c) => [c.type, c.reason]), [['FailureTarget', 'BackoffLimitExceeded']]);
    kubeletRemovesDeleted(cluster);
    await cluster.settle();
    assert.equal(conditions('retry').at(-1)?.type, 'Failed');
  });

  test('a deleted Job leaves no tracking finalizer behind; ttlSecondsAfterFinished deletes a finished Job', async () => {
    cluster = startTestCluster();
    createAsApiServer(cluster, JOBS, jobObject('orphaned'));
    await cluster.settle();
    const [pod] = running('orphaned');
    cluster.store.delete(JOBS, 'default', 'orphaned');
    await cluster.settle();
    // The garbage collector marked the pod; the job controller removed the finalizer that held it.
    const left = cluster.store.get(PODS, 'default', pod!.metadata.name);
    assert.ok(!left || !left.metadata.finalizers, 'no tracking finalizer left');

    createAsApiServer(cluster, JOBS, jobObject('short', { ttlSecondsAfterFinished: 5 }));
    await cluster.settle();
    finishPod(cluster, running('short')[0]!, 0);
    await cluster.settle();
    assert.equal(conditions('short').at(-1)?.type, 'Complete');
    cluster.clock.advance(4_000);
    await cluster.settle();
    assert.ok(cluster.store.get(JOBS, 'default', 'short'), 'kept until the TTL');
    cluster.clock.advance(1_500);
    await cluster.settle();
    assert.equal(cluster.store.get(JOBS, 'default', 'short'), undefined, 'deleted after ttlSecondsAfterFinished');
    assert.equal(podsOf('short').length, 0, 'with its pods');
  });

  test('suspend deletes the running pods; resuming starts them again', async () => {
    cluster = startTestCluster();
    createAsApiServer(cluster, JOBS, jobObject('later', { parallelism: 2, completions: 2 }));
    await cluster.settle();
    const j = job('later');
    cluster.store.update(JOBS, { ...j, spec: { ...record(j.spec, 'spec'), suspend: true } });
    await cluster.settle();
    kubeletRemovesDeleted(cluster);
    await cluster.settle();
    assert.equal(running('later').length, 0);
    assert.equal(podsOf('later').length, 0, 'the pods of a suspended Job are deleted');
    assert.equal(status('later').failed, undefined, 'and not counted as failures');
    assert.deepEqual(conditions('later').map((c) => [c.type, c.status, c.reason]), [['Suspended', 'True', 'JobSuspended']]);
    const k = job('later');
    cluster.store.update(JOBS, { ...k, spec: { ...record(k.spec, 'spec'), suspend: false } });
    await cluster.settle();
    assert.equal(running('later').length, 2);
    assert.deepEqual(conditions('later').map((c) => [c.type, c.status, c.reason]), [['Suspended', 'False', 'JobResumed']]);
  });
});

describe('job arithmetic', () => {
  const spec = (s: Record<string, unknown>) => readJobSpec(jobObject('x', s));

  test('pods wanted: the completions still missing, at most parallelism; a work queue stops creating after a success', () => {
    assert.equal(wantActivePods(spec({ completions: 5, parallelism: 2 }), 0, 0), 2);
    assert.equal(wantActivePods(spec({ completions: 5, parallelism: 2 }), 4, 2), 1);
    assert.equal(wantActivePods(spec({ completions: 5, parallelism: 2 }), 6, 0), 0);
    assert.equal(wantActivePods(spec({ parallelism: 3 }), 0, 1), 3);
    assert.equal(wantActivePods(spec({ parallelism: 3 }), 1, 2), 2);
  });

  test('replacement back-off: 10 s after one failure, doubling, reset by a success', () => {
    const s = spec({});
    const pod = (name: string, phase: string, finishedAt: number): StoredObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, uid: name, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' },
      status: { phase, containerStatuses: [{ name: 'app', state: { terminated: { exitCode: phase === 'Failed' ? 1 : 0, finishedAt: new Date(finishedAt).toISOString() } } }] },
    });
    assert.equal(replacementDelayMs([], s, 0), 0);
    assert.equal(replacementDelayMs([pod('a', 'Failed', 1000)], s, 1000), 10_000);
    assert.equal(replacementDelayMs([pod('a', 'Failed', 1000), pod('b', 'Failed', 5000)], s, 5000), 20_000);
    assert.equal(replacementDelayMs([pod('a', 'Failed', 1000), pod('b', 'Succeeded', 5000)], s, 5000), 0);
    assert.equal(replacementDelayMs([pod('a', 'Failed', 1000)], s, 30_000), 0);
  });
});
