// Locality load balancing as Istio translates it, without Istio's trap: the calling proxy's locality
// decides the priorities of every member cluster's endpoints; `failover`, `failoverPriority` (with
// topology.istio.io/cluster) and `distribute` as loadbalancer.go applies them; outlierDetection not needed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MeshEndpoint } from '../registry/model.js';
import type { ClusterLoadAssignment } from './envoy-types.js';
import { applyLocalityLb, localityLbPlan, localityMatches, type LocalityGroup, type ProxyTopology } from './locality-lb.js';
import { simulate } from './simulate.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters, scenarioFile } from './testdata/fixture.js';
import { analyze, MeshTranslator } from './translate.js';

const HW = 'outbound|5000||helloworld.sample.svc.cluster.local';

/** The scenario with helloworld v1 in both clusters (and v2 in cluster-2), plus `yaml` in namespace sample of both. */
function mesh(yaml: string) {
  const clusters = scenarioClusters();
  clusters[1]!.apply('sample', scenarioFile('helloworld.yaml'), (o) => o.metadata.labels?.version === 'v1');
  if (yaml) for (const c of clusters) c.apply('sample', parseYaml(yaml, 'test'));
  const snapshot = buildSnapshot(clusters);
  const translator = new MeshTranslator(snapshot);
  const sleep = (i: 0 | 1) => translator.translate(proxyFor(clusters[i]!.pod('sleep'), 'sidecar'));
  return { snapshot, translator, clusters, sleep };
}

/** zone -> priority of a load assignment (every zone once). */
function priorities(cla: ClusterLoadAssignment | undefined): Record<string, number> {
  return Object.fromEntries((cla?.endpoints ?? []).map((l) => [l.locality?.zone ?? '', l.priority ?? 0]));
}

const rule = (policy: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy:
${policy}
`;

describe('locality load balancing in translation', () => {
  it('without a localityLbSetting or outlierDetection every locality stays at priority 0 (Istio: traffic spreads over clusters)', () => {
    const m = mesh('');
    const cla = m.sleep(0).endpoints.find((e) => e.cluster_name === HW);
    assert.deepEqual(priorities(cla), { 'cluster-1': 0, 'cluster-2': 0 });
    assert.equal(m.sleep(0).clusters.find((c) => c.name === HW)?.common_lb_config, undefined);
  });

  it('a written localityLbSetting applies without outlierDetection: the caller\'s own locality first, per caller', () => {
    const m = mesh(rule('    loadBalancer: {localityLbSetting: {enabled: true}}'));
    assert.deepEqual(priorities(m.sleep(0).endpoints.find((e) => e.cluster_name === HW)), { 'cluster-1': 0, 'cluster-2': 1 });
    assert.deepEqual(priorities(m.sleep(1).endpoints.find((e) => e.cluster_name === HW)), { 'cluster-1': 1, 'cluster-2': 0 });
    // enabled alone: the default failover, and no locality weights (as Istio).
    assert.equal(m.sleep(0).clusters.find((c) => c.name === HW)?.common_lb_config, undefined);
    // Two scopes now (one per locality), and the simulation sees the priorities.
    const routed = simulate(m.sleep(0), { listenerPort: 'http_proxy', host: 'helloworld.sample:5000', path: '/hello' });
    assert.deepEqual(routed.clusters[0]?.endpoints.map((e) => [e.cluster, e.priority]).sort(), [['cluster-1', 0], ['cluster-2', 1], ['cluster-2', 1]]);
  });

  it('outlierDetection alone applies Istio\'s default (mesh-wide locality LB on); enabled: false turns it off', () => {
    const od = '    outlierDetection: {consecutive5xxErrors: 5}\n';
    assert.deepEqual(priorities(mesh(rule(od)).sleep(1).endpoints.find((e) => e.cluster_name === HW)), { 'cluster-1': 1, 'cluster-2': 0 });
    const off = mesh(rule(`${od}    loadBalancer: {localityLbSetting: {enabled: false}}`));
    assert.deepEqual(priorities(off.sleep(1).endpoints.find((e) => e.cluster_name === HW)), { 'cluster-1': 0, 'cluster-2': 0 });
  });

  it('failoverPriority [topology.istio.io/cluster]: own cluster first, locality weighted; subsets too', () => {
    const m = mesh(`${rule('    loadBalancer: {localityLbSetting: {failoverPriority: [topology.istio.io/cluster]}}')}  subsets: [{name: v1, labels: {version: v1}}]\n`);
    const sleep2 = m.sleep(1);
    assert.deepEqual(priorities(sleep2.endpoints.find((e) => e.cluster_name === HW)), { 'cluster-1': 1, 'cluster-2': 0 });
    assert.deepEqual(priorities(sleep2.endpoints.find((e) => e.cluster_name === 'outbound|5000|v1|helloworld.sample.svc.cluster.local')), { 'cluster-1': 1, 'cluster-2': 0 });
    assert.deepEqual(sleep2.clusters.find((c) => c.name === HW)?.common_lb_config, { locality_weighted_lb_config: {} });
    // Locality weights count every endpoint: Envoy scales them by health itself.
    assert.deepEqual(sleep2.endpoints.find((e) => e.cluster_name === HW)?.endpoints.map((l) => l.load_balancing_weight?.value), [1, 2]);
  });

  it('analyze: failover by readiness is an info without outlierDetection; a setting over one locality has no effect', () => {
    const both = analyze(mesh(rule('    loadBalancer: {localityLbSetting: {enabled: true}}')).snapshot).filter((p) => p.code.startsWith('locality'));
    assert.deepEqual(both.map((p) => `${p.severity} ${p.code} ${p.field}`), ['info locality-failover-by-readiness spec.trafficPolicy.loadBalancer.localityLbSetting']);
    const withOd = analyze(mesh(rule('    loadBalancer: {localityLbSetting: {enabled: true}}\n    outlierDetection: {consecutive5xxErrors: 1}')).snapshot).filter((p) => p.code.startsWith('locality'));
    assert.deepEqual(withOd, []);
    // Subset v2 runs in cluster-2 only.
    const one = mesh(`${rule('    outlierDetection: {consecutive5xxErrors: 1}')}  subsets:\n  - name: v2\n    labels: {version: v2}\n    trafficPolicy: {loadBalancer: {localityLbSetting: {failover: [{from: local, to: other}]}}}\n`);
    assert.deepEqual(analyze(one.snapshot).filter((p) => p.code.startsWith('locality')).map((p) => `${p.severity} ${p.code} ${p.field}`), [
      'warning locality-lb-no-effect spec.subsets[0].trafficPolicy.loadBalancer.localityLbSetting',
    ]);
  });

  it('retryRemoteLocalities: Envoy\'s previous_priorities retry priority, every second attempt (as Istio)', () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - route: [{destination: {host: helloworld}}]
    retries: {attempts: 2, retryRemoteLocalities: true}
`;
    const routed = simulate(mesh(vs).sleep(0), { listenerPort: 'http_proxy', host: 'helloworld.sample:5000', path: '/hello' });
    const action = routed.routeEntry && 'route' in routed.routeEntry ? routed.routeEntry.route : undefined;
    assert.deepEqual(action?.retry_policy?.retry_priority, {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', update_frequency: 2 },
    });
  });

  it('the proxy\'s locality: its pod\'s topology labels win over its endpoints\' (the node\'s)', () => {
    const m = mesh(rule('    loadBalancer: {localityLbSetting: {enabled: true}}'));
    const proxy = { ...proxyFor(m.clusters[0]!.pod('sleep'), 'sidecar'), locality: { region: 'local', zone: 'cluster-2' } };
    assert.deepEqual(priorities(m.translator.translate(proxy).endpoints.find((e) => e.cluster_name === HW)), { 'cluster-1': 1, 'cluster-2': 0 });
  });
});

describe('loadbalancer.go semantics, on locality groups', () => {
  const ep = (region: string, zone: string, subZone = '', extra: Partial<MeshEndpoint> = {}): MeshEndpoint => ({
    hostname: 'h', cluster: extra.cluster ?? 'c1', address: '10.0.0.1', ports: {}, labels: {}, locality: { region, zone, ...(subZone ? { subZone } : {}) }, ready: true, namespace: 'n', hasSidecar: true, ...extra,
  });
  const groups = (...eps: MeshEndpoint[]): LocalityGroup[] => eps.map((e) => ({ locality: e.locality, endpoints: [e], priority: 0 }));
  const proxy = (region: string, zone: string, subZone = '', extra: Partial<ProxyTopology> = {}): ProxyTopology => ({ locality: { region, zone, ...(subZone ? { subZone } : {}) }, cluster: 'c1', labels: {}, ...extra });
  const plan = (setting: object) => localityLbPlan({ loadBalancer: { localityLbSetting: setting } })!;
  const count = () => 1;

  it('proximity: subzone 0, zone 1, region 2, elsewhere 3, renumbered without gaps', () => {
    const out = applyLocalityLb(groups(ep('r1', 'z1', 's1'), ep('r1', 'z1', 's2'), ep('r1', 'z2'), ep('r2', 'z9')), plan({}), proxy('r1', 'z1', 's1'), count);
    assert.deepEqual(out.map((g) => g.priority), [0, 1, 2, 3]);
    const gaps = applyLocalityLb(groups(ep('r1', 'z1', 's1'), ep('r2', 'z9')), plan({}), proxy('r1', 'z1', 's1'), count);
    assert.deepEqual(gaps.map((g) => g.priority), [0, 1]);
  });

  it('failover: the `to` region before every other region', () => {
    const out = applyLocalityLb(groups(ep('us', 'a'), ep('eu', 'b'), ep('ap', 'c')), plan({ failover: [{ from: 'us', to: 'ap' }] }), proxy('us', 'a'), count);
    assert.deepEqual(out.map((g) => [g.locality.region, g.priority]), [['us', 0], ['eu', 2], ['ap', 1]]);
  });

  it('failoverPriority: label match order (a workload label, then the cluster; `name=value` overrides the proxy\'s value)', () => {
    const eps = [
      ep('us', 'a', '', { cluster: 'c1', labels: { tier: 'gold' }, address: '1' }),
      ep('us', 'a', '', { cluster: 'c2', labels: { tier: 'gold' }, address: '2' }),
      ep('us', 'a', '', { cluster: 'c2', labels: { tier: 'silver' }, address: '3' }),
    ];
    const one = [{ locality: eps[0]!.locality, endpoints: eps, priority: 0 }];
    const out = applyLocalityLb(one, plan({ failoverPriority: ['tier', 'topology.istio.io/cluster'] }), proxy('us', 'a', '', { labels: { tier: 'gold' } }), count);
    assert.deepEqual(out.map((g) => [g.endpoints.map((e) => e.address).join(), g.priority]), [['1', 0], ['2', 1], ['3', 2]]);
    // The first label that differs decides: both c2 endpoints differ in the cluster already.
    const clusterFirst = applyLocalityLb([{ locality: eps[0]!.locality, endpoints: eps, priority: 0 }], plan({ failoverPriority: ['topology.istio.io/cluster', 'tier'] }), proxy('us', 'a', '', { labels: { tier: 'gold' } }), count);
    assert.deepEqual(clusterFirst.map((g) => [g.endpoints.map((e) => e.address).join(), g.priority]), [['1', 0], ['2,3', 1]]);
    const overridden = applyLocalityLb([{ locality: eps[0]!.locality, endpoints: eps, priority: 0 }], plan({ failoverPriority: ['tier=silver'] }), proxy('us', 'a', '', { labels: { tier: 'gold' } }), count);
    assert.deepEqual(overridden.map((g) => [g.endpoints.map((e) => e.address).join(), g.priority]), [['3', 0], ['1,2', 1]]);
  });

  it('distribute: `to` weights shared by matching localities in proportion, the rest dropped; the first matching `from` wins', () => {
    const out = applyLocalityLb(
      groups(ep('us', 'a'), ep('us', 'b'), ep('eu', 'c'), ep('ap', 'd')),
      plan({ distribute: [{ from: 'us/a/*', to: { 'us/*': 80, 'eu/c': 20 } }, { from: '*', to: { 'ap/*': 100 } }] }),
      proxy('us', 'a'),
      count,
    );
    assert.deepEqual(out.map((g) => [g.locality.zone, g.weight, g.priority]), [['a', 40, 0], ['b', 40, 0], ['c', 20, 0]]);
    assert.ok(localityMatches({ region: 'us', zone: 'a' }, 'us'));
    assert.ok(!localityMatches({ region: 'us', zone: 'a', subZone: 's' }, 'us/a/t'));
  });
});

describe('subsets selecting a member cluster', () => {
  it('topology.istio.io/cluster selects that cluster\'s endpoints (Istio augments endpoint labels); the analyzer finds them', () => {
    const m = mesh(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  subsets:
  - {name: cluster-1, labels: {topology.istio.io/cluster: cluster-1}}
  - {name: cluster-2, labels: {topology.istio.io/cluster: cluster-2, version: v2}}
`);
    const zones = (subset: string) => (m.sleep(0).endpoints.find((e) => e.cluster_name === `outbound|5000|${subset}|helloworld.sample.svc.cluster.local`)?.endpoints ?? []).map((l) => [l.locality?.zone, l.lb_endpoints.length]);
    assert.deepEqual(zones('cluster-1'), [['cluster-1', 1]]);
    assert.deepEqual(zones('cluster-2'), [['cluster-2', 1]]);
    assert.deepEqual(analyze(m.snapshot).filter((p) => p.code === 'subset-selects-nothing'), []);
  });
});
