import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goArch, leaseObject, microTime, nodeObject, nodeStatus, type NodeFacts } from './node-object.js';

const facts: NodeFacts = {
  nodeName: 'cluster-1-node',
  hostIp: '127.10.0.1',
  kubeletPort: 10250,
  machine: { cpus: 2, memoryBytes: 8 * 1024 ** 3, arch: 'x64', kernelVersion: '6.1.0', osImage: 'Debian GNU/Linux 12 (bookworm)', machineID: 'm1', bootID: 'b1' },
};

describe('the Node and Lease a joining node writes', () => {
  it('the Node carries the well-known labels with Go architecture names', () => {
    const node = nodeObject(facts) as { metadata: { name: string; labels: Record<string, string> } };
    assert.equal(node.metadata.name, 'cluster-1-node');
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'cluster-1-node');
    assert.equal(node.metadata.labels['kubernetes.io/arch'], 'amd64');
    assert.equal(node.metadata.labels['kubernetes.io/os'], 'linux');
    assert.equal(goArch('arm64'), 'arm64');
    assert.equal(goArch('ia32'), '386');
  });

  it('the status: Ready with a heartbeat, no pressure, InternalIP, capacity, kubelet v1.34.4 and its port', () => {
    const status = nodeStatus(facts, { readySince: Date.UTC(2026, 0, 1), now: Date.UTC(2026, 0, 1, 0, 5) }) as {
      conditions: Array<{ type: string; status: string; lastHeartbeatTime: string; lastTransitionTime: string }>;
      addresses: Array<{ type: string; address: string }>;
      capacity: Record<string, string>;
      allocatable: Record<string, string>;
      daemonEndpoints: { kubeletEndpoint: { Port: number } };
      nodeInfo: Record<string, string>;
    };
    assert.deepEqual(status.conditions.map((c) => `${c.type}=${c.status}`), ['MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False', 'Ready=True']);
    const ready = status.conditions.find((c) => c.type === 'Ready')!;
    assert.equal(ready.lastHeartbeatTime, '2026-01-01T00:05:00Z');
    assert.equal(ready.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.deepEqual(status.addresses, [{ type: 'InternalIP', address: '127.10.0.1' }, { type: 'Hostname', address: 'cluster-1-node' }]);
    assert.equal(status.capacity.cpu, '2');
    assert.equal(status.capacity.memory, `${8 * 1024 * 1024}Ki`);
    assert.equal(status.capacity.pods, '110');
    assert.deepEqual(status.allocatable, status.capacity);
    assert.equal(status.daemonEndpoints.kubeletEndpoint.Port, 10250);
    assert.equal(status.nodeInfo.kubeletVersion, 'v1.34.4');
    assert.equal(status.nodeInfo.architecture, 'amd64');
    assert.equal(status.nodeInfo.operatingSystem, 'linux');
  });

  it('the Lease: held by the node for 40 s, renewed with a MicroTime, owned by the Node', () => {
    const lease = leaseObject('cluster-1-node', 'node-uid', Date.UTC(2026, 0, 1, 0, 0, 1, 234)) as {
      metadata: { namespace: string; name: string; ownerReferences: Array<{ kind: string; uid: string }> };
      spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string };
    };
    assert.equal(lease.metadata.namespace, 'kube-node-lease');
    assert.equal(lease.metadata.name, 'cluster-1-node');
    assert.deepEqual(lease.metadata.ownerReferences.map((o) => [o.kind, o.uid]), [['Node', 'node-uid']]);
    assert.deepEqual(lease.spec, { holderIdentity: 'cluster-1-node', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:01.234000Z' });
    assert.equal(microTime(0), '1970-01-01T00:00:00.000000Z');
  });
});
