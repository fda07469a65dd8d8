import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { isRecord } from './read.js';
import { SERVICES } from './resources.js';
import type { TestCluster } from './testing.js';
import { startTestCluster } from './testing.js';

let cluster: TestCluster;
afterEach(() => cluster?.close());

function loadBalancerOf(name: string): unknown {
  const svc = cluster.store.get(SERVICES, 'default', name);
  return svc && isRecord(svc.status) ? svc.status.loadBalancer : undefined;
}

const service = (name: string, type: string, clusterIP = '127.11.0.7') => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { type, clusterIP, ports: [{ port: 80 }] },
});

describe('service load balancer (local clusters)', () => {
  test('a LoadBalancer Service gets its ClusterIP as load-balancer address; a ClusterIP Service gets none', async () => {
    cluster = startTestCluster();
    cluster.store.create(SERVICES, service('gateway', 'LoadBalancer'));
    cluster.store.create(SERVICES, service('plain', 'ClusterIP', '127.11.0.8'));
    await cluster.settle();
    assert.deepEqual(loadBalancerOf('gateway'), { ingress: [{ ip: '127.11.0.7', ipMode: 'VIP' }] });
    assert.equal(loadBalancerOf('plain'), undefined);
  });

  test('changing the type away from LoadBalancer clears the address, and back sets it again', async () => {
    cluster = startTestCluster();
    cluster.store.create(SERVICES, service('gateway', 'LoadBalancer'));
    await cluster.settle();
    const lb = cluster.store.get(SERVICES, 'default', 'gateway')!;
    cluster.store.update(SERVICES, { ...lb, spec: { ...(lb.spec as object), type: 'ClusterIP' } });
    await cluster.settle();
    assert.deepEqual(loadBalancerOf('gateway'), {});
    const plain = cluster.store.get(SERVICES, 'default', 'gateway')!;
    cluster.store.update(SERVICES, { ...plain, spec: { ...(plain.spec as object), type: 'LoadBalancer' } });
    await cluster.settle();
    assert.deepEqual(loadBalancerOf('gateway'), { ingress: [{ ip: '127.11.0.7', ipMode: 'VIP' }] });
  });
});
