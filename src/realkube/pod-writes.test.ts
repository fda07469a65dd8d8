import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredObject } from '../k8s/object.js';
import { bindingFor, olderVersion, podWriteFor, statusPatchFor } from './pod-writes.js';

const pod = (over: Partial<StoredObject> = {}): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'default', uid: 'u-1', resourceVersion: '41', creationTimestamp: '2026-01-01T00:00:00Z', labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'x' }] },
  status: { phase: 'Pending', qosClass: 'BestEffort', conditions: [{ type: 'PodScheduled', status: 'True' }] },
  ...over,
});

describe('the kubelet\'s Pod writes as the real API takes them', () => {
  it('setting spec.nodeName is a binding; a status change is a status write; both at once are both', () => {
    const current = pod();
    assert.deepEqual(podWriteFor(current, { ...current, spec: { ...(current.spec as object), nodeName: 'n1' } }), { bindTo: 'n1' });
    const status = { phase: 'Running', podIP: '127.48.0.2' };
    assert.deepEqual(podWriteFor(current, { ...current, status }), { status });
    assert.deepEqual(podWriteFor(current, { ...current, spec: { ...(current.spec as object), nodeName: 'n1' }, status }), { bindTo: 'n1', status });
    assert.deepEqual(podWriteFor(current, { ...current, metadata: { ...current.metadata, resourceVersion: '40' } }), {}, 'the version is a precondition, not a change');
  });

  it('refuses what a node may not write: another spec field, metadata, a second binding', () => {
    const current = pod();
    assert.throws(() => podWriteFor(current, { ...current, spec: { containers: [] } }), /writes only spec\.nodeName \(binding\) and status, not the rest of the spec/);
    assert.throws(() => podWriteFor(current, { ...current, metadata: { ...current.metadata, labels: { app: 'other' } } }), /not metadata/);
    const bound = pod({ spec: { nodeName: 'n1', containers: [] } });
    assert.throws(() => podWriteFor(bound, { ...bound, spec: { nodeName: 'n2', containers: [] } }), /is bound to n1: a pod is never bound again/);
  });

  it('a Binding names the node and carries the uid precondition', () => {
    assert.deepEqual(bindingFor(pod(), 'n1'), {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'web-1', namespace: 'default', uid: 'u-1' },
      target: { apiVersion: 'v1', kind: 'Node', name: 'n1' },
    });
  });

  it('the status patch changes what changed, removes what went (null), replaces lists whole, names the uid', () => {
    const server = pod({
      status: { phase: 'Pending', qosClass: 'BestEffort', containerStatuses: [{ name: 'web', state: { waiting: { reason: 'ContainerCreating' } } }] },
    });
    const desired = { phase: 'Running', qosClass: 'BestEffort', podIP: '127.48.0.2', containerStatuses: [{ name: 'web', state: { running: { startedAt: '2026-01-01T00:00:01Z' } } }] };
    assert.deepEqual(statusPatchFor(server, desired), {
      metadata: { uid: 'u-1' },
      status: { phase: 'Running', podIP: '127.48.0.2', containerStatuses: [{ name: 'web', state: { running: { startedAt: '2026-01-01T00:00:01Z' } } }] },
    });
    assert.deepEqual(statusPatchFor(server, { phase: 'Pending' }), { metadata: { uid: 'u-1' }, status: { qosClass: null, containerStatuses: null } });
    assert.equal(statusPatchFor(server, structuredClone(server.status) as Record<string, unknown>), undefined);
  });

  it('resource versions compare as etcd revisions; unreadable ones never count as older', () => {
    assert.equal(olderVersion('9', '10'), true);
    assert.equal(olderVersion('10', '9'), false);
    assert.equal(olderVersion('10', '10'), false);
    assert.equal(olderVersion('abc', '10'), false);
    assert.equal(olderVersion(undefined, '10'), false);
  });
});
