// From the scenario's YAML to the expected split: translate for the sleep pod's sidecar, dump as the
// control plane and as the proxy (protobuf round trip) would, parse the dump back, and derive shares.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MeshSnapshot } from '../registry/model.js';
import { buildSnapshot, proxyFor, scenarioClusters, type ScenarioRule } from '../translate/testdata/fixture.js';
import { translate } from '../translate/translate.js';
import { TYPE_URLS } from '../xds/protos.js';
import { asProxyResources, parseConfigDump } from './config-dump.js';
import { expectedSplit, groupShares, subsetOf } from './expected-split.js';
import { EndpointDirectory, parseRegistry } from './registry.js';
import { controlPlaneDump, proxyDump, registryBody } from './testdata/dumps.js';

const HELLO = { host: 'helloworld.sample:5000', path: '/hello' };

function scenario(rules: ScenarioRule[], edit: (s: MeshSnapshot) => MeshSnapshot = (s) => s) {
  const clusters = scenarioClusters(rules);
  const snapshot = edit(buildSnapshot(clusters));
  const resources = translate(snapshot, proxyFor(clusters[0].pod('sleep'), 'sidecar'));
  return { resources, directory: new EndpointDirectory(parseRegistry(registryBody(snapshot))), snapshot };
}

const rounded = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));

describe('expected split from a config_dump', () => {
  for (const [shape, dumpOf] of [['control plane', controlPlaneDump], ['proxy', proxyDump]] as const) {
    it(`80/20 canary, ${shape} dump: v1 80%, v2 20%, by cluster and instance too`, () => {
      const { resources, directory } = scenario(['destinationrule', 'virtualservice']);
      const split = expectedSplit(asProxyResources(parseConfigDump(dumpOf(resources))), HELLO, directory);
      assert.equal(split.routeConfig, 'http_proxy');
      assert.equal(split.virtualHost, 'helloworld.sample.svc.cluster.local:5000');
      assert.deepEqual(split.weights, [
        ['outbound|5000|v1|helloworld.sample.svc.cluster.local', 80],
        ['outbound|5000|v2|helloworld.sample.svc.cluster.local', 20],
      ]);
      assert.deepEqual(rounded(groupShares(split, 'version')), { v1: 0.8, v2: 0.2 });
      assert.deepEqual(rounded(groupShares(split, 'cluster')), { 'cluster-1': 0.8, 'cluster-2': 0.2 });
      assert.deepEqual(rounded(groupShares(split, 'instance')), { 'helloworld-v1-c1-0': 0.8, 'helloworld-v2-c2-0': 0.2 });
      assert.equal(split.failShare, 0);
    });
  }

  it('no rules: one cluster over both clusters\' endpoints, 50/50 by endpoint', () => {
    const { resources, directory } = scenario([]);
    const split = expectedSplit(asProxyResources(parseConfigDump(proxyDump(resources))), HELLO, directory);
    assert.deepEqual(split.weights, [['outbound|5000||helloworld.sample.svc.cluster.local', 100]]);
    assert.deepEqual(rounded(groupShares(split, 'version')), { v1: 0.5, v2: 0.5 });
    assert.deepEqual(rounded(groupShares(split, 'cluster')), { 'cluster-1': 0.5, 'cluster-2': 0.5 });
  });

  it('without the registry, versions come from subset names, or are unknown', () => {
    const canary = scenario(['destinationrule', 'virtualservice']);
    assert.deepEqual(rounded(groupShares(expectedSplit(canary.resources, HELLO, undefined), 'version')), { v1: 0.8, v2: 0.2 });
    const plain = scenario([]);
    assert.deepEqual(rounded(groupShares(expectedSplit(plain.resources, HELLO, undefined), 'version')), { unknown: 1 });
  });

  it('a subset without endpoints: its share fails, the rest is normalized', () => {
    const { resources, directory } = scenario(['destinationrule', 'virtualservice'], (s) => ({ ...s, endpoints: s.endpoints.filter((e) => e.labels.version !== 'v2') }));
    const split = expectedSplit(resources, HELLO, directory);
    assert.ok(Math.abs(split.failShare - 0.2) < 1e-9);
    assert.deepEqual(rounded(groupShares(split, 'version')), { v1: 1 });
    assert.match(split.notes.join('\n'), /outbound\|5000\|v2\|helloworld.* has no endpoints: its 20\.0% of requests fail/);
  });

  it('a subset no DestinationRule defines: its share fails with 503 (the route names a cluster that does not exist)', () => {
    // The DestinationRule loses subset v2; the VirtualService still sends 20% there, as Istio keeps it.
    const { resources, directory } = scenario(['destinationrule', 'virtualservice'], (s) => ({
      ...s,
      destinationRules: s.destinationRules.map((r) => ({ ...r, spec: { ...r.spec, subsets: (r.spec.subsets ?? []).filter((x) => x.name !== 'v2') } })),
    }));
    const split = expectedSplit(asProxyResources(parseConfigDump(proxyDump(resources))), HELLO, directory);
    assert.deepEqual(split.weights.map(([, w]) => w), [80, 20]);
    assert.ok(Math.abs(split.failShare - 0.2) < 1e-9);
    assert.deepEqual(rounded(groupShares(split, 'version')), { v1: 1 });
    assert.match(split.notes.join('\n'), /outbound\|5000\|v2\|helloworld.* does not exist .*20\.0% of requests fail with 503/);
  });

  it('locality priorities: the caller\'s own cluster takes all while ready, the other cluster once it is not (proxy dump)', () => {
    const withLocality = (s: MeshSnapshot): MeshSnapshot => ({
      ...s,
      destinationRules: [{ name: 'helloworld', namespace: 'sample', cluster: 'cluster-1', spec: { host: 'helloworld', trafficPolicy: { loadBalancer: { localityLbSetting: { failoverPriority: ['topology.istio.io/cluster'] } } } } }],
    });
    const local = scenario([], withLocality);
    const split = expectedSplit(asProxyResources(parseConfigDump(proxyDump(local.resources))), HELLO, local.directory);
    assert.deepEqual(rounded(groupShares(split, 'cluster')), { 'cluster-1': 1 });
    assert.match(split.notes.join('\n'), /endpoints in 2 priorities \(locality load balancing\)/);
    const failing = scenario([], (s) => withLocality({ ...s, endpoints: s.endpoints.map((e) => (e.cluster === 'cluster-1' && e.labels.app === 'helloworld' ? { ...e, ready: false } : e)) }));
    assert.deepEqual(rounded(groupShares(expectedSplit(failing.resources, HELLO, failing.directory), 'cluster')), { 'cluster-2': 1 });
  });

  it('a host no route serves is an error that names how far the walk got', () => {
    const { resources } = scenario([]);
    assert.throws(() => expectedSplit(resources, { host: 'nosuch.sample:5000', path: '/' }, undefined), /does not route nosuch\.sample:5000\/: no-virtual-host \(listener .*, route config http_proxy\)/);
  });

  it('subset names from Istio cluster names', () => {
    assert.equal(subsetOf('outbound|5000|v1|helloworld.sample.svc.cluster.local'), 'v1');
    assert.equal(subsetOf('outbound|5000||helloworld.sample.svc.cluster.local'), undefined);
    assert.equal(subsetOf('BlackHoleCluster'), undefined);
  });
});

describe('parseConfigDump', () => {
  it('rejects what is not a dump, notes rejected updates, fills proto3 defaults', () => {
    assert.throws(() => parseConfigDump({ foo: 1 }), /not an Envoy config_dump/);
    const parsed = parseConfigDump({
      configs: [
        { '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', version_info: '7', dynamic_active_clusters: [{ cluster: { '@type': TYPE_URLS.cluster, name: 'inbound|80||' }, error_state: { details: 'bad cluster' } }] },
        { '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump', dynamic_route_configs: [{ version_info: '3', route_config: { name: 'http_proxy' } }] },
      ],
    });
    assert.deepEqual(parsed.clusters, [{ name: 'inbound|80||', type: 'STATIC' }]);
    assert.deepEqual(parsed.routes, [{ name: 'http_proxy', virtual_hosts: [] }]);
    assert.deepEqual(parsed.versions, { listeners: '', routes: '3', clusters: '7', endpoints: '' });
    assert.deepEqual(parsed.rejected, ['cluster inbound|80||: bad cluster']);
  });
});
