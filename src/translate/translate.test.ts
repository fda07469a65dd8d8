// Simulation tests over the scenario: YAML in, "a call to host H path P from proxy X goes to
// clusters C with weights W and endpoints E" out, walking the generated config as Envoy would.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ProxyResources } from './envoy-types.js';
import { danglingReferences, simulate, type SimulationResult } from './simulate.js';
import { buildSnapshot, GOLDEN_DIR, parseYaml, proxyFor, scenarioClusters, scenarioFile, type ScenarioRule } from './testdata/fixture.js';
import { analyze, translate } from './translate.js';

const HW = 'helloworld.sample.svc.cluster.local';
const V1_C1 = '127.10.0.2:5000';
const V2_C2 = '127.20.0.2:5000';

function mesh(rules: ScenarioRule[] = []) {
  const clusters = scenarioClusters(rules);
  const snapshot = buildSnapshot(clusters);
  const [c1, c2] = clusters;
  // Translated on first use: most tests look at one or two proxies.
  return {
    clusters,
    snapshot,
    get sleep1() { return translate(snapshot, proxyFor(c1.pod('sleep'), 'sidecar')); },
    get sleep2() { return translate(snapshot, proxyFor(c2.pod('sleep'), 'sidecar')); },
    get gateway1() { return translate(snapshot, proxyFor(c1.pod('istio-ingressgateway'), 'router')); },
    get gateway2() { return translate(snapshot, proxyFor(c2.pod('istio-ingressgateway'), 'router')); },
    get grpc() { return translate(snapshot, { ...proxyFor(c1.pod('sleep'), 'proxyless'), id: 'grpc-client' }); },
  };
}

function split(result: SimulationResult): string[] {
  return result.clusters.map((c) => `${c.name} ${c.weight}`);
}

function call(resources: ProxyResources, host: string, path = '/hello', extra: { headers?: Record<string, string> } = {}): SimulationResult {
  return simulate(resources, { listenerPort: 'http_proxy', host, path, ...extra });
}

describe('sidecar outbound (sleep as an HTTP-proxy client)', () => {
  it('no rules: helloworld.sample:5000/hello -> one cluster with v1 (cluster-1) and v2 (cluster-2) endpoints', () => {
    const { sleep1, sleep2 } = mesh();
    for (const resources of [sleep1, sleep2]) {
      const r = call(resources, 'helloworld.sample:5000');
      assert.equal(r.outcome, 'routed');
      assert.equal(r.routeConfig, 'http_proxy');
      assert.equal(r.virtualHost, `${HW}:5000`);
      assert.equal(r.route, 'default');
      assert.deepEqual(split(r), [`outbound|5000||${HW} 100`]);
      assert.deepEqual(r.endpoints, [V1_C1, V2_C2]);
      assert.deepEqual(r.clusters[0].endpoints.map((e) => [e.address, e.cluster, e.zone, e.healthy]), [
        [V1_C1, 'cluster-1', 'cluster-1', true],
        [V2_C2, 'cluster-2', 'cluster-2', true],
      ]);
      assert.deepEqual(resources.problems, []);
    }
  });

  it('every name a client in the same namespace may use reaches the service; port 80 also without port', () => {
    const { sleep1 } = mesh();
    for (const host of [`${HW}:5000`, 'helloworld.sample.svc:5000', 'helloworld.sample:5000', 'helloworld:5000']) {
      assert.equal(call(sleep1, host).virtualHost, `${HW}:5000`, host);
    }
    assert.equal(call(sleep1, 'helloworld.sample').outcome, 'no-virtual-host', 'port 5000 must be named');
    assert.equal(call(sleep1, 'sleep.sample').virtualHost, 'sleep.sample.svc.cluster.local:80');
    assert.equal(call(sleep1, 'sleep:80').virtualHost, 'sleep.sample.svc.cluster.local:80');
  });

  it('the bare service name is only a domain for clients in the service namespace', () => {
    const clusters = scenarioClusters();
    clusters[0].apply('other', scenarioFile('sleep.yaml'));
    const snapshot = buildSnapshot(clusters);
    const other = translate(snapshot, proxyFor(clusters[0].pods.find((p) => p.namespace === 'other')!, 'sidecar'));
    assert.equal(call(other, 'helloworld:5000').outcome, 'no-virtual-host');
    assert.deepEqual(split(call(other, 'helloworld.sample:5000')), [`outbound|5000||${HW} 100`]);
  });

  it('DestinationRule + VirtualService: helloworld.sample:5000/hello -> v1 80 (cluster-1), v2 20 (cluster-2), from both clusters', () => {
    const { sleep1, sleep2 } = mesh(['destinationrule', 'virtualservice']);
    for (const resources of [sleep1, sleep2]) {
      const r = call(resources, 'helloworld.sample:5000');
      assert.equal(r.route, 'sample/helloworld/http[0]');
      assert.deepEqual(split(r), [`outbound|5000|v1|${HW} 80`, `outbound|5000|v2|${HW} 20`]);
      assert.deepEqual(r.clusters.map((c) => c.endpoints.map((e) => e.address)), [[V1_C1], [V2_C2]]);
      assert.deepEqual(resources.problems, []);
    }
  });

  it('subset clusters exist with EDS from ADS and label-filtered endpoints', () => {
    const { sleep1 } = mesh(['destinationrule']);
    const v1 = sleep1.clusters.find((c) => c.name === `outbound|5000|v1|${HW}`);
    assert.ok(v1);
    assert.equal(v1.type, 'EDS');
    assert.deepEqual(v1.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: `outbound|5000|v1|${HW}` });
    const cla = sleep1.endpoints.find((e) => e.cluster_name === `outbound|5000|v2|${HW}`);
    assert.deepEqual(cla?.endpoints.map((l) => [l.locality, l.lb_endpoints.length, l.load_balancing_weight]), [
      [{ region: 'local', zone: 'cluster-2' }, 1, { value: 1 }],
    ]);
    // A pod with a sidecar takes the cluster's mesh mTLS socket (auto mTLS).
    assert.deepEqual(cla?.endpoints[0].lb_endpoints[0].metadata, {
      filter_metadata: { istio: { fields: { cluster: { string_value: 'cluster-2' } } }, 'envoy.transport_socket_match': { fields: { tlsMode: { string_value: 'istio' } } } },
    });
  });

  it('the outbound listener is the HTTP proxy at podIP:15001 with RDS http_proxy and the router last', () => {
    const { sleep1, clusters } = mesh();
    const ip = clusters[0].pod('sleep').ip;
    const listener = sleep1.listeners.find((l) => l.name === `${ip}_15001`);
    assert.ok(listener);
    assert.deepEqual(listener.address, { socket_address: { address: ip, port_value: 15001 } });
    const hcm = listener.filter_chains?.[0].filters[0].typed_config;
    assert.ok(hcm && 'rds' in hcm && hcm.rds);
    assert.equal(hcm.rds.route_config_name, 'http_proxy');
    assert.equal(hcm.http_filters.at(-1)?.name, 'envoy.filters.http.router');
  });

  it('unready endpoints are sent as UNHEALTHY', () => {
    const clusters = scenarioClusters();
    const snapshot = buildSnapshot(clusters);
    snapshot.endpoints = snapshot.endpoints.map((e) => (e.address === '127.20.0.2' ? { ...e, ready: false } : e));
    const r = call(translate(snapshot, proxyFor(clusters[0].pod('sleep'), 'sidecar')), 'helloworld.sample:5000');
    assert.deepEqual(r.clusters[0].endpoints.map((e) => [e.address, e.healthy]), [[V1_C1, true], [V2_C2, false]]);
  });
});

describe('sidecar inbound', () => {
  it('a pod behind a service gets podIP:<targetPort> forwarding to its app IP on the same port', () => {
    const { clusters, snapshot } = mesh();
    const pod = clusters[0].pod('helloworld-v1');
    const resources = translate(snapshot, proxyFor(pod, 'sidecar'));
    const r = simulate(resources, { listenerPort: 5000, host: `${pod.ip}:5000`, path: '/hello' });
    assert.equal(r.listener, `${pod.ip}_5000`);
    assert.deepEqual(split(r), ['inbound|5000|| 100']);
    assert.deepEqual(r.endpoints, [`${pod.appIp}:5000`]);
    const cluster = resources.clusters.find((c) => c.name === 'inbound|5000||');
    assert.equal(cluster?.type, 'STATIC');
  });
});

describe('ingress gateway (router, labels istio=ingressgateway)', () => {
  it('gateway VS: any host /hello -> helloworld:5000 (both clusters\' endpoints); /other -> no route (404)', () => {
    const { gateway1, gateway2, clusters } = mesh(['destinationrule', 'gateway']);
    for (const [i, resources] of [gateway1, gateway2].entries()) {
      const listener = resources.listeners.find((l) => l.name === '0.0.0.0_80');
      assert.deepEqual(listener?.address, { socket_address: { address: clusters[i].pod('istio-ingressgateway').ip, port_value: 80 } });
      const r = simulate(resources, { listenerPort: 80, host: '203.0.113.7', path: '/hello' });
      assert.equal(r.routeConfig, 'http.80');
      assert.equal(r.virtualHost, '*:80');
      assert.deepEqual(split(r), [`outbound|5000||${HW} 100`]);
      assert.deepEqual(r.endpoints, [V1_C1, V2_C2]);
      assert.equal(simulate(resources, { listenerPort: 80, host: 'example.com', path: '/other' }).outcome, 'no-route');
      assert.equal(simulate(resources, { listenerPort: 80, host: 'example.com', path: '/hello/x' }).outcome, 'no-route', 'uri exact');
      assert.deepEqual(resources.problems, []);
    }
  });

  it('gateway canary: /hello -> v1 20, v2 80', () => {
    const { gateway1 } = mesh(['destinationrule', 'gateway-canary']);
    const r = simulate(gateway1, { listenerPort: 80, host: 'example.com', path: '/hello' });
    assert.deepEqual(split(r), [`outbound|5000|v1|${HW} 20`, `outbound|5000|v2|${HW} 80`]);
  });

  it('the gateway VS does not apply to sidecars, and sidecars get no gateway listeners', () => {
    const { sleep1 } = mesh(['destinationrule', 'gateway']);
    assert.equal(call(sleep1, 'helloworld.sample:5000').route, 'default');
    assert.ok(!sleep1.listeners.some((l) => l.name === '0.0.0.0_80'));
  });

  it('a router whose labels match no Gateway gets no listeners', () => {
    const { snapshot, clusters } = mesh(['gateway']);
    const other = { ...proxyFor(clusters[0].pod('istio-ingressgateway'), 'router'), labels: { istio: 'egressgateway' } };
    assert.deepEqual(translate(snapshot, other).listeners, []);
  });
});

describe('proxyless gRPC clients', () => {
  it('api_listeners for <fqdn>:<port>, <name>.<ns>:<port>, <name>.<ns>.svc:<port>, each with its own RDS name', () => {
    const { grpc } = mesh(['destinationrule', 'virtualservice']);
    for (const name of [`${HW}:5000`, 'helloworld.sample:5000', 'helloworld.sample.svc:5000']) {
      const listener = grpc.listeners.find((l) => l.name === name);
      assert.ok(listener?.api_listener, name);
      const hcm = listener.api_listener.api_listener;
      assert.equal(hcm.rds?.route_config_name, name);
      assert.deepEqual(hcm.http_filters.map((f) => f.name), ['envoy.filters.http.router']);
      const r = simulate(grpc, { listenerName: name, host: name, path: '/helloworld.Greeter/SayHello' });
      assert.deepEqual(split(r), [`outbound|5000|v1|${HW} 80`, `outbound|5000|v2|${HW} 20`], name);
    }
    assert.ok(grpc.listeners.every((l) => l.api_listener && !l.address), 'no socket listeners for proxyless');
  });
});

describe('resources are consistent and versioned', () => {
  it('every referenced route, cluster and EDS assignment exists, for every proxy kind and rule set', () => {
    for (const rules of [[], ['destinationrule', 'virtualservice', 'gateway'], ['destinationrule', 'gateway-canary']] as ScenarioRule[][]) {
      const m = mesh(rules);
      for (const resources of [m.sleep1, m.sleep2, m.gateway1, m.gateway2, m.grpc]) assert.deepEqual(danglingReferences(resources), []);
    }
  });

  it('the snapshot version is stamped into every RouteConfiguration, so a pure endpoint change changes them', () => {
    const clusters = scenarioClusters(['destinationrule', 'virtualservice']);
    const before = buildSnapshot(clusters);
    clusters[1].apply('sample', parseYaml('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: extra}\nspec:\n  replicas: 1\n  template: {metadata: {labels: {app: helloworld, version: v2}}}\n', 'inline'));
    const after = buildSnapshot(clusters);
    assert.notEqual(before.version, after.version);
    const proxy = { ...proxyFor(clusters[0].pod('sleep'), 'proxyless') };
    const a = translate(before, proxy);
    const b = translate(after, proxy);
    assert.ok(a.routes.length > 0);
    for (const route of b.routes) {
      assert.deepEqual(route.metadata, {
        filter_metadata: { meshwork: { fields: { version: { string_value: after.version } } } },
        typed_filter_metadata: { meshwork: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: after.version } },
      });
      assert.notDeepEqual(route, a.routes.find((r) => r.name === route.name));
    }
    // The listeners do not change (Envoy would drain connections on every push otherwise).
    assert.deepEqual(a.listeners, b.listeners);
  });

  it('translation is deterministic', () => {
    const m = mesh(['destinationrule', 'virtualservice']);
    assert.deepEqual(translate(m.snapshot, proxyFor(m.clusters[0].pod('sleep'), 'sidecar')), m.sleep1);
  });
});

describe('multi-primary config merge', () => {
  it('the same VS in both clusters is one object; when the copies differ each proxy uses its own cluster\'s, with a warning', () => {
    const clusters = scenarioClusters(['destinationrule', 'gateway']);
    clusters[1].apply('sample', scenarioFile('helloworld-gateway-canary.yaml'));
    const snapshot = buildSnapshot(clusters);
    const g1 = translate(snapshot, proxyFor(clusters[0].pod('istio-ingressgateway'), 'router'));
    const g2 = translate(snapshot, proxyFor(clusters[1].pod('istio-ingressgateway'), 'router'));
    assert.deepEqual(split(simulate(g1, { listenerPort: 80, host: 'x', path: '/hello' })), [`outbound|5000||${HW} 100`]);
    assert.deepEqual(split(simulate(g2, { listenerPort: 80, host: 'x', path: '/hello' })), [`outbound|5000|v1|${HW} 20`, `outbound|5000|v2|${HW} 80`]);
    assert.equal(g1.routes.find((r) => r.name === 'http.80')?.virtual_hosts.length, 1, 'one VS, not two');
    assert.deepEqual(
      analyze(snapshot).map((p) => [p.code, p.kind, p.name]),
      [['config-diverges-between-clusters', 'VirtualService', 'helloworld-gateway']],
    );
  });

  it('analyze finds nothing wrong with the scenario', () => {
    assert.deepEqual(analyze(mesh(['destinationrule', 'virtualservice', 'gateway']).snapshot), []);
  });
});

describe('golden files (REFRESH_GOLDEN=1 rewrites them)', () => {
  const cases: Array<{ file: string; rules: ScenarioRule[]; proxy: 'sleep1' | 'gateway1' | 'grpc' }> = [
    { file: 'sidecar-no-rules.json', rules: [], proxy: 'sleep1' },
    { file: 'sidecar-canary-80-20.json', rules: ['destinationrule', 'virtualservice'], proxy: 'sleep1' },
    { file: 'gateway-canary-20-80.json', rules: ['destinationrule', 'gateway-canary'], proxy: 'gateway1' },
    { file: 'proxyless-canary-80-20.json', rules: ['destinationrule', 'virtualservice'], proxy: 'grpc' },
  ];
  for (const c of cases) {
    it(c.file, () => {
      const clusters = scenarioClusters(c.rules);
      const proxies = {
        sleep1: () => proxyFor(clusters[0].pod('sleep'), 'sidecar'),
        gateway1: () => proxyFor(clusters[0].pod('istio-ingressgateway'), 'router'),
        grpc: () => ({ ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc-client' }),
      };
      // The version is a content hash of the fixture: fixed here so golden files only change with the translation.
      const resources = translate({ ...buildSnapshot(clusters), version: 'golden' }, proxies[c.proxy]());
      const path = join(GOLDEN_DIR, c.file);
      const actual = JSON.stringify(resources, null, 2) + '\n';
      if (process.env.REFRESH_GOLDEN === '1' || !existsSync(path)) {
        if (process.env.REFRESH_GOLDEN !== '1') assert.fail(`golden file ${path} is missing; run with REFRESH_GOLDEN=1 to create it`);
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(path, actual);
      }
      assert.equal(actual, readFileSync(path, 'utf8'), `${c.file} differs; if the change is intended, rerun with REFRESH_GOLDEN=1`);
    });
  }
});
