// The Sidecar resource as Istio applies it: which Sidecar a proxy gets (workloadSelector, namespace
// default, root namespace default), what its egress hosts let through (clusters, endpoints, routes),
// the services its VirtualServices depend on, port-bound egress listeners, REGISTRY_ONLY, and scope sharing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Sidecar, VirtualService } from '../config/istio-types.js';
import type { IstioObject, MeshEndpoint, MeshService, MeshSnapshot, ProxyIdentity } from '../registry/model.js';
import { simulate } from './simulate.js';
import { analyze, MeshTranslator, translate } from './translate.js';

const fqdn = (name: string, ns: string): string => `${name}.${ns}.svc.cluster.local`;

function service(name: string, ns: string, ports: number[] = [8080]): MeshService {
  return { hostname: fqdn(name, ns), name, namespace: ns, ports: ports.map((p) => ({ name: `http-${p}`, port: p, protocol: 'TCP' })), clusters: ['c1'] };
}

let nextIp = 2;
function endpoint(svc: MeshService, labels: Record<string, string> = { app: svc.name }): MeshEndpoint {
  const ip = `127.203.0.${nextIp++}`;
  return {
    hostname: svc.hostname, cluster: 'c1', address: ip, ports: Object.fromEntries(svc.ports.map((p) => [p.name ?? String(p.port), p.port])),
    labels, locality: { region: 'r', zone: 'z' }, ready: true, podName: `${svc.name}-0`, namespace: svc.namespace, hasSidecar: true,
  };
}

function sidecar(name: string, ns: string, spec: Sidecar, creationTimestamp = '2026-01-01T00:00:00Z'): IstioObject<Sidecar> {
  return { name, namespace: ns, spec, cluster: 'c1', creationTimestamp };
}

function mesh(extra: Partial<MeshSnapshot> = {}): MeshSnapshot {
  const services = [service('a0', 'a'), service('a1', 'a'), service('b0', 'b'), service('b1', 'b'), service('c0', 'c'), service('multi', 'b', [8080, 9090])];
  return {
    services, endpoints: services.map((s) => endpoint(s)), virtualServices: [], destinationRules: [], gateways: [], serviceEntries: [],
    domainSuffix: 'cluster.local', version: 'v', ...extra,
  };
}

function proxy(ns: string, labels: Record<string, string> = { app: 'sleep' }, ip = '127.203.1.2'): ProxyIdentity {
  return { id: `sidecar~${ip}~sleep.${ns}~${ns}.svc.cluster.local`, kind: 'sidecar', namespace: ns, cluster: 'c1', labels, ip };
}

const outboundHosts = (names: string[]): string[] =>
  [...new Set(names.filter((n) => n.startsWith('outbound|')).map((n) => n.split('|')[3]))].sort();

function seen(snapshot: MeshSnapshot, p: ProxyIdentity): { clusters: string[]; endpoints: string[]; vhosts: string[] } {
  const out = translate(snapshot, p);
  return {
    clusters: outboundHosts(out.clusters.map((c) => c.name)),
    endpoints: outboundHosts(out.endpoints.map((e) => e.cluster_name)),
    vhosts: out.routes.flatMap((r) => r.virtual_hosts.map((v) => v.name)).sort(),
  };
}

describe('Sidecar egress scoping', () => {
  it('without a Sidecar a proxy gets every service of the mesh', () => {
    assert.deepEqual(seen(mesh(), proxy('a')).clusters, mesh().services.map((s) => s.hostname).sort());
  });

  it('egress ./* and ns/host: only the own namespace and the named service, in clusters, endpoints and routes', () => {
    const snapshot = mesh({ sidecars: [sidecar('default', 'a', { egress: [{ hosts: ['./*', 'b/b1.b.svc.cluster.local'] }] })] });
    const got = seen(snapshot, proxy('a'));
    const want = [fqdn('a0', 'a'), fqdn('a1', 'a'), fqdn('b1', 'b')];
    assert.deepEqual(got.clusters, want);
    assert.deepEqual(got.endpoints, want);
    assert.deepEqual(got.vhosts, want.map((h) => `${h}:8080`));
    // Another namespace without a Sidecar still sees everything.
    assert.equal(seen(snapshot, proxy('c')).clusters.length, 6);
  });

  it('*/host, ns/* and ~/*', () => {
    const wildcard = mesh({ sidecars: [sidecar('s', 'a', { egress: [{ hosts: ['*/b0.b.svc.cluster.local', 'c/*'] }] })] });
    assert.deepEqual(seen(wildcard, proxy('a')).clusters, [fqdn('b0', 'b'), fqdn('c0', 'c')]);
    const none = mesh({ sidecars: [sidecar('s', 'a', { egress: [{ hosts: ['~/*'] }] })] });
    assert.deepEqual(seen(none, proxy('a')), { clusters: [], endpoints: [], vhosts: [] });
  });

  it('a VirtualService outside the egress hosts is not applied; one inside brings the services it routes to', () => {
    const toC: IstioObject<VirtualService> = {
      name: 'a0-to-c', namespace: 'a', cluster: 'c1', spec: { hosts: ['a0'], http: [{ route: [{ destination: { host: fqdn('c0', 'c') } }] }] },
    };
    const inB: IstioObject<VirtualService> = {
      name: 'b0-split', namespace: 'b', cluster: 'c1', spec: { hosts: [fqdn('a1', 'a')], http: [{ route: [{ destination: { host: fqdn('b0', 'b') } }] }] },
    };
    const snapshot = mesh({ virtualServices: [toC, inB], sidecars: [sidecar('s', 'a', { egress: [{ hosts: ['./*'] }] })] });
    const p = proxy('a');
    assert.deepEqual(seen(snapshot, p).clusters, [fqdn('a0', 'a'), fqdn('a1', 'a'), fqdn('c0', 'c')], 'c0 comes in as a0\'s route destination');
    const out = translate(snapshot, p);
    const toA0 = simulate(out, { listenerPort: 15001, host: 'a0:8080', path: '/' });
    assert.deepEqual(toA0.clusters.map((c) => [c.name, c.missing ?? false]), [[`outbound|8080||${fqdn('c0', 'c')}`, false]]);
    // b0-split lives in namespace b, which the egress does not import: a1 keeps its default route.
    const toA1 = simulate(out, { listenerPort: 15001, host: 'a1:8080', path: '/' });
    assert.deepEqual(toA1.clusters.map((c) => c.name), [`outbound|8080||${fqdn('a1', 'a')}`]);
  });

  it('an egress listener bound to a port decides that port; the catch-all listener the others', () => {
    const snapshot = mesh({ sidecars: [sidecar('s', 'a', { egress: [{ port: { number: 9090, protocol: 'HTTP', name: 'http' }, hosts: ['b/*'] }, { hosts: ['./*'] }] })] });
    const got = seen(snapshot, proxy('a'));
    assert.deepEqual(got.vhosts, [`${fqdn('a0', 'a')}:8080`, `${fqdn('a1', 'a')}:8080`, `${fqdn('multi', 'b')}:9090`]);
    assert.ok(got.clusters.includes(fqdn('multi', 'b')) && got.clusters.includes(fqdn('b0', 'b')), 'clusters of imported services, every port');
  });
});

describe('which Sidecar applies', () => {
  const onlyB = { egress: [{ hosts: ['b/*'] }] };
  const onlyC = { egress: [{ hosts: ['c/*'] }] };
  const ownNs = { egress: [{ hosts: ['./*'] }] };

  it('a matching workloadSelector beats the namespace default, which beats the root namespace default', () => {
    const snapshot = mesh({
      sidecars: [
        sidecar('for-sleep', 'a', { workloadSelector: { labels: { app: 'sleep' } }, ...onlyB }),
        sidecar('default', 'a', onlyC),
        sidecar('default', 'istio-system', ownNs),
      ],
    });
    assert.deepEqual(seen(snapshot, proxy('a')).clusters, [fqdn('b0', 'b'), fqdn('b1', 'b'), fqdn('multi', 'b')]);
    assert.deepEqual(seen(snapshot, proxy('a', { app: 'other' })).clusters, [fqdn('c0', 'c')]);
    // Namespace b has none: the root namespace's applies, `.` meaning the proxy's own namespace.
    assert.deepEqual(seen(snapshot, proxy('b')).clusters, [fqdn('b0', 'b'), fqdn('b1', 'b'), fqdn('multi', 'b')]);
  });

  it('a Sidecar with a selector in the root namespace is not a mesh default; gateways ignore Sidecars', () => {
    const snapshot = mesh({ sidecars: [sidecar('sel', 'istio-system', { workloadSelector: { labels: { app: 'sleep' } }, ...ownNs })] });
    assert.equal(seen(snapshot, proxy('a')).clusters.length, 6);
    const scoped = mesh({ sidecars: [sidecar('default', 'a', onlyC)] });
    const gateway: ProxyIdentity = { ...proxy('a', { istio: 'ingressgateway' }), kind: 'router' };
    assert.equal(outboundHosts(translate(scoped, gateway).clusters.map((c) => c.name)).length, 6);
  });

  it('the oldest of two Sidecars without selector wins, and analyze reports both (IST0111)', () => {
    const snapshot = mesh({ sidecars: [sidecar('newer', 'a', onlyB, '2026-02-01T00:00:00Z'), sidecar('older', 'a', onlyC, '2026-01-01T00:00:00Z')] });
    assert.deepEqual(seen(snapshot, proxy('a')).clusters, [fqdn('c0', 'c')]);
    const found = analyze(snapshot).filter((p) => p.code === 'multiple-sidecars-without-selector');
    assert.deepEqual(found.map((p) => p.name).sort(), ['newer', 'older']);
  });

  it('two Sidecars selecting one pod: analyze reports IST0110', () => {
    const s = mesh();
    const snapshot = mesh({
      endpoints: [...s.endpoints, { ...endpoint(service('sleep', 'a'), { app: 'sleep', version: 'v1' }), podName: 'sleep-0' }],
      sidecars: [sidecar('by-app', 'a', { workloadSelector: { labels: { app: 'sleep' } }, ...onlyB }), sidecar('by-version', 'a', { workloadSelector: { labels: { version: 'v1' } }, ...onlyC })],
    });
    const found = analyze(snapshot).filter((p) => p.code === 'conflicting-sidecar-selectors');
    assert.deepEqual(found.map((p) => p.name).sort(), ['by-app', 'by-version']);
  });
});

describe('outboundTrafficPolicy', () => {
  it('REGISTRY_ONLY: a host the mesh does not know gets 502 from the block_all virtual host; known hosts are routed', () => {
    const snapshot = mesh({ sidecars: [sidecar('s', 'a', { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } })] });
    const out = translate(snapshot, proxy('a'));
    const unknown = simulate(out, { listenerPort: 15001, host: 'example.com', path: '/' });
    assert.equal(unknown.outcome, 'direct-response');
    assert.equal(unknown.directResponse?.status, 502);
    assert.equal(simulate(out, { listenerPort: 15001, host: 'b0.b:8080', path: '/' }).outcome, 'routed');
    // An out-of-scope host is unknown to the proxy too.
    const scoped = mesh({ sidecars: [sidecar('s', 'a', { egress: [{ hosts: ['./*'] }], outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } })] });
    assert.equal(simulate(translate(scoped, proxy('a')), { listenerPort: 15001, host: 'b0.b:8080', path: '/' }).directResponse?.status, 502);
  });

  it('without a Sidecar (and with ALLOW_ANY, reported as not translated) an unknown host finds no virtual host', () => {
    assert.equal(simulate(translate(mesh(), proxy('a')), { listenerPort: 15001, host: 'example.com', path: '/' }).outcome, 'no-virtual-host');
    const allow = mesh({ sidecars: [sidecar('s', 'a', { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } })] });
    assert.equal(simulate(translate(allow, proxy('a')), { listenerPort: 15001, host: 'example.com', path: '/' }).outcome, 'no-virtual-host');
    assert.ok(analyze(allow).some((p) => p.kind === 'Sidecar' && p.field === 'spec.outboundTrafficPolicy.mode' && p.code === 'unsupported'));
  });
});

describe('outboundTrafficPolicy from the mesh config', () => {
  const unknown = (snapshot: MeshSnapshot, ns: string) => simulate(translate(snapshot, proxy(ns)), { listenerPort: 15001, host: 'example.com', path: '/' });

  it('meshConfig REGISTRY_ONLY applies to proxies without a Sidecar and to Sidecars without a policy; a Sidecar\'s own mode wins', () => {
    const snapshot = mesh({
      outboundTrafficMode: 'REGISTRY_ONLY',
      sidecars: [sidecar('scoped', 'a', { egress: [{ hosts: ['./*'] }] }), sidecar('open', 'b', { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } })],
    });
    assert.equal(unknown(snapshot, 'c').directResponse?.status, 502, 'no Sidecar: the mesh default');
    assert.equal(unknown(snapshot, 'a').directResponse?.status, 502, 'a Sidecar without outboundTrafficPolicy: the mesh default');
    assert.equal(unknown(snapshot, 'b').outcome, 'no-virtual-host', 'the Sidecar says ALLOW_ANY');
  });
});

describe('Sidecar ingress', () => {
  it('replaces the inbound listeners of the pod\'s service ports: port -> defaultEndpoint\'s port of the app (the same port without one)', () => {
    const base = mesh();
    const a0 = base.endpoints.find((e) => e.hostname === fqdn('a0', 'a'))!;
    const own: ProxyIdentity = { ...proxy('a', { app: 'a0' }, a0.address), appIp: '127.203.129.9' };
    const inboundOf = (snapshot: MeshSnapshot) => {
      const out = translate(snapshot, own);
      const listeners = out.listeners.filter((l) => l.traffic_direction === 'INBOUND').map((l) => l.name).sort();
      const clusters = out.clusters.filter((c) => c.name.startsWith('inbound|')).map((c) => {
        const address = c.load_assignment?.endpoints[0]?.lb_endpoints[0]?.endpoint.address.socket_address;
        return `${c.name} -> ${address?.address}:${address?.port_value}`;
      });
      return { listeners, clusters };
    };
    assert.deepEqual(inboundOf(base), { listeners: [`${a0.address}_8080`], clusters: ['inbound|8080|| -> 127.203.129.9:8080'] });
    const withIngress = mesh({
      sidecars: [sidecar('a0', 'a', {
        workloadSelector: { labels: { app: 'a0' } },
        ingress: [{ port: { number: 9080, protocol: 'HTTP', name: 'web' }, defaultEndpoint: '127.0.0.1:8080' }, { port: { number: 9090, protocol: 'TCP', name: 'raw' } }],
      })],
    });
    assert.deepEqual(inboundOf(withIngress), {
      listeners: [`${a0.address}_9080`, `${a0.address}_9090`],
      clusters: ['inbound|9080|| -> 127.203.129.9:8080', 'inbound|9090|| -> 127.203.129.9:9090'],
    });
    const tcp = translate(withIngress, own).listeners.find((l) => l.name.endsWith('_9090'));
    assert.equal(tcp?.filter_chains?.[0]?.filters[0]?.name, 'envoy.filters.network.tcp_proxy');
  });
});

describe('translation scopes under Sidecars', () => {
  it('proxies under the same Sidecar share one translation; another Sidecar is another scope', () => {
    const snapshot = mesh({
      sidecars: [sidecar('default', 'a', { egress: [{ hosts: ['./*'] }] }), sidecar('web', 'a', { workloadSelector: { labels: { app: 'web' } }, egress: [{ hosts: ['b/*'] }] })],
    });
    const translator = new MeshTranslator(snapshot);
    const one = translator.translateScoped(proxy('a', { app: 'sleep', pod: '1' }, '127.203.1.2'));
    const two = translator.translateScoped(proxy('a', { app: 'curl' }, '127.203.1.3'));
    const web = translator.translateScoped(proxy('a', { app: 'web' }, '127.203.1.4'));
    assert.equal(one.shared, two.shared);
    assert.notEqual(one.shared, web.shared);
    assert.equal(translator.scopeOf(proxy('a', { app: 'web' })).sidecar, 'a/web');
    assert.equal(translator.scopeOf(proxy('c')).sidecar, '');
  });
});
