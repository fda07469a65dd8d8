// What the page shows, from the fixture state: compound cluster nodes holding workloads, edge labels,
// the layout key that ignores rates, merged propagation rows with stale pushes, canary step text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeViews, edgeLabel, graphElements, nodeLabel, shownState, stepText, structureKey } from './view.js';
import { fixtureState } from '../../test/helpers/dashboard-fixture.js';
import type { ConfigChange } from '../controlplane/propagation-report.js';

test('clusters are compound nodes; workloads, gateways and services sit in theirs, MCIs outside', () => {
  const { nodes } = graphElements(fixtureState(1, 0));
  const parentOf = new Map(nodes.map((n) => [n.id, n.parent]));
  assert.deepEqual(nodes.filter((n) => n.kind === 'cluster').map((n) => n.label), ['cluster-1', 'cluster-2']);
  assert.equal(parentOf.get('wl:cluster-1/sample/helloworld-v1'), 'cluster:cluster-1');
  assert.equal(parentOf.get('wl:cluster-2/sample/helloworld-v2'), 'cluster:cluster-2');
  assert.equal(parentOf.get('svc:cluster-1/helloworld.sample.svc.cluster.local'), 'cluster:cluster-1');
  assert.equal(parentOf.get('svc:cluster-2/helloworld.sample.svc.cluster.local'), 'cluster:cluster-2');
  assert.equal(parentOf.get('wl:cluster-2/istio-gateway/istio-ingressgateway'), 'cluster:cluster-2');
  assert.equal(parentOf.get('mci:istio-gateway/helloworld'), undefined);
  assert.equal(nodes.find((n) => n.id === 'wl:cluster-2/sample/helloworld-v2')!.label, 'helloworld v2');
  assert.equal(nodes.find((n) => n.id === 'mci:istio-gateway/helloworld')!.label, 'istio-gateway/helloworld\nVIP 127.46.255.1\n2/2 gateways healthy');
});

test('a workload of a cluster the state does not list gets a compound node; an edge to an unlisted node goes to unknown', () => {
  const state = fixtureState(1, 0);
  state.topology.nodes.push({ id: 'wl:cluster-3/x/y', type: 'workload', label: 'y', cluster: 'cluster-3', health: 'unknown' });
  state.topology.nodes.push({ id: 'svc:cluster-4/z.x.svc.cluster.local', type: 'service', label: 'z', cluster: 'cluster-4', health: 'unknown' });
  state.topology.nodes.push({ id: 'svc:unknown/z.x.svc.cluster.local', type: 'service', label: 'z', health: 'unknown' });
  state.topology.edges.push({ id: 'e', source: 'wl:cluster-3/x/y', target: 'svc:gone', rps: 1, errorRate: 0, crossCluster: false, health: 'unknown' });
  const { nodes, edges } = graphElements(state);
  assert.ok(nodes.some((n) => n.id === 'cluster:cluster-3' && n.health === 'unknown'));
  assert.equal(nodes.find((n) => n.id === 'svc:cluster-4/z.x.svc.cluster.local')?.parent, 'cluster:cluster-4', 'a service\'s cluster is a box too');
  assert.equal(nodes.find((n) => n.id === 'svc:unknown/z.x.svc.cluster.local')?.parent, undefined, 'a service in no known cluster sits outside');
  assert.ok(nodes.some((n) => n.id === 'unknown'));
  assert.equal(edges.find((e) => e.id === 'e')!.target, 'unknown');
});

test('edge labels: rate, error share, p99 only when measured', () => {
  assert.equal(edgeLabel({ rps: 12.34, errorRate: 0, p99Ms: 4 }), '12.3 rps · 0.0% · p99 4 ms');
  assert.equal(edgeLabel({ rps: 250.4, errorRate: 0.0213, p99Ms: 123.4 }), '250 rps · 2.1% · p99 123 ms');
  assert.equal(edgeLabel({ rps: 0.5, errorRate: 0, p99Ms: 2.46 }), '0.5 rps · 0.0% · p99 2.5 ms');
  assert.equal(edgeLabel({ rps: 0, errorRate: 0 }), '0.0 rps · 0.0%');
  assert.equal(nodeLabel({ id: 'wl:c/n/w', type: 'workload', label: 'w', app: 'sleep', health: 'idle' }), 'sleep');
});

test('the layout key changes when elements come or go, not when rates or health change', () => {
  const a = structureKey(graphElements(fixtureState(1, 0)));
  const b = structureKey(graphElements(fixtureState(2, 1)));
  assert.equal(a, b);
  const fewer = fixtureState(1, 0);
  fewer.topology.edges.pop();
  assert.notEqual(structureKey(graphElements(fewer)), a);
});

test('the same change reported by two control planes is one row with both clusters\' proxies', () => {
  const [vs] = fixtureState(6, 0).propagation as [ConfigChange];
  const fromCluster1 = { ...vs, proxies: vs.proxies.filter((p) => p.cluster === 'cluster-1') };
  const fromCluster2 = { ...vs, observedAt: '2026-12-03T17:59:59.990Z', proxies: vs.proxies.filter((p) => p.cluster === 'cluster-2') };
  const views = changeViews([fromCluster1, fromCluster2]);
  assert.equal(views.length, 1);
  assert.equal(views[0]!.title, 'VirtualService sample/helloworld@4711');
  assert.equal(views[0]!.proxies.length, 6);
  assert.equal(views[0]!.change.observedAt, '2026-12-03T17:59:59.990Z', 'the earliest observation');
  assert.equal(views[0]!.complete, true);
  assert.equal(views[0]!.maxLatencyMs, 135);
});

test('a push not ACKed 10 s after the change is stale; newest change first', () => {
  const state = fixtureState(2, 0);
  const views = changeViews(state.propagation);
  assert.deepEqual(views.map((v) => v.change.kind), ['VirtualService', 'DestinationRule']);
  const vs = views[0]!;
  assert.equal(vs.complete, false);
  const sent = vs.proxies.find((p) => p.state === 'sent')!;
  assert.equal(shownState(sent, vs.change, '2026-12-03T18:00:05.000Z'), 'sent');
  assert.equal(shownState(sent, vs.change, '2026-12-03T18:00:10.001Z'), 'stale');
  assert.equal(shownState(vs.proxies[0]!, vs.change, '2026-12-03T18:01:00.000Z'), 'acked');
});

test('canary step text is 1-based', () => {
  assert.equal(stepText({ stepIndex: -1, steps: [10, 50, 100] }), 'not started (3 steps)');
  assert.equal(stepText({ stepIndex: 1, steps: [10, 50, 100] }), 'step 2 of 3');
});
