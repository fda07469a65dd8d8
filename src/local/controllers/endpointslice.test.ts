import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import type { Endpoint } from './endpointslice-build.js';
import { planSlices, portsKey } from './endpointslice-build.js';
import { isRecord, record } from './read.js';
import { DEPLOYMENTS, ENDPOINTSLICES, PODS, SERVICES } from './resources.js';
import type { TestCluster } from './testing.js';
import { deploymentObject, list, setPodStatus, startTestCluster } from './testing.js';

let cluster: TestCluster;
afterEach(() => cluster?.close());

function service(name: string, selector: Record<string, string> | undefined, ports: unknown[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels: { service: name } },
    spec: { ...(selector ? { selector } : {}), ports },
  };
}

function slices(svc = 'helloworld'): StoredObject[] {
  return list(cluster.store, ENDPOINTSLICES, 'default', `kubernetes.io/service-name=${svc}`);
}

function endpointsOf(slice: StoredObject): Endpoint[] {
  const eps = slice.endpoints;
  assert.ok(Array.isArray(eps));
  return eps.filter(isRecord).map((e) => {
    const { addresses, conditions, targetRef, nodeName, zone } = e;
    assert.ok(Array.isArray(addresses) && isRecord(conditions) && isRecord(targetRef));
    return {
      addresses: addresses.map(String),
      conditions: { ready: conditions.ready === true, serving: conditions.serving === true, terminating: conditions.terminating === true },
      targetRef: { kind: 'Pod', namespace: String(targetRef.namespace), name: String(targetRef.name), uid: String(targetRef.uid) },
      ...(typeof nodeName === 'string' ? { nodeName } : {}),
      ...(typeof zone === 'string' ? { zone } : {}),
    };
  });
}

function pods(selector = 'app=helloworld'): StoredObject[] {
  return list(cluster.store, PODS, 'default', selector);
}

describe('endpointslice controller', () => {
  test('one labelled, owned slice whose endpoints follow pod IPs, readiness and named ports', async () => {
    cluster = startTestCluster('cluster-2');
    const svc = cluster.store.create(SERVICES, service('helloworld', { app: 'helloworld' }, [{ name: 'http', port: 5000, targetPort: 'http' }]));
    cluster.store.create(
      DEPLOYMENTS,
      deploymentObject('helloworld-v2', { replicas: 2, labels: { app: 'helloworld', version: 'v2' }, ports: [{ name: 'http', containerPort: 5050 }] }),
    );
    await cluster.settle();

    let [slice, ...more] = slices();
    assert.ok(slice);
    assert.equal(more.length, 0);
    assert.match(slice.metadata.name, /^helloworld-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(slice.metadata.generateName, 'helloworld-');
    assert.equal(slice.apiVersion, 'discovery.k8s.io/v1');
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.metadata.labels, {
      service: 'helloworld',
      'kubernetes.io/service-name': 'helloworld',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'helloworld', uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.deepEqual(slice.endpoints, [], 'pods without an IP are not endpoints yet');

    const [a, b] = pods();
    setPodStatus(cluster, a!, { ready: false, ip: '127.20.0.2' });
    setPodStatus(cluster, b!, { ready: true, ip: '127.20.0.3' });
    await cluster.settle();
    [slice] = slices();
    assert.equal(slices().length, 1, 'the same slice is updated');
    assert.deepEqual(slice!.ports, [{ name: 'http', port: 5050, protocol: 'TCP' }], 'named targetPort resolved from the pod');
    const byName = (eps: Endpoint[]) => Object.fromEntries(eps.map((e) => [e.targetRef.name, e]));
    let eps = byName(endpointsOf(slice!));
    assert.deepEqual(eps[a!.metadata.name], {
      addresses: ['127.20.0.2'],
      conditions: { ready: false, serving: false, terminating: false },
      targetRef: { kind: 'Pod', namespace: 'default', name: a!.metadata.name, uid: a!.metadata.uid },
      nodeName: 'cluster-2-node',
      zone: 'cluster-2',
    });
    assert.deepEqual(eps[b!.metadata.name]!.conditions, { ready: true, serving: true, terminating: false });

    // Readiness and IP changes.
    setPodStatus(cluster, a!, { ready: true, ip: '127.20.0.9' });
    await cluster.settle();
    eps = byName(endpointsOf(slices()[0]!));
    assert.deepEqual(eps[a!.metadata.name]!.addresses, ['127.20.0.9']);
    assert.equal(eps[a!.metadata.name]!.conditions.ready, true);

    // A terminating pod stays listed, serving but not ready.
    const fresh = cluster.store.get(PODS, 'default', b!.metadata.name)!;
    cluster.store.update(PODS, { ...fresh, metadata: { ...fresh.metadata, deletionTimestamp: '2026-01-01T00:00:10Z' } });
    await cluster.settle();
    eps = byName(endpointsOf(slices()[0]!));
    assert.deepEqual(eps[b!.metadata.name]!.conditions, { ready: false, serving: true, terminating: true });

    // A pod relabelled out of the selector leaves the slice.
    const relabel = cluster.store.get(PODS, 'default', a!.metadata.name)!;
    cluster.store.update(PODS, { ...relabel, metadata: { ...relabel.metadata, labels: { app: 'other' }, ownerReferences: [] } });
    await cluster.settle();
    eps = byName(endpointsOf(slices()[0]!));
    assert.equal(eps[a!.metadata.name], undefined);

    // The Service's port changes are followed.
    const s = cluster.store.get(SERVICES, 'default', 'helloworld')!;
    cluster.store.update(SERVICES, { ...s, spec: { ...record(s.spec, 'spec'), ports: [{ name: 'web', port: 80, targetPort: 8080, protocol: 'TCP' }] } });
    await cluster.settle();
    for (const sl of slices()) assert.deepEqual(sl.ports, [{ name: 'web', port: 8080, protocol: 'TCP' }]);
    assert.equal(slices().length, 1, 'the old port group slice is replaced, not kept');

    // Deleted with the Service.
    cluster.store.delete(SERVICES, 'default', 'helloworld');
    await cluster.settle();
    assert.equal(slices().length, 0);
    assert.deepEqual(Object.values(cluster.controllers.errors()).reduce((x, y) => x + y, 0), 0, cluster.logs.join('\n'));
  });

  test('no slice for a Service without selector; a selector added later creates one', async () => {
    cluster = startTestCluster();
    cluster.store.create(SERVICES, service('external', undefined, [{ port: 80 }]));
    await cluster.settle();
    assert.equal(slices('external').length, 0);
    const s = cluster.store.get(SERVICES, 'default', 'external')!;
    cluster.store.update(SERVICES, { ...s, spec: { ...record(s.spec, 'spec'), selector: { app: 'x' } } });
    await cluster.settle();
    const [slice] = slices('external');
    assert.ok(slice);
    assert.deepEqual(slice.endpoints, []);
  });

  test('a named port only some pods have splits the endpoints by port set', async () => {
    cluster = startTestCluster();
    cluster.store.create(SERVICES, service('mixed', { tier: 'web' }, [{ name: 'http', port: 80, targetPort: 'http' }]));
    for (const [name, port] of [['p1', 8080], ['p2', 9090]] as const) {
      const pod = cluster.store.create(PODS, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default', labels: { tier: 'web' } },
        spec: { containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: port }] }] },
      });
      setPodStatus(cluster, pod, { ready: true });
    }
    await cluster.settle();
    const got = slices('mixed')
      .map((s) => ({ ports: s.ports, pods: endpointsOf(s).map((e) => e.targetRef.name) }))
      .sort((x, y) => (x.pods[0]! < y.pods[0]! ? -1 : 1));
    assert.deepEqual(got, [
      { ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], pods: ['p1'] },
      { ports: [{ name: 'http', port: 9090, protocol: 'TCP' }], pods: ['p2'] },
    ]);
  });

  test('a Service with a malformed port does not stop the others', async () => {
    cluster = startTestCluster();
    cluster.store.create(SERVICES, service('broken', { app: 'a' }, [{ name: 'x', port: 'eighty' }]));
    cluster.store.create(SERVICES, service('fine', { app: 'a' }, [{ name: 'x', port: 80 }]));
    await cluster.settle();
    assert.equal(slices('broken').length, 0);
    assert.equal(slices('fine').length, 1);
    assert.ok(cluster.logs.some((l) => l.includes('default/broken') && l.includes('spec.ports[0].port')), cluster.logs.join('\n'));
  });
});

describe('planSlices', () => {
  const ep = (i: number): Endpoint => ({
    addresses: [`127.10.0.${i}`],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: 'Pod', namespace: 'default', name: `p${String(i).padStart(3, '0')}`, uid: `u${i}` },
  });
  const ports = [{ name: 'http', port: 80, protocol: 'TCP' }];

  test('at most 100 endpoints per slice, and endpoints stay where they are', () => {
    const all = Array.from({ length: 250 }, (_, i) => ep(i));
    const first = planSlices([{ ports, endpoints: all }], []);
    assert.deepEqual(first.slices.map((s) => s.endpoints.length), [100, 100, 50]);
    assert.deepEqual(first.deletes, []);

    // Pretend the slices were created as s0..s2; remove 10 endpoints from s0 and add 5 new ones.
    const existing = first.slices.map((s, i) => ({ name: `s${i}`, portsKey: portsKey(ports), endpointUids: s.endpoints.map((e) => e.targetRef.uid) }));
    const s0 = new Set(existing[0]!.endpointUids.slice(0, 10));
    const next = all.filter((e) => !s0.has(e.targetRef.uid)).concat([250, 251, 252, 253, 254].map(ep));
    const second = planSlices([{ ports, endpoints: next }], existing);
    assert.deepEqual(second.slices.map((s) => s.name), ['s0', 's1', 's2']);
    assert.deepEqual(second.slices.map((s) => s.endpoints.length), [95, 100, 50]);
    assert.deepEqual(new Set(second.slices[1]!.endpoints.map((e) => e.targetRef.uid)), new Set(existing[1]!.endpointUids), 'an untouched slice keeps its endpoints');
  });

  test('no endpoints: one empty placeholder slice, the rest deleted', () => {
    const plan = planSlices([], [
      { name: 'a', portsKey: '', endpointUids: ['u1'] },
      { name: 'b', portsKey: '', endpointUids: [] },
    ]);
    assert.deepEqual(plan.slices, [{ name: 'a', ports: [], endpoints: [] }]);
    assert.deepEqual(plan.deletes, ['b']);
  });
});
