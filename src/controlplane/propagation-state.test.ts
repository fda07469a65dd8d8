import type { ChangedObject } from './propagation-report.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  changeReport,
  connected,
  disconnected,
  emptyState,
  handled,
  observe,
  parseResource,
  rebuilt,
  reportChanges,
  synced,
  type NodeSync,
} from './propagation-state.js';

const VS: ChangedObject = { kind: 'VirtualService', namespace: 'sample', name: 'helloworld', sourceCluster: 'cluster-1', resourceVersion: '41', generation: 2, event: 'MODIFIED' };
const A = 'sidecar~127.10.0.7~sleep-1.sample~sample.svc.cluster.local';
const B = 'sidecar~127.11.0.7~sleep-2.sample~sample.svc.cluster.local';

const IN_SYNC: NodeSync = { settled: true, lastSentAt: 900 };
const SENT = (at: number): NodeSync => ({ settled: false, lastSentAt: at });
const NACKED = (message: string, at: number): NodeSync => ({ settled: true, nack: { message, at }, lastSentAt: at - 5 });

function meshWith(...nodes: string[]) {
  const state = emptyState();
  rebuilt(state, 'v0');
  for (const nodeId of nodes) {
    connected(state, { nodeId, cluster: nodeId.includes('127.11') ? 'cluster-2' : 'cluster-1', kind: 'sidecar', pod: nodeId.split('~')[2] });
    handled(state, nodeId, state.seq, IN_SYNC, 500);
  }
  return state;
}

const stateOf = (report: ReturnType<typeof changeReport>, nodeId: string) => report.proxies.find((p) => p.nodeId === nodeId);

test('pending until the rebuild carrying the change reaches the node, then sent, then acked', () => {
  const state = meshWith(A);
  const change = observe(state, VS, 1000);
  let report = changeReport(state, change);
  assert.equal(report.snapshotVersion, '', 'no rebuild has carried it yet');
  assert.equal(stateOf(report, A)?.state, 'pending');
  assert.deepEqual(report.summary, { acked: 0, nacked: 0, sent: 0, pending: 1, disconnected: 0 });

  rebuilt(state, 'v1');
  assert.equal(changeReport(state, change).snapshotVersion, 'v1');
  assert.deepEqual(handled(state, A, state.seq, SENT(1100), 1100), []);
  report = changeReport(state, change);
  assert.equal(stateOf(report, A)?.state, 'sent');
  assert.equal(stateOf(report, A)?.sentAt, new Date(1100).toISOString());

  const outcomes = synced(state, A, { settled: true, lastSentAt: 1100 }, 1250);
  assert.deepEqual(outcomes.map((o) => [o.nodeId, o.state, o.latencyMs]), [[A, 'acked', 250]]);
  report = changeReport(state, change);
  const proxy = stateOf(report, A);
  assert.equal(proxy?.state, 'acked');
  assert.equal(proxy?.ackedAt, new Date(1250).toISOString());
  assert.equal(proxy?.latencyMs, 250);
  assert.equal(proxy?.pod, 'sleep-1.sample');
  assert.equal(report.completedAt, new Date(1250).toISOString());
  assert.equal(report.resourceVersion, '41');
  assert.equal(report.generation, 2);
});

test('a node whose config did not change (nothing sent, in sync) counts acked at once', () => {
  const state = meshWith(A, B);
  const change = observe(state, VS, 1000);
  rebuilt(state, 'v1');
  handled(state, A, state.seq, SENT(1100), 1100);
  // B's scope did not change: the pusher handled it and sent nothing; it had ACKed all it had.
  const outcomes = handled(state, B, state.seq, IN_SYNC, 1120);
  assert.deepEqual(outcomes.map((o) => [o.nodeId, o.state]), [[B, 'acked']]);
  const report = changeReport(state, change);
  assert.equal(stateOf(report, B)?.state, 'acked');
  assert.equal(stateOf(report, B)?.sentAt, undefined, 'nothing was sent to B for it');
  assert.equal(stateOf(report, B)?.ackedAt, new Date(1120).toISOString());
  assert.equal(stateOf(report, A)?.state, 'sent');
  assert.equal(report.completedAt, undefined, 'A has not ACKed yet');
  synced(state, A, { settled: true }, 1300);
  assert.equal(changeReport(state, change).completedAt, new Date(1300).toISOString());
});

test('a node with an earlier push still unanswered is not acked by an unchanged round: its ACK settles both', () => {
  const state = meshWith(A);
  const first = observe(state, VS, 1000);
  rebuilt(state, 'v1');
  handled(state, A, state.seq, SENT(1100), 1100);
  const second = observe(state, { ...VS, kind: 'Service', name: 'other', resourceVersion: '50' }, 1150);
  rebuilt(state, 'v2');
  handled(state, A, state.seq, SENT(1100), 1200);
  assert.equal(stateOf(changeReport(state, second), A)?.state, 'sent');
  const outcomes = synced(state, A, { settled: true }, 1400);
  assert.deepEqual(outcomes.map((o) => [o.change.resourceVersion, o.latencyMs]), [['41', 400], ['50', 250]]);
  assert.equal(stateOf(changeReport(state, first), A)?.state, 'acked');
  assert.equal(stateOf(changeReport(state, second), A)?.state, 'acked');
});

test('NACK: the change is nacked with the proxy\'s message; a later fixing change is acked; the first stays nacked', () => {
  const state = meshWith(A);
  const bad = observe(state, { ...VS, resourceVersion: '42' }, 1000);
  rebuilt(state, 'v1');
  handled(state, A, state.seq, SENT(1100), 1100);
  const message = 'RDS: Proto constraint validation failed (RouteValidationError.Name: value length must be at least 1 characters)';
  const outcomes = synced(state, A, NACKED(message, 1150), 1150);
  assert.deepEqual(outcomes.map((o) => [o.state, o.firstNack]), [['nacked', true]]);
  let proxy = stateOf(changeReport(state, bad), A);
  assert.equal(proxy?.state, 'nacked');
  assert.equal(proxy?.error, message);
  assert.equal(proxy?.nackedAt, new Date(1150).toISOString());

  const fix = observe(state, { ...VS, resourceVersion: '43' }, 2000);
  rebuilt(state, 'v2');
  handled(state, A, state.seq, SENT(2100), 2100);
  synced(state, A, { settled: true }, 2200);
  assert.equal(stateOf(changeReport(state, fix), A)?.state, 'acked');
  proxy = stateOf(changeReport(state, bad), A);
  assert.equal(proxy?.state, 'nacked', 'what happened to the bad version is kept');
  assert.deepEqual(changeReport(state, bad).summary, { acked: 0, nacked: 1, sent: 0, pending: 0, disconnected: 0 });
});

test('the first NACK of a change is counted once, whatever the number of proxies refusing it', () => {
  const state = meshWith(A, B);
  observe(state, VS, 1000);
  rebuilt(state, 'v1');
  handled(state, A, state.seq, SENT(1100), 1100);
  handled(state, B, state.seq, SENT(1100), 1100);
  const a = synced(state, A, NACKED('bad', 1200), 1200);
  const b = synced(state, B, NACKED('bad', 1210), 1210);
  assert.deepEqual([...a, ...b].map((o) => o.firstNack), [true, false]);
});

test('a node that disconnects before its ACK is disconnected; one that comes back and ACKs is acked', () => {
  const state = meshWith(A, B);
  const change = observe(state, VS, 1000);
  rebuilt(state, 'v1');
  handled(state, A, state.seq, SENT(1100), 1100);
  disconnected(state, A, 1150);
  assert.deepEqual(synced(state, A, { settled: true }, 1160), [], 'a gone node settles nothing');
  let report = changeReport(state, change);
  assert.equal(stateOf(report, A)?.state, 'disconnected');
  assert.equal(stateOf(report, A)?.sentAt, new Date(1100).toISOString());
  // B had not been handled yet when it went: still one of this change's proxies.
  disconnected(state, B, 1170);
  report = changeReport(state, change);
  assert.equal(stateOf(report, B)?.state, 'disconnected');

  connected(state, { nodeId: A, cluster: 'cluster-1', kind: 'sidecar' });
  assert.equal(stateOf(changeReport(state, change), A)?.state, 'pending', 'back, not yet given its config');
  handled(state, A, state.seq, SENT(1300), 1300);
  synced(state, A, { settled: true }, 1350);
  assert.equal(stateOf(changeReport(state, change), A)?.state, 'acked');
});

test('a node gone before the change is not one of its proxies; one that connects after it is', () => {
  const state = meshWith(A, B);
  disconnected(state, B, 900);
  const change = observe(state, VS, 1000);
  const late = 'router~127.10.0.9~gw-1.istio-system~istio-system.svc.cluster.local';
  connected(state, { nodeId: late, cluster: 'cluster-1', kind: 'router' });
  rebuilt(state, 'v1');
  handled(state, late, state.seq, SENT(1100), 1100);
  synced(state, late, { settled: true }, 1200);
  const report = changeReport(state, change);
  assert.deepEqual(report.proxies.map((p) => [p.nodeId, p.state]), [[late, 'acked'], [A, 'pending']]);
});

test('a config the control plane could not build leaves the node pending, saying why, until a good one', () => {
  const state = meshWith(A);
  const change = observe(state, VS, 1000);
  rebuilt(state, 'v1');
  handled(state, A, state.seq, IN_SYNC, 1100, 'route helloworld: weights sum to 0');
  rebuilt(state, 'v2');
  handled(state, A, state.seq, IN_SYNC, 1150, 'route helloworld: weights sum to 0');
  let proxy = stateOf(changeReport(state, change), A);
  assert.equal(proxy?.state, 'pending');
  assert.match(proxy?.error ?? '', /could not build this proxy's config: route helloworld: weights sum to 0/);
  rebuilt(state, 'v3');
  handled(state, A, state.seq, SENT(1200), 1200);
  synced(state, A, { settled: true }, 1300);
  proxy = stateOf(changeReport(state, change), A);
  assert.equal(proxy?.state, 'acked');
});

test('an unsettled node (a response in flight) stays sent', () => {
  const state = meshWith(A);
  const change = observe(state, VS, 1000);
  rebuilt(state, 'v1');
  handled(state, A, state.seq, SENT(1100), 1100);
  assert.deepEqual(synced(state, A, SENT(1100), 1150), []);
  assert.equal(stateOf(changeReport(state, change), A)?.state, 'sent');
});

test('only the last `capacity` changes are kept, and per node no more checkpoints than changes', () => {
  const state = emptyState(3);
  rebuilt(state, 'v0');
  connected(state, { nodeId: A, cluster: 'cluster-1', kind: 'sidecar' });
  for (let i = 0; i < 10; i++) {
    observe(state, { ...VS, resourceVersion: String(100 + i) }, 1000 + i * 10);
    rebuilt(state, `v${i + 1}`);
    handled(state, A, state.seq, SENT(1001 + i * 10), 1001 + i * 10);
    // Rounds without a change in them leave no trace.
    rebuilt(state, `v${i + 1}b`);
    handled(state, A, state.seq, SENT(1002 + i * 10), 1002 + i * 10);
  }
  assert.equal(state.changes.length, 3);
  assert.deepEqual(reportChanges(state).map((c) => c.resourceVersion), ['109', '108', '107'], 'newest first');
  assert.ok((state.nodes.get(A)?.checkpoints.length ?? 0) <= 3, `checkpoints: ${state.nodes.get(A)?.checkpoints.length}`);
  synced(state, A, { settled: true }, 2000);
  assert.deepEqual(reportChanges(state).map((c) => c.summary.acked), [1, 1, 1]);
  // Gone nodes that no kept change saw are forgotten.
  disconnected(state, A, 2100);
  for (let i = 0; i < 3; i++) observe(state, { ...VS, resourceVersion: String(200 + i) }, 3000 + i);
  assert.equal(state.nodes.size, 0);
  assert.throws(() => emptyState(0), /positive integer/);
});

test('?resource= picks one object\'s changes (kind without regard to case); a bad resource says the form', () => {
  const state = meshWith(A);
  observe(state, VS, 1000);
  observe(state, { ...VS, kind: 'DestinationRule' }, 1001);
  observe(state, { ...VS, resourceVersion: '44' }, 1002);
  assert.deepEqual(reportChanges(state, parseResource('virtualservice/sample/helloworld')).map((c) => c.resourceVersion), ['44', '41']);
  assert.deepEqual(reportChanges(state, parseResource('VirtualService/other/helloworld')), []);
  assert.throws(() => parseResource('VirtualService/helloworld'), /not Kind\/namespace\/name, e\.g\. VirtualService\/sample\/helloworld/);
});
