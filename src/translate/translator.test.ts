// MeshTranslator shares what a proxy's scope determines between proxies and keeps what names the
// proxy's own address apart; its flattened output is exactly translate()'s.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VirtualService } from '../config/istio-types.js';
import type { MeshSnapshot, ProxyIdentity } from '../registry/model.js';
import type { HttpConnectionManager, Listener } from './envoy-types.js';
import { simulate } from './simulate.js';
import { buildSnapshot, proxyFor, scenarioClusters } from './testdata/fixture.js';
import { MeshTranslator, translate } from './translate.js';

const HW = 'helloworld.sample.svc.cluster.local';

function scenario(): { snapshot: MeshSnapshot; sleep1: ProxyIdentity; sleep2: ProxyIdentity; gateway1: ProxyIdentity } {
  const clusters = scenarioClusters(['destinationrule', 'virtualservice', 'gateway']);
  const [c1, c2] = clusters;
  return {
    snapshot: buildSnapshot(clusters),
    sleep1: proxyFor(c1.pod('sleep'), 'sidecar'),
    sleep2: proxyFor(c2.pod('sleep'), 'sidecar'),
    gateway1: proxyFor(c1.pod('istio-ingressgateway'), 'router'),
  };
}

/** Another sleep pod beside `pod`: same namespace, cluster and labels, its own addresses. */
function sibling(proxy: ProxyIdentity, lastOctet: number, labels: Record<string, string> = proxy.labels): ProxyIdentity {
  const ip = proxy.ip.replace(/\.\d+$/, `.${lastOctet}`);
  return { ...proxy, id: proxy.id.replace(proxy.ip, ip), ip, appIp: proxy.appIp?.replace(/\.\d+$/, `.${lastOctet}`), labels: { ...labels } };
}

describe('listeners at the trust boundary', () => {
  const hcmOf = (l: Listener): HttpConnectionManager => {
    const typed = l.filter_chains?.[0]?.filters[0]?.typed_config;
    assert.ok(typed && 'http_filters' in typed, l.name);
    return typed;
  };
  const clusters = scenarioClusters();
  const mesh = buildSnapshot(clusters);

  it('a gateway takes its peer for the client (use_remote_address, no trusted hops) and replaces x-forwarded-client-cert (SANITIZE_SET), as Istio', () => {
    const withGateway = scenarioClusters(['destinationrule', 'gateway']);
    const gw = translate(buildSnapshot(withGateway), proxyFor(withGateway[0]!.pod('istio-ingressgateway'), 'router'));
    assert.ok(gw.listeners.length > 0);
    for (const l of gw.listeners) {
      const h = hcmOf(l);
      assert.deepEqual(h.use_remote_address, { value: true }, l.name);
      assert.equal(h.xff_num_trusted_hops, undefined);
      assert.equal(h.forward_client_cert_details, 'SANITIZE_SET');
      assert.deepEqual(h.set_current_client_cert_details, { subject: { value: true }, cert: true, dns: true, uri: true });
    }
  });

  it("each gateway's HCM follows its own ProxyConfig gatewayTopology (numTrustedProxies, forwardClientCertDetails); other gateways keep the defaults", () => {
    const withGateway = scenarioClusters(['destinationrule', 'gateway']);
    const snapshot = buildSnapshot(withGateway);
    const plain = proxyFor(withGateway[0]!.pod('istio-ingressgateway'), 'router');
    const behindTwo = { ...sibling(plain, 201), gatewayTopology: { numTrustedProxies: 2, forwardClientCertDetails: 'APPEND_FORWARD' as const } };
    const behindOne = { ...sibling(plain, 202), gatewayTopology: { numTrustedProxies: 1 } };
    const translator = new MeshTranslator(snapshot);
    const hcms = (p: ProxyIdentity) => translator.translateScoped(p).own.listeners.map(hcmOf);
    for (const h of hcms(behindTwo)) {
      assert.equal(h.xff_num_trusted_hops, 2);
      assert.equal(h.forward_client_cert_details, 'APPEND_FORWARD');
      assert.deepEqual(h.use_remote_address, { value: true });
    }
    for (const h of hcms(behindOne)) {
      assert.equal(h.xff_num_trusted_hops, 1);
      assert.equal(h.forward_client_cert_details, 'SANITIZE_SET', 'forwardClientCertDetails unset: Istio\'s default');
    }
    for (const h of hcms(plain)) assert.equal(h.xff_num_trusted_hops, undefined);
    assert.equal(translator.translateScoped(behindTwo).shared, translator.translateScoped(plain).shared, 'routes and clusters stay shared');
  });

  it("a sidecar's inbound listeners keep x-forwarded-for as written and APPEND_FORWARD x-forwarded-client-cert; its outbound listener keeps Envoy's defaults", () => {
    const sidecar = translate(mesh, proxyFor(clusters[0]!.pod('helloworld-v1'), 'sidecar'));
    const inbound = sidecar.listeners.filter((l) => l.traffic_direction === 'INBOUND' && l.filter_chains?.[0]?.filters[0]?.name === 'envoy.filters.network.http_connection_manager');
    assert.ok(inbound.length > 0);
    for (const l of inbound) {
      const h = hcmOf(l);
      assert.deepEqual(h.use_remote_address, { value: false });
      assert.equal(h.forward_client_cert_details, 'APPEND_FORWARD');
      assert.deepEqual(h.set_current_client_cert_details, { subject: { value: true }, dns: true, uri: true });
    }
    const outbound = hcmOf(sidecar.listeners.find((l) => l.traffic_direction === 'OUTBOUND')!);
    assert.equal(outbound.use_remote_address, undefined);
    assert.equal(outbound.forward_client_cert_details, undefined);
  });
});

describe('MeshTranslator', () => {
  it('gives proxies of one scope the same route, cluster and endpoint objects, and each its own listeners', () => {
    const { snapshot, sleep1 } = scenario();
    const translator = new MeshTranslator(snapshot);
    const other = sibling(sleep1, 200, { ...sleep1.labels, 'pod-template-hash': 'abc' });
    const a = translator.translateScoped(sleep1);
    const b = translator.translateScoped(other);
    assert.equal(a.shared, b.shared, 'shared part is one object');
    assert.ok(a.shared.routes.length > 0 && a.shared.clusters.length > 0 && a.shared.endpoints.length > 0);
    assert.notDeepEqual(a.own.listeners.map((l) => l.name), b.own.listeners.map((l) => l.name));
    assert.ok(a.own.listeners.every((l) => l.name.startsWith(sleep1.ip)), a.own.listeners.map((l) => l.name).join());
  });

  it('flattened, equals translate() for sidecars, gateways and proxyless clients', () => {
    const { snapshot, sleep1, sleep2, gateway1 } = scenario();
    const translator = new MeshTranslator(snapshot);
    const grpc: ProxyIdentity = { ...sleep1, kind: 'proxyless', id: 'grpc-client' };
    for (const proxy of [sleep1, sleep2, gateway1, grpc, sleep1]) assert.deepEqual(translator.translate(proxy), translate(snapshot, proxy), proxy.id);
  });

  it('separates proxies of different clusters only when some config differs between the clusters', () => {
    const { snapshot, sleep1, sleep2 } = scenario();
    const same = new MeshTranslator(snapshot);
    assert.equal(same.translateScoped(sleep1).shared, same.translateScoped(sleep2).shared, 'identical copies: one scope');
    // cluster-2 still has 80/20 while cluster-1 moved to 50/50 (a rollout in progress).
    const diverged: MeshSnapshot = {
      ...snapshot,
      virtualServices: snapshot.virtualServices.map((o) =>
        o.cluster === 'cluster-1' ? { ...o, spec: { ...o.spec, http: (o.spec.http ?? []).map((h) => ({ ...h, route: (h.route ?? []).map((r) => ({ ...r, weight: 50 })) })) } } : o),
      version: 'diverged',
    };
    const split = new MeshTranslator(diverged);
    assert.notEqual(split.translateScoped(sleep1).shared, split.translateScoped(sleep2).shared);
    const weights = (p: ProxyIdentity) =>
      simulate(split.translate(p), { listenerPort: 'http_proxy', host: 'helloworld.sample:5000', path: '/hello' }).clusters.map((c) => c.weight);
    assert.deepEqual(weights(sleep1), [50, 50]);
    assert.deepEqual(weights(sleep2), [80, 20]);
  });

  it('separates proxies by the labels a VirtualService sourceLabels match looks at, and only by those', () => {
    const { snapshot, sleep1 } = scenario();
    const vs: VirtualService = {
      hosts: ['helloworld'],
      http: [
        { match: [{ sourceLabels: { track: 'canary' } }], route: [{ destination: { host: HW, subset: 'v2' } }] },
        { route: [{ destination: { host: HW, subset: 'v1' } }] },
      ],
    };
    const withSourceLabels: MeshSnapshot = {
      ...snapshot,
      virtualServices: snapshot.virtualServices.map((o) => (o.name === 'helloworld' ? { ...o, spec: vs } : o)),
      version: 'source-labels',
    };
    const translator = new MeshTranslator(withSourceLabels);
    const canary = sibling(sleep1, 201, { ...sleep1.labels, track: 'canary' });
    const stable = sibling(sleep1, 202, { ...sleep1.labels, track: 'stable', 'pod-template-hash': 'x' });
    const plain = sibling(sleep1, 203, { ...sleep1.labels, 'pod-template-hash': 'y' });
    assert.deepEqual(translator.scopeOf(canary).labels, { track: 'canary' });
    assert.notEqual(translator.translateScoped(canary).shared, translator.translateScoped(stable).shared);
    assert.equal(translator.translateScoped(plain).shared, translator.translateScoped(sleep1).shared);
    const route = (p: ProxyIdentity) =>
      simulate(translator.translate(p), { listenerPort: 'http_proxy', host: 'helloworld.sample:5000', path: '/hello' }).clusters.map((c) => c.name);
    assert.deepEqual(route(canary), [`outbound|5000|v2|${HW}`]);
    assert.deepEqual(route(stable), [`outbound|5000|v1|${HW}`]);
  });

  it('stamps the snapshot version into proxyless route configs only', () => {
    const { snapshot, sleep1, gateway1 } = scenario();
    const translator = new MeshTranslator(snapshot);
    assert.ok(translator.translate({ ...sleep1, kind: 'proxyless', id: 'grpc' }).routes.every((r) => r.metadata !== undefined));
    for (const proxy of [sleep1, gateway1]) assert.ok(translator.translate(proxy).routes.every((r) => r.metadata === undefined), proxy.id);
  });

  it('reuses the own listeners and clusters of a proxy from the previous snapshot when their inputs are unchanged', () => {
    const { snapshot, sleep1, gateway1 } = scenario();
    const first = new MeshTranslator(snapshot);
    const [sleepOwn, gatewayOwn] = [first.translateScoped(sleep1).own, first.translateScoped(gateway1).own];
    // A new snapshot where only another pod changed: same own objects.
    const next = new MeshTranslator({ ...snapshot, version: 'next' }, first);
    assert.equal(next.translateScoped(sleep1).own, sleepOwn);
    assert.equal(next.translateScoped(gateway1).own, gatewayOwn);
    // The sleep pod's app moved: new own objects with the new address.
    const moved = new MeshTranslator({ ...snapshot, version: 'moved' }, next);
    const own = moved.translateScoped({ ...sleep1, appIp: '127.10.200.9' }).own;
    assert.notEqual(own, sleepOwn);
    assert.deepEqual(own.listeners.map((l) => l.name), sleepOwn.listeners.map((l) => l.name));
  });
});
