import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTopology, healthOfErrors, type WorkloadInventory } from './topology.js';
import type { EdgeTraffic, WorkloadRef } from './traffic.js';

const HW = 'helloworld.sample.svc.cluster.local';
const wl = (cluster: string, workload: string, app: string, version: string): WorkloadRef => ({ cluster, namespace: 'sample', workload, app, version });
const inv = (ref: WorkloadRef, pods: number, ready: number, extra: Partial<WorkloadInventory> = {}): WorkloadInventory => ({ ...ref, pods, ready, sidecar: true, gateway: false, ips: [], ...extra });

const sleep = wl('cluster-1', 'sleep', 'sleep', 'unknown');
const v1 = wl('cluster-1', 'helloworld-v1', 'helloworld', 'v1');
const v2 = wl('cluster-2', 'helloworld-v2', 'helloworld', 'v2');
const traffic = (source: WorkloadRef | undefined, destination: WorkloadRef | undefined, requests: number, errors = 0): EdgeTraffic => ({
  ...(source ? { source } : {}), service: HW, ...(destination ? { destination } : {}), requests, errors, buckets: new Map([[5, requests * 0.5], [10, requests], [Infinity, requests]]), security: 'mutual_tls',
});

test('health thresholds as Kiali: >= 20 % failing, > 0.1 % degraded, no traffic idle', () => {
  assert.equal(healthOfErrors(0, 0), 'idle');
  assert.equal(healthOfErrors(1000, 0), 'healthy');
  assert.equal(healthOfErrors(1000, 1), 'healthy');
  assert.equal(healthOfErrors(1000, 2), 'degraded');
  assert.equal(healthOfErrors(100, 20), 'failing');
});

test('versioned-app graph: workload -> service of the destination cluster -> version workload, rates over the window', () => {
  const sleep2 = wl('cluster-2', 'sleep', 'sleep', 'unknown');
  const t = buildTopology({
    workloads: [inv(sleep, 1, 1), inv(sleep2, 1, 1), inv(v1, 1, 1), inv(v2, 1, 1)],
    services: [{ cluster: 'cluster-1', host: HW, namespace: 'sample', name: 'helloworld' }, { cluster: 'cluster-2', host: HW, namespace: 'sample', name: 'helloworld' }],
    traffic: [traffic(sleep, v1, 240), traffic(sleep, v2, 60, 30), traffic(sleep2, v2, 90)],
    windowSeconds: 30,
  });
  const edge = (id: string) => {
    const e = t.edges.find((x) => x.id === id);
    assert.ok(e, `no edge ${id}: ${t.edges.map((x) => x.id).join(', ')}`);
    return e;
  };
  const local = edge(`wl:cluster-1/sample/sleep->svc:cluster-1/${HW}`);
  assert.equal(local.rps, 8);
  assert.equal(local.crossCluster, false, 'sleep and helloworld v1 are both in cluster-1');
  assert.equal(local.health, 'healthy');
  const remote = edge(`wl:cluster-1/sample/sleep->svc:cluster-2/${HW}`);
  assert.equal(remote.rps, 2);
  assert.equal(remote.errorRate, 0.5);
  assert.equal(remote.health, 'failing');
  assert.equal(remote.crossCluster, true, 'cluster-1 -> cluster-2');
  assert.equal(edge(`wl:cluster-2/sample/sleep->svc:cluster-2/${HW}`).crossCluster, false, 'within cluster-2');
  const toV1 = edge(`svc:cluster-1/${HW}->wl:cluster-1/sample/helloworld-v1`);
  assert.equal(toV1.rps, 8);
  assert.equal(toV1.crossCluster, false);
  assert.equal(toV1.security, 'mutual_tls');
  assert.ok(Math.abs((toV1.p99Ms ?? 0) - 9.9) < 1e-9, `p99 ${toV1.p99Ms}`);
  const toV2 = edge(`svc:cluster-2/${HW}->wl:cluster-2/sample/helloworld-v2`);
  assert.equal(toV2.rps, 5, 'both callers');
  assert.equal(toV2.crossCluster, false, 'the service node sits in its workloads\' cluster');
  assert.equal(t.edges.length, 5);
  // The property: an edge is cross-cluster exactly when its two ends are in different clusters.
  const clusterOf = new Map(t.nodes.map((n) => [n.id, n.cluster]));
  for (const e of t.edges) assert.equal(e.crossCluster, clusterOf.get(e.source) !== clusterOf.get(e.target), e.id);
  const node = (id: string) => t.nodes.find((n) => n.id === id)!;
  assert.equal(node('wl:cluster-2/sample/helloworld-v2').health, 'failing', '30 of 150 failed: 20 %');
  assert.equal(node('wl:cluster-1/sample/helloworld-v1').label, 'helloworld v1');
  assert.equal(node('wl:cluster-1/sample/helloworld-v1').version, 'v1');
  assert.deepEqual([node(`svc:cluster-1/${HW}`).label, node(`svc:cluster-1/${HW}`).cluster], ['helloworld', 'cluster-1']);
  assert.deepEqual([node(`svc:cluster-2/${HW}`).label, node(`svc:cluster-2/${HW}`).cluster], ['helloworld', 'cluster-2']);
  assert.equal(node('wl:cluster-1/sample/sleep').health, 'degraded', 'a pure caller is judged by what it sends');
});

test('services without traffic: a node in each cluster that has them', () => {
  const t = buildTopology({ workloads: [], services: [{ cluster: 'cluster-1', host: HW, namespace: 'sample', name: 'helloworld' }, { cluster: 'cluster-2', host: HW, namespace: 'sample', name: 'helloworld' }], traffic: [], windowSeconds: 30 });
  assert.deepEqual(t.nodes.map((n) => [n.id, n.cluster, n.health]), [[`svc:cluster-1/${HW}`, 'cluster-1', 'idle'], [`svc:cluster-2/${HW}`, 'cluster-2', 'idle']]);
});

test('workloads without traffic are nodes too (idle); pods not ready make them degraded or failing', () => {
  const t = buildTopology({ workloads: [inv(v1, 2, 2), inv(v2, 2, 1), inv(sleep, 1, 0)], services: [], traffic: [], windowSeconds: 30 });
  assert.deepEqual(t.edges, []);
  const health = Object.fromEntries(t.nodes.map((n) => [n.id, [n.health, n.instances]]));
  assert.deepEqual(health, {
    'wl:cluster-1/sample/helloworld-v1': ['idle', 2],
    'wl:cluster-2/sample/helloworld-v2': ['degraded', 1],
    'wl:cluster-1/sample/sleep': ['failing', 0],
  });
});

test('callers outside the mesh are the unknown node; requests that reached no workload end at the service', () => {
  const t = buildTopology({ workloads: [], services: [], traffic: [traffic(undefined, v1, 30), traffic(sleep, undefined, 30, 30)], windowSeconds: 30 });
  assert.ok(t.nodes.some((n) => n.id === 'unknown' && n.type === 'unknown'));
  const fromOutside = t.edges.find((e) => e.id === `unknown->svc:cluster-1/${HW}`);
  assert.equal(fromOutside?.crossCluster, false, 'a caller nobody knows crosses nothing we can tell');
  assert.equal(t.edges.filter((e) => e.source === `svc:cluster-1/${HW}`).length, 1, 'only the edge to v1');
  const stopped = t.edges.find((e) => e.id === `wl:cluster-1/sample/sleep->svc:cluster-1/${HW}`);
  assert.deepEqual([stopped?.rps, stopped?.health, stopped?.crossCluster], [1, 'failing', false], 'with no destination_cluster the request stopped in its caller\'s cluster');
  assert.ok(t.nodes.some((n) => n.id === 'wl:cluster-1/sample/helloworld-v1' && n.instances === undefined), 'a workload known from traffic only');
});

test('a destination_cluster without a workload places the service node; nobody knowing either end: svc:unknown, in no cluster', () => {
  const noWorkload: EdgeTraffic = { ...traffic(sleep, undefined, 30, 30), destinationCluster: 'cluster-2' };
  const nowhere: EdgeTraffic = { ...traffic(undefined, undefined, 30, 30) };
  const t = buildTopology({ workloads: [], services: [], traffic: [noWorkload, nowhere], windowSeconds: 30 });
  assert.equal(t.edges.find((e) => e.id === `wl:cluster-1/sample/sleep->svc:cluster-2/${HW}`)?.crossCluster, true);
  const unknownService = t.nodes.find((n) => n.id === `svc:unknown/${HW}`);
  assert.ok(unknownService && unknownService.cluster === undefined, JSON.stringify(unknownService));
  assert.equal(t.edges.find((e) => e.id === `unknown->svc:unknown/${HW}`)?.crossCluster, false);
});

test('an MCI is a node with its VIP and gateways; edges to the gateway workloads by address', () => {
  const gw = (cluster: string, ip: string) => inv({ cluster, namespace: 'istio-gateway', workload: 'istio-ingressgateway', app: 'istio-ingressgateway', version: 'unknown' }, 1, 1, { gateway: true, sidecar: false, ips: [ip] });
  const t = buildTopology({
    workloads: [gw('cluster-1', '127.8.0.9'), gw('cluster-2', '127.18.0.9')],
    services: [],
    traffic: [],
    windowSeconds: 10,
    mcis: [{ namespace: 'istio-gateway', name: 'ingress', vip: '127.250.0.1', backends: [
      { id: 'cluster-1/gw-a', cluster: 'cluster-1', address: '127.8.0.9:80', healthy: true, requests: 50 },
      { id: 'cluster-2/gw-b', cluster: 'cluster-2', address: '127.18.0.9:80', healthy: false, detail: 'failed' },
    ] }],
  });
  const mci = t.nodes.find((n) => n.id === 'mci:istio-gateway/ingress')!;
  assert.equal(mci.type, 'mci');
  assert.equal(mci.vip, '127.250.0.1');
  assert.equal(mci.instances, 1);
  assert.equal(mci.health, 'degraded');
  assert.equal(mci.backends?.length, 2);
  const edges = Object.fromEntries(t.edges.map((e) => [e.target, [e.rps, e.health]]));
  assert.deepEqual(edges, { 'wl:cluster-1/istio-gateway/istio-ingressgateway': [5, 'healthy'], 'wl:cluster-2/istio-gateway/istio-ingressgateway': [0, 'failing'] });
  assert.equal(t.nodes.find((n) => n.id === 'wl:cluster-1/istio-gateway/istio-ingressgateway')?.type, 'gateway');
});
