import test from 'node:test';
import assert from 'node:assert/strict';
import { desiredConditions, mergeConditions, podPhase } from './pod-status.js';
import type { ContainerState, ContainerStatus } from './pod-types.js';

function cs(name: string, state: ContainerState, extra: Partial<ContainerStatus> = {}): ContainerStatus {
  return { name, image: 'i', imageID: '', ready: false, started: false, restartCount: 0, state, lastState: {}, ...extra };
}
const running = { running: { startedAt: 't' } };
const waiting = { waiting: { reason: 'ContainerCreating' } };
const exited = (exitCode: number): ContainerState => ({ terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed', finishedAt: 't' } });

test('phase follows the kubelet rules', () => {
  const base = { restartPolicy: 'Always' as const, initDone: true, initFailed: false };
  assert.equal(podPhase({ ...base, containers: [cs('a', waiting)] }), 'Pending');
  assert.equal(podPhase({ ...base, containers: [cs('a', running), cs('b', waiting)] }), 'Pending');
  assert.equal(podPhase({ ...base, containers: [cs('a', running)] }), 'Running');
  const crashLooping = cs('a', { waiting: { reason: 'CrashLoopBackOff' } }, { lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: 't' } } });
  assert.equal(podPhase({ ...base, containers: [crashLooping] }), 'Running');
  assert.equal(podPhase({ ...base, restartPolicy: 'Never', containers: [cs('a', exited(0))] }), 'Succeeded');
  assert.equal(podPhase({ ...base, restartPolicy: 'Never', containers: [cs('a', exited(0)), cs('b', exited(2))] }), 'Failed');
  assert.equal(podPhase({ ...base, restartPolicy: 'OnFailure', containers: [cs('a', exited(2))] }), 'Running');
  assert.equal(podPhase({ ...base, initDone: false, containers: [cs('a', waiting)] }), 'Pending');
  assert.equal(podPhase({ ...base, restartPolicy: 'Never', initDone: false, initFailed: true, containers: [cs('a', waiting)] }), 'Failed');
});

test('conditions name the unready containers and keep transition times', () => {
  const d1 = desiredConditions({ phase: 'Running', initDone: true, initPending: [], containers: [cs('a', running, { ready: true }), cs('b', running)] });
  assert.deepEqual(d1.find((c) => c.type === 'Ready'), { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [b]' });
  const c1 = mergeConditions(undefined, d1, 'T1');
  assert.ok(c1.every((c) => c.lastTransitionTime === 'T1'));
  const d2 = desiredConditions({ phase: 'Running', initDone: true, initPending: [], containers: [cs('a', running, { ready: true }), cs('b', running, { ready: true })] });
  const c2 = mergeConditions(c1, d2, 'T2');
  assert.equal(c2.find((c) => c.type === 'Ready')?.lastTransitionTime, 'T2');
  assert.equal(c2.find((c) => c.type === 'Ready')?.status, 'True');
  assert.equal(c2.find((c) => c.type === 'PodScheduled')?.lastTransitionTime, 'T1');
  assert.deepEqual(c2.map((c) => c.type), ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);
});
