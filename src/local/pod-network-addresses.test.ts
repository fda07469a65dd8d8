import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterNetworkBlocks, describeBlock, meshNetworkPlan, nextIpIn } from './pod-network-addresses.js';
import { PodIpAllocator } from './kubelet/ip-allocator.js';

describe('the address plan of pods in network namespaces', () => {
  it('one bridge per mesh, the host as gateway on 10.B.0.1/16, ClusterIPs in 10.(B+1)/16', () => {
    assert.deepEqual(meshNetworkPlan(82), { bridge: 'mw-br82', gateway: '10.82.0.1', gatewayCidr: '10.82.0.1/16', podPrefixLength: 16, serviceCidr: '10.83.0.0/16' });
    assert.throws(() => meshNetworkPlan(255), /subnet base 255 is out of range/);
  });

  it('cluster i gets ten /24s of pods and ten of ClusterIPs at offset s - B', () => {
    const c1 = clusterNetworkBlocks(82, 82);
    const c2 = clusterNetworkBlocks(82, 92);
    assert.equal(describeBlock(c1.pods), '10.82.0.1-10.82.9.254');
    assert.equal(describeBlock(c2.pods), '10.82.10.1-10.82.19.254');
    assert.equal(describeBlock(c2.services), '10.83.10.1-10.83.19.254');
    assert.throws(() => clusterNetworkBlocks(82, 87), /not a cluster of subnet base 82/);
    assert.throws(() => clusterNetworkBlocks(82, 172), /at most 9 clusters/);
  });

  it('ClusterIPs: the lowest free one of the block', () => {
    const block = clusterNetworkBlocks(82, 92).services;
    assert.equal(nextIpIn(block, new Set(), 'ClusterIP'), '10.83.10.1');
    assert.equal(nextIpIn(block, new Set(['10.83.10.1', '10.83.10.2']), 'ClusterIP'), '10.83.10.3');
    const all = new Set<string>();
    for (let t = 10; t < 20; t++) for (let f = 1; f < 255; f++) all.add(`10.83.${t}.${f}`);
    assert.throws(() => nextIpIn(block, all, 'ClusterIP'), /no free ClusterIP left in 10\.83\.10\.1-10\.83\.19\.254/);
  });

  it('pod IPs of the block: never the gateway, round robin, other blocks not in range', () => {
    const c1 = new PodIpAllocator(82, clusterNetworkBlocks(82, 82).pods);
    assert.equal(c1.allocate('a', new Set()), '10.82.0.2');
    assert.equal(c1.allocate('b', new Set(['10.82.0.3'])), '10.82.0.4');
    assert.ok(c1.inRange('10.82.9.254'));
    assert.ok(!c1.inRange('10.82.10.2'), 'cluster-2\'s block');
    assert.ok(!c1.inRange('127.82.0.2'));
    const c2 = new PodIpAllocator(92, clusterNetworkBlocks(82, 92).pods);
    assert.equal(c2.allocate('c', new Set()), '10.82.10.2');
    assert.equal(c2.allocate('d', new Set(), '10.82.12.7'), '10.82.12.7', 'the IP a pod had is kept');
  });
});
