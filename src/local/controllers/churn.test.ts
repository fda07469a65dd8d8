// Load: a thousand pods created, made ready, rolled to a new template and deleted, with the
// endpointslices following, in a bounded time.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { isPodReady } from './pods.js';
import { isRecord, record } from './read.js';
import { DEPLOYMENTS, ENDPOINTSLICES, PODS, REPLICASETS, SERVICES } from './resources.js';
import type { TestCluster } from './testing.js';
import { deploymentObject, list, readyAll, startTestCluster } from './testing.js';

let cluster: TestCluster;
afterEach(() => cluster?.close());

function endpointCount(): { total: number; ready: number; slices: number } {
  let total = 0;
  let ready = 0;
  const slices = list(cluster.store, ENDPOINTSLICES);
  for (const s of slices) {
    for (const e of Array.isArray(s.endpoints) ? s.endpoints : []) {
      total++;
      if (isRecord(e) && isRecord(e.conditions) && e.conditions.ready === true) ready++;
    }
  }
  return { total, ready, slices: slices.length };
}

test('1000 pods of churn: create, ready, roll, delete', { timeout: 25_000 }, async () => {
  cluster = startTestCluster();
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const phase: Record<string, number> = {};
  const mark = (name: string) => (phase[name] = Math.round(performance.now() - started));

  cluster.store.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'big', namespace: 'default' }, spec: { selector: { app: 'big' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
  cluster.store.create(DEPLOYMENTS, deploymentObject('big', { replicas: 1000 }));
  await cluster.settle();
  mark('created');
  assert.equal(list(cluster.store, PODS).length, 1000);

  assert.equal(readyAll(cluster), 1000);
  await cluster.settle();
  mark('ready');
  assert.deepEqual(endpointCount(), { total: 1000, ready: 1000, slices: 10 });
  assert.equal(record(cluster.store.get(DEPLOYMENTS, 'default', 'big')!.status, 'status').availableReplicas, 1000);

  // Roll to a new template; the kubelet stand-in readies whatever new pods appear until done.
  const d = cluster.store.get(DEPLOYMENTS, 'default', 'big')!;
  const spec = structuredClone(record(d.spec, 'spec'));
  record(record(spec.template, 'template').spec, 'template.spec').containers = [{ name: 'app', image: 'big:v2' }];
  cluster.store.update(DEPLOYMENTS, { ...d, spec });
  await cluster.settle();
  for (let round = 0; round < 50; round++) {
    const status = record(cluster.store.get(DEPLOYMENTS, 'default', 'big')!.status, 'status');
    if (status.updatedReplicas === 1000 && status.availableReplicas === 1000 && status.replicas === 1000) break;
    readyAll(cluster);
    await cluster.settle();
  }
  mark('rolled');
  const pods = list(cluster.store, PODS);
  assert.equal(pods.length, 1000);
  assert.ok(pods.every((p) => JSON.stringify(p.spec).includes('big:v2') && isPodReady(p)));
  const afterRoll = endpointCount();
  assert.deepEqual({ total: afterRoll.total, ready: afterRoll.ready }, { total: 1000, ready: 1000 });
  // Endpoints stay in the slice they are in (fewer writes), so churn may leave slices part-full.
  assert.ok(afterRoll.slices >= 10 && afterRoll.slices <= 13, `${afterRoll.slices} slices`);

  cluster.store.delete(DEPLOYMENTS, 'default', 'big');
  await cluster.settle();
  mark('deleted');
  assert.equal(list(cluster.store, PODS).length, 0);
  assert.equal(list(cluster.store, REPLICASETS).length, 0);
  assert.deepEqual(endpointCount(), { total: 0, ready: 0, slices: 1 });

  // CPU time, not wall time: the bound must hold on a loaded machine too. It covers the store's writes
  // (about 5000 pod writes here, the test's own included) and every controller's reconciles.
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  const stats = cluster.controllers.stats();
  console.log(`churn: cpu ${cpuMs} ms, phases (wall ms since start) ${JSON.stringify(phase)}, controllers ${JSON.stringify(stats)}`);
  assert.ok(cpuMs < 6000, `took ${cpuMs} ms of CPU`);
  // Bursts of pod events coalesce into few reconciles of the objects they concern.
  assert.ok(stats['replicaset-controller']!.reconciles < 200, `replicaset reconciles: ${stats['replicaset-controller']!.reconciles}`);
  assert.ok(stats['endpointslice-controller']!.reconciles < 200, `endpointslice reconciles: ${stats['endpointslice-controller']!.reconciles}`);
  assert.equal(Object.values(cluster.controllers.errors()).reduce((a, b) => a + b, 0), 0, cluster.logs.slice(0, 5).join('\n'));
});
