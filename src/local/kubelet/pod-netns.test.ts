import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerUser, inPodNetwork, wantsOwnNetwork } from './pod-netns.js';
import { cidrsOverlap, conflictingRoutes } from './pod-network-host.js';
import type { Pod } from './pod-types.js';

function pod(annotations: Record<string, string>, extra: Record<string, unknown> = {}): Pod {
  return { metadata: { name: 'p', namespace: 'sample', uid: 'u', annotations }, spec: { containers: [{ name: 'app' }], ...extra } } as unknown as Pod;
}

describe('pods in network namespaces of their own', () => {
  it('pods the injector captured (REDIRECT) and gateways (a proxy alone), never hostNetwork ones', () => {
    assert.equal(wantsOwnNetwork(pod({ 'sidecar.istio.io/interceptionMode': 'REDIRECT' })), true);
    assert.equal(wantsOwnNetwork(pod({}, { containers: [{ name: 'istio-proxy' }] })), true, 'a gateway');
    assert.equal(wantsOwnNetwork(pod({}, { containers: [{ name: 'discovery' }] })), false, 'the control plane');
    assert.equal(wantsOwnNetwork(pod({ 'sidecar.istio.io/interceptionMode': 'NONE' }, { containers: [{ name: 'app' }, { name: 'istio-proxy' }] })), false, 'a sidecar pod that opted out keeps http_proxy on loopback');
    assert.equal(wantsOwnNetwork(pod({ 'sidecar.istio.io/interceptionMode': 'NONE' })), false);
    assert.equal(wantsOwnNetwork(pod({})), false);
    assert.equal(wantsOwnNetwork(pod({ 'sidecar.istio.io/interceptionMode': 'REDIRECT' }, { hostNetwork: true })), false);
  });

  it("a container's user: its securityContext, else the pod's; root needs no setpriv", () => {
    const p = pod({}, { securityContext: { runAsUser: 1000 } });
    assert.deepEqual(containerUser(p, { name: 'istio-proxy', securityContext: { runAsUser: 1337, runAsGroup: 1337 } } as never), { uid: 1337, gid: 1337 });
    assert.deepEqual(containerUser(p, { name: 'app' }), { uid: 1000, gid: 1000 });
    assert.equal(containerUser(pod({}), { name: 'istio-init', securityContext: { runAsUser: 0, runAsGroup: 0 } } as never), undefined);
    assert.deepEqual(inPodNetwork('mw-abc', { uid: 1337, gid: 1337 }, ['node', 'x.js']), ['ip', 'netns', 'exec', 'mw-abc', 'setpriv', '--reuid=1337', '--regid=1337', '--clear-groups', 'node', 'x.js']);
    assert.deepEqual(inPodNetwork('mw-abc', undefined, ['sh']), ['ip', 'netns', 'exec', 'mw-abc', 'sh']);
  });

  it('refuses ranges that overlap routes of the host, but not its own', () => {
    assert.ok(cidrsOverlap('10.82.0.0/16', '10.82.5.0/24'));
    assert.ok(!cidrsOverlap('10.82.0.0/16', '10.83.0.0/16'));
    const table = [
      'default via 172.17.0.1 dev eth0',
      '10.82.5.0/24 dev eth1 proto kernel scope link src 10.82.5.7',
      '10.82.0.0/16 dev mw-br82 proto kernel scope link src 10.82.0.1',
      'local 10.83.0.0/16 dev lo table local scope host',
      'local 10.82.0.1 dev mw-br82 table local proto kernel scope host src 10.82.0.1',
      '172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2',
    ].join('\n');
    assert.deepEqual(conflictingRoutes('10.82.0.0/16', 'mw-br82', table), ['10.82.5.0/24 dev eth1 proto kernel scope link src 10.82.5.7']);
    assert.deepEqual(conflictingRoutes('10.83.0.0/16', 'mw-br82', table), []);
  });
});
