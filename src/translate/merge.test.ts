// Istio's merge and precedence semantics: VirtualServices sharing a gateway host are merged into one
// virtual host; a destination whose subset or host does not exist keeps its route (that share fails
// with 503); duplicate subset names; which DestinationRule applies when several name the same host.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProxyIdentity } from '../registry/model.js';
import type { Problem } from '../config/problems.js';
import { danglingReferences, simulate } from './simulate.js';
import { buildSnapshot, MISSING_SUBSET_CANARY, parseYaml, proxyFor, scenarioClusters, type ScenarioRule } from './testdata/fixture.js';
import { analyze, translate } from './translate.js';

const HW = 'helloworld.sample.svc.cluster.local';
const cluster = (port: number, subset: string, host = HW) => `outbound|${port}|${subset}|${host}`;

function withConfig(yaml: string, rules: ScenarioRule[] = ['destinationrule']) {
  const clusters = scenarioClusters(rules);
  for (const c of clusters) c.apply('sample', parseYaml(yaml, 'test config'));
  const snapshot = buildSnapshot(clusters);
  const sleep = proxyFor(clusters[0].pod('sleep'), 'sidecar');
  return {
    snapshot,
    sidecar: (override: Partial<ProxyIdentity> = {}) => translate(snapshot, { ...sleep, ...override }),
    router: () => translate(snapshot, proxyFor(clusters[0].pod('istio-ingressgateway'), 'router')),
    proxyless: () => translate(snapshot, { ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc' }),
  };
}

function brief(problems: Problem[]): string[] {
  return problems.map((p) => `${p.severity} ${p.code} ${p.kind} ${p.namespace}/${p.name} ${p.field}`);
}

function gatewayVs(name: string, http: string, created?: string, hosts = '["*"]'): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ${name}${created ? `, creationTimestamp: "${created}"` : ''}}
spec:
  hosts: ${hosts}
  gateways: [helloworld-gateway]
  http:
${http}`;
}

/** The scenario's Gateway alone (its VirtualService left out). */
const GATEWAY = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: helloworld-gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
`;

/** A call to host H path P through the ingress gateway's port 80. */
function viaGateway(resources: ReturnType<typeof translate>, path: string, host = 'example.com') {
  return simulate(resources, { listenerPort: 80, host, path });
}

describe('VirtualServices bound to one Gateway with overlapping hosts are merged (Istio)', () => {
  it('both "*": the scenario\'s /hello and another VirtualService\'s catch-all are both served', () => {
    // The catch-all comes from the older VirtualService, yet /hello still reaches its route:
    // Istio moves catch-all routes to the end of a merged virtual host.
    const m = withConfig(`${gatewayVs('everything-else', '  - route: [{destination: {host: helloworld, subset: v2}}]', '2020-01-01T00:00:00Z')}
---
${gatewayVs('helloworld-gateway', `  - match: [{uri: {exact: /hello}}]
    route: [{destination: {host: helloworld, subset: v1}}]`, '2021-01-01T00:00:00Z')}`, ['destinationrule', 'gateway']);
    const r = m.router();
    assert.deepEqual(brief(r.problems), []);
    const hello = viaGateway(r, '/hello');
    assert.equal(hello.outcome, 'routed');
    assert.equal(hello.virtualHost, '*:80');
    assert.equal(hello.route, 'sample/helloworld-gateway/http[0]');
    assert.deepEqual(hello.clusters.map((c) => c.name), [cluster(5000, 'v1')]);
    const other = viaGateway(r, '/other');
    assert.equal(other.route, 'sample/everything-else/http[0]');
    assert.deepEqual(other.clusters.map((c) => c.name), [cluster(5000, 'v2')]);
    const vhosts = r.routes.find((c) => c.name === 'http.80')!.virtual_hosts;
    assert.deepEqual(vhosts.map((v) => v.name), ['*:80'], 'one virtual host for the merged host');
    assert.deepEqual(danglingReferences(r), []);
    assert.ok(!brief(analyze(m.snapshot)).some((p) => p.includes('duplicate')));
  });

  it('the same path in both: the older VirtualService wins, whatever the names', () => {
    const config = (oldName: string, newName: string, oldAt: string, newAt: string) =>
      `${gatewayVs(newName, `  - match: [{uri: {exact: /hello}}]
    route: [{destination: {host: helloworld, subset: v2}}]`, newAt)}
---
${gatewayVs(oldName, `  - match: [{uri: {exact: /hello}}]
    route: [{destination: {host: helloworld, subset: v1}}]`, oldAt)}`;
    // zz-old is older than aa-new: creation time decides before the name.
    let r = withConfig(GATEWAY + config('zz-old', 'aa-new', '2020-01-01T00:00:00Z', '2021-01-01T00:00:00Z')).router();
    assert.deepEqual(viaGateway(r, '/hello').clusters.map((c) => c.name), [cluster(5000, 'v1')]);
    assert.equal(viaGateway(r, '/hello').route, 'sample/zz-old/http[0]');
    // Same creation time: by name.
    r = withConfig(GATEWAY + config('zz-old', 'aa-new', '2021-01-01T00:00:00Z', '2021-01-01T00:00:00Z')).router();
    assert.equal(viaGateway(r, '/hello').route, 'sample/aa-new/http[0]');
    assert.deepEqual(viaGateway(r, '/hello').clusters.map((c) => c.name), [cluster(5000, 'v2')]);
  });

  it('one VirtualService: routes after its catch-all are left out, so the catch-all is not moved past them', () => {
    const r = withConfig(GATEWAY + gatewayVs('helloworld-gateway', `  - route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {exact: /hello}}]
    route: [{destination: {host: helloworld, subset: v2}}]`)).router();
    assert.deepEqual(brief(r.problems), []);
    assert.deepEqual(viaGateway(r, '/hello').clusters.map((c) => c.name), [cluster(5000, 'v1')], 'unreachable in Envoy before, unreachable now');
    assert.deepEqual(r.routes.find((c) => c.name === 'http.80')!.virtual_hosts[0].routes.map((x) => x.name), ['sample/helloworld-gateway/http[0]']);
  });

  it('a specific host and "*": each keeps its own virtual host; the specific one is not merged into "*"', () => {
    const m = withConfig(gatewayVs('named', `  - match: [{uri: {prefix: /named}}]
    route: [{destination: {host: helloworld, subset: v2}}]`, undefined, '[hello.example.com]'), ['destinationrule', 'gateway']);
    const r = m.router();
    assert.equal(viaGateway(r, '/named', 'hello.example.com').route, 'sample/named/http[0]');
    assert.equal(viaGateway(r, '/hello', 'hello.example.com').outcome, 'no-route', 'Envoy picks the most specific domain');
    assert.equal(viaGateway(r, '/hello').route, 'sample/helloworld-gateway/http[0]', 'the scenario\'s * virtual host');
  });
});

describe('sidecars: VirtualServices for the same host are not merged; the oldest wins (Istio)', () => {
  it('the older VirtualService serves the host, whatever the names; the other is reported', () => {
    const meshVs = (name: string, subset: string, created: string) => `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ${name}, creationTimestamp: "${created}"}
spec:
  hosts: [helloworld]
  http: [{route: [{destination: {host: helloworld, subset: ${subset}}}]}]`;
    const r = withConfig(`${meshVs('aa-new', 'v2', '2021-01-01T00:00:00Z')}\n---\n${meshVs('zz-old', 'v1', '2020-01-01T00:00:00Z')}`).sidecar();
    const result = simulate(r, { listenerPort: 'http_proxy', host: 'helloworld.sample:5000', path: '/hello' });
    assert.deepEqual(result.clusters.map((c) => c.name), [cluster(5000, 'v1')]);
    assert.deepEqual(brief(r.problems), ['warning duplicate-host VirtualService sample/aa-new spec.hosts']);
  });
});

describe('a destination whose subset does not exist keeps its route and its share (Istio)', () => {
  const canary = MISSING_SUBSET_CANARY;

  it('sidecar and proxyless: v1 80, v3 20 where v3 names a cluster that does not exist (503 NC for that share)', () => {
    const m = withConfig(canary);
    for (const [resources, request] of [
      [m.sidecar(), { listenerPort: 'http_proxy' as const }],
      [m.proxyless(), { listenerName: 'helloworld.sample:5000' }],
    ] as const) {
      assert.deepEqual(brief(resources.problems), ['error unknown-subset VirtualService sample/helloworld spec.http[0].route[1].destination.subset']);
      assert.match(resources.problems[0].message, /subset "v3".*defines v1, v2.*weight 20.*503/s);
      const result = simulate(resources, { ...request, host: 'helloworld.sample:5000', path: '/hello' });
      assert.equal(result.outcome, 'routed');
      assert.deepEqual(result.clusters.map((c) => [c.name, c.weight, c.missing ?? false]), [
        [cluster(5000, 'v1'), 80, false],
        [cluster(5000, 'v3'), 20, true],
      ]);
      assert.ok(!resources.clusters.some((c) => c.name === cluster(5000, 'v3')), 'no Cluster resource for the missing subset');
      assert.deepEqual([...new Set(danglingReferences(resources).map((d) => d.split(' ')[1]))], [cluster(5000, 'v3')]);
    }
    assert.deepEqual(brief(analyze(m.snapshot)), ['error unknown-subset VirtualService sample/helloworld spec.http[0].route[1].destination.subset']);
  });

  it('gateway canary: 20% to a subset that does not exist stays 20%', () => {
    const m = withConfig(gatewayVs('helloworld-gateway', `  - match: [{uri: {exact: /hello}}]
    route:
    - {destination: {host: helloworld, port: {number: 5000}, subset: v3}, weight: 20}
    - {destination: {host: helloworld, port: {number: 5000}, subset: v2}, weight: 80}`), ['destinationrule', 'gateway']);
    const r = m.router();
    assert.deepEqual(brief(r.problems), ['error unknown-subset VirtualService sample/helloworld-gateway spec.http[0].route[0].destination.subset']);
    assert.deepEqual(viaGateway(r, '/hello').clusters.map((c) => [c.name, c.weight, c.missing ?? false]), [
      [cluster(5000, 'v3'), 20, true],
      [cluster(5000, 'v2'), 80, false],
    ]);
  });

  it('a single destination to a missing subset: the route stays and answers 503 (no fall-through)', () => {
    const r = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - match: [{uri: {prefix: /canary}}]
    route: [{destination: {host: helloworld, subset: v3}}]
  - route: [{destination: {host: helloworld, subset: v1}}]`).sidecar();
    const result = simulate(r, { listenerPort: 'http_proxy', host: 'helloworld.sample:5000', path: '/canary' });
    assert.equal(result.outcome, 'missing-cluster');
    assert.deepEqual(result.clusters.map((c) => c.name), [cluster(5000, 'v3')]);
  });
});

describe('DestinationRule subsets and precedence (Istio)', () => {
  it('a duplicate subset name is an error; the first definition is used', () => {
    const m = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v1, labels: {version: v2}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 50}
    - {destination: {host: helloworld, subset: v2}, weight: 50}`, []);
    const r = m.sidecar();
    assert.deepEqual(brief(r.problems), ['error duplicate-subset DestinationRule sample/helloworld spec.subsets[1].name']);
    assert.match(r.problems[0].message, /subset "v1" is defined more than once.*first definition/);
    assert.equal(r.clusters.filter((c) => c.name === cluster(5000, 'v1')).length, 1, 'one cluster per subset name');
    const result = simulate(r, { listenerPort: 'http_proxy', host: 'helloworld.sample:5000', path: '/hello' });
    const byName = new Map(result.clusters.map((c) => [c.name, c.endpoints.map((e) => e.cluster)]));
    assert.deepEqual(byName.get(cluster(5000, 'v1')), ['cluster-1'], 'v1 selects version=v1 (cluster-1 only), not v2');
    assert.deepEqual(byName.get(cluster(5000, 'v2')), ['cluster-2']);
    assert.ok(brief(analyze(m.snapshot)).includes('error duplicate-subset DestinationRule sample/helloworld spec.subsets[1].name'));
  });

  const rule = (name: string, namespace: string, lb: string, extra = '') => `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  host: ${HW}
  trafficPolicy: {loadBalancer: {simple: ${lb}}}${extra}`;
  const lbOf = (resources: ReturnType<typeof translate>) => resources.clusters.find((c) => c.name === `outbound|5000||${HW}`)?.lb_policy;

  it('the client\'s own namespace first, then the service\'s, then the root namespace; no other namespace', () => {
    const all = `${rule('in-client', 'client', 'LEAST_REQUEST')}
---
${rule('in-service', 'sample', 'RANDOM')}
---
${rule('in-root', 'istio-system', 'LEAST_REQUEST')}
---
${rule('elsewhere', 'elsewhere', 'LEAST_REQUEST')}`;
    const m = withConfig(all, []);
    assert.equal(lbOf(m.sidecar({ namespace: 'client' })), 'LEAST_REQUEST', 'the client namespace\'s rule');
    assert.equal(lbOf(m.sidecar({ namespace: 'third' })), 'RANDOM', 'the service namespace\'s rule');
    const rootOnly = withConfig(`${rule('in-root', 'istio-system', 'RANDOM')}
---
${rule('elsewhere', 'elsewhere', 'LEAST_REQUEST')}`, []);
    assert.equal(lbOf(rootOnly.sidecar({ namespace: 'third' })), 'RANDOM', 'the root namespace\'s rule');
    const otherOnly = withConfig(rule('elsewhere', 'elsewhere', 'LEAST_REQUEST'), []);
    assert.equal(lbOf(otherOnly.sidecar({ namespace: 'third' })), 'ROUND_ROBIN', 'a rule in an unrelated namespace does not apply');
    assert.equal(lbOf(otherOnly.sidecar({ namespace: 'elsewhere' })), 'LEAST_REQUEST', 'but applies to clients in its own namespace');
  });

  it('exportTo: a service-namespace rule exported only to its namespace falls back to the root namespace\'s', () => {
    const m = withConfig(`${rule('private', 'sample', 'LEAST_REQUEST', '\n  exportTo: ["."]')}
---
${rule('in-root', 'istio-system', 'RANDOM')}`, []);
    assert.equal(lbOf(m.sidecar()), 'LEAST_REQUEST', 'visible in its own namespace');
    assert.equal(lbOf(m.sidecar({ namespace: 'third' })), 'RANDOM');
  });

  it('two rules of one namespace for the same host are merged: the older is the base, new subset names are added', () => {
    const m = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: zz-first, creationTimestamp: "2020-01-01T00:00:00Z"}
spec:
  host: helloworld
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: aa-second, creationTimestamp: "2021-01-01T00:00:00Z"}
spec:
  host: helloworld
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets: [{name: v1, labels: {version: v2}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 50}
    - {destination: {host: helloworld, subset: v2}, weight: 50}`, []);
    const r = m.sidecar();
    assert.deepEqual(brief(r.problems), []);
    const result = simulate(r, { listenerPort: 'http_proxy', host: 'helloworld.sample:5000', path: '/hello' });
    const byName = new Map(result.clusters.map((c) => [c.name, c.endpoints.map((e) => e.cluster)]));
    assert.deepEqual(byName.get(cluster(5000, 'v1')), ['cluster-1'], 'v1 from the older rule');
    assert.deepEqual(byName.get(cluster(5000, 'v2')), ['cluster-2'], 'v2 added from the newer rule');
    assert.equal(lbOf(r), 'RANDOM', 'the base had no traffic policy: the newer rule\'s');
    assert.ok(!brief(analyze(m.snapshot)).some((p) => p.includes('unknown-host')));
  });
});
