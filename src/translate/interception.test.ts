// The sidecar listener model under iptables interception (INTERCEPTION_MODE=REDIRECT), beside the
// http_proxy model, over the scenario's fixture.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MeshSnapshot, ProxyIdentity } from '../registry/model.js';
import type { Cluster, FilterChain, Listener, ProxyResources } from './envoy-types.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters, type FixtureCluster } from './testdata/fixture.js';
import { simulate } from './simulate.js';
import { translate } from './translate.js';


function mesh(yaml = '', edit?: (s: MeshSnapshot) => void): { clusters: FixtureCluster[]; snapshot: MeshSnapshot } {
  const clusters = scenarioClusters(['destinationrule']);
  if (yaml) for (const cluster of clusters) cluster.apply('sample', parseYaml(yaml, 'interception test'));
  const snapshot = buildSnapshot(clusters);
  edit?.(snapshot);
  return { clusters, snapshot };
}
const intercepted = (p: ProxyIdentity): ProxyIdentity => ({ ...p, interceptionMode: 'REDIRECT' });
const hello = (m: ReturnType<typeof mesh>, redirect = true): ProxyResources => {
  const p = proxyFor(m.clusters[0]!.pod('helloworld-v1'), 'sidecar');
  return translate(m.snapshot, redirect ? intercepted(p) : p);
};
const sleep = (m: ReturnType<typeof mesh>): ProxyResources => translate(m.snapshot, intercepted(proxyFor(m.clusters[0]!.pod('sleep'), 'sidecar')));
const listener = (r: ProxyResources, name: string): Listener => {
  const found = r.listeners.find((l) => l.name === name);
  assert.ok(found, `listener ${name} among ${r.listeners.map((l) => l.name).join(', ')}`);
  return found;
};
const cluster = (r: ProxyResources, name: string): Cluster => {
  const found = r.clusters.find((c) => c.name === name);
  assert.ok(found, `cluster ${name}`);
  return found;
};
/** A chain in brief: its name, destination port, transport protocol, whether it terminates TLS, its first filter. */
const brief = (c: FilterChain) => [c.name, c.filter_chain_match?.destination_port?.value ?? null, c.filter_chain_match?.transport_protocol ?? null, c.transport_socket !== undefined, c.filters.at(-1)?.name];
const STRICT = `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: sample}
spec: {mtls: {mode: STRICT}}
`;

describe('interception listener model (Istio 1.2x sidecar, REDIRECT)', () => {
  it('no pod-IP listeners: virtualOutbound, virtualInbound, a 0.0.0.0_<port> per HTTP service port', () => {
    const r = sleep(mesh());
    const names = r.listeners.map((l) => l.name);
    assert.ok(names.includes('virtualOutbound') && names.includes('virtualInbound') && names.includes('0.0.0.0_5000') && names.includes('0.0.0.0_80'), names.join(', '));
    assert.ok(!names.some((n) => n.startsWith('127.')), `no listener binds the pod IP: ${names.join(', ')}`);
  });

  it('virtualOutbound: 0.0.0.0:15001, use_original_dst, a blackhole for 15001 itself, else PassthroughCluster', () => {
    const vo = listener(sleep(mesh()), 'virtualOutbound');
    assert.deepEqual(vo.address, { socket_address: { address: '0.0.0.0', port_value: 15001 } });
    assert.deepEqual(vo.use_original_dst, { value: true });
    assert.deepEqual(vo.filter_chains?.map(brief), [
      ['virtualOutbound-blackhole', 15001, null, false, 'envoy.filters.network.tcp_proxy'],
      ['virtualOutbound-catchall-tcp', null, null, false, 'envoy.filters.network.tcp_proxy'],
    ]);
    assert.equal((vo.filter_chains?.[1]?.filters[0]?.typed_config as { cluster: string }).cluster, 'PassthroughCluster');
  });

  it('a service port listener does not bind, and routes over the sidecar route configuration', () => {
    const l = listener(sleep(mesh()), '0.0.0.0_5000');
    assert.deepEqual(l.bind_to_port, { value: false });
    assert.deepEqual(l.address, { socket_address: { address: '0.0.0.0', port_value: 5000 } });
    const hcm = l.filter_chains?.[0]?.filters[0]?.typed_config as { rds: { route_config_name: string }; stat_prefix: string };
    assert.equal(hcm.rds.route_config_name, 'http_proxy');
    assert.equal(hcm.stat_prefix, 'outbound_0.0.0.0_5000');
    assert.equal(l.traffic_direction, 'OUTBOUND');
  });

  it('ORIGINAL_DST clusters: PassthroughCluster, InboundPassthroughClusterIpv4 and inbound|5000|| from 127.0.0.6', () => {
    const r = hello(mesh());
    assert.deepEqual(cluster(r, 'PassthroughCluster'), { name: 'PassthroughCluster', type: 'ORIGINAL_DST', connect_timeout: { seconds: 10, nanos: 0 }, lb_policy: 'CLUSTER_PROVIDED' });
    for (const name of ['InboundPassthroughClusterIpv4', 'inbound|5000||']) {
      const c = cluster(r, name);
      assert.equal(c.type, 'ORIGINAL_DST');
      assert.equal(c.lb_policy, 'CLUSTER_PROVIDED');
      assert.deepEqual(c.upstream_bind_config, { source_address: { address: '127.0.0.6', port_value: 0 } });
    }
    assert.equal(cluster(r, 'BlackHoleCluster').load_assignment, undefined);
  });

  it('virtualInbound PERMISSIVE (default): per port an mTLS chain on Istio ALPN and a plaintext one, then passthrough chains', () => {
    const vi = listener(hello(mesh()), 'virtualInbound');
    assert.deepEqual(vi.address, { socket_address: { address: '0.0.0.0', port_value: 15006 } });
    assert.deepEqual(vi.listener_filters?.map((f) => f.name), ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector']);
    assert.deepEqual(vi.filter_chains?.map(brief), [
      ['virtualInbound-blackhole', 15006, null, false, 'envoy.filters.network.tcp_proxy'],
      ['inbound|5000||-mtls', 5000, 'tls', true, 'envoy.filters.network.http_connection_manager'],
      ['inbound|5000||', 5000, null, false, 'envoy.filters.network.http_connection_manager'],
      ['virtualInbound-mtls-passthrough', null, 'tls', true, 'envoy.filters.network.tcp_proxy'],
      ['virtualInbound-passthrough', null, null, false, 'envoy.filters.network.tcp_proxy'],
    ]);
  });

  it('virtualInbound under STRICT: mTLS chains only, for the port and for passthrough (a plaintext dial is refused)', () => {
    const vi = listener(hello(mesh(STRICT)), 'virtualInbound');
    assert.deepEqual(vi.filter_chains?.map(brief), [
      ['virtualInbound-blackhole', 15006, null, false, 'envoy.filters.network.tcp_proxy'],
      ['inbound|5000||-mtls', 5000, null, true, 'envoy.filters.network.http_connection_manager'],
      ['virtualInbound-mtls-passthrough', null, null, true, 'envoy.filters.network.tcp_proxy'],
    ]);
  });

  it('the inbound chains are those of the http_proxy model\'s inbound listener, plus the destination port', () => {
    const m = mesh(STRICT);
    const plain = listener(hello(m, false), '127.10.0.2_5000');
    const vi = listener(hello(m), 'virtualInbound');
    const chain = vi.filter_chains?.find((c) => c.name === 'inbound|5000||-mtls');
    const { name: _n, filter_chain_match: match, ...rest } = chain!;
    assert.deepEqual(match, { destination_port: { value: 5000 } });
    assert.deepEqual(rest, plain.filter_chains?.[0]);
  });

  it('TCP service ports get <ClusterIP>_<port> listeners to the service cluster', () => {
    const m = mesh(`
apiVersion: v1
kind: Service
metadata: {name: db, namespace: sample}
spec: {ports: [{name: tcp-db, port: 5432}], selector: {app: db}}
`, (s) => {
      const db = s.services.find((svc) => svc.name === 'db')!;
      db.clusterIPs = { 'cluster-1': '10.96.0.40' };
    });
    const l = listener(sleep(m), '10.96.0.40_5432');
    assert.deepEqual(l.bind_to_port, { value: false });
    assert.equal((l.filter_chains?.[0]?.filters.at(-1)?.typed_config as { cluster: string }).cluster, 'outbound|5432||db.sample.svc.cluster.local');
    assert.ok(!sleep(m).listeners.some((x) => x.name === '0.0.0.0_5432'));
  });

  it('without INTERCEPTION_MODE nothing changes: the http_proxy listener on the pod IP, inbound listeners per port', () => {
    const r = hello(mesh(), false);
    const names = r.listeners.map((l) => l.name);
    assert.deepEqual(names.filter((n) => n.startsWith('virtual')), []);
    assert.ok(names.includes('127.10.0.2_15001') && names.includes('127.10.0.2_5000'), names.join(', '));
    assert.ok(!r.clusters.some((c) => c.type === 'ORIGINAL_DST'));
  });

  it('AuthorizationPolicy RBAC lands on virtualInbound\'s chains, not on the outbound listeners', () => {
    const m = mesh(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: sample}
spec: {action: DENY, rules: [{}]}
`);
    const r = hello(m);
    const vi = listener(r, 'virtualInbound');
    const hcm = vi.filter_chains?.find((c) => c.name === 'inbound|5000||')?.filters.find((f) => f.name === 'envoy.filters.network.http_connection_manager')?.typed_config as { http_filters: { name: string }[] };
    assert.equal(hcm.http_filters[0]?.name, 'envoy.filters.http.rbac');
    const out = listener(r, '0.0.0.0_5000').filter_chains?.[0]?.filters[0]?.typed_config as { http_filters: { name: string }[] };
    assert.ok(!out.http_filters.some((f) => f.name === 'envoy.filters.http.rbac'));
  });
});

describe('interception: requests walked as Envoy would (simulate)', () => {
  const m = () => {
    const clusters = scenarioClusters(['destinationrule', 'virtualservice']);
    return { clusters, snapshot: buildSnapshot(clusters) };
  };
  it("a call to helloworld's ClusterIP:5000 lands on 0.0.0.0_5000 and gets the scenario's 80/20 v1/v2 split", () => {
    const r = sleep(m());
    const result = simulate(r, { originalDestination: { address: '10.96.0.50', port: 5000 }, host: 'helloworld.sample:5000', path: '/hello' });
    assert.equal(result.outcome, 'routed');
    assert.equal(result.listener, '0.0.0.0_5000');
    assert.deepEqual(result.clusters.map((c) => [c.name, c.weight]), [['outbound|5000|v1|helloworld.sample.svc.cluster.local', 80], ['outbound|5000|v2|helloworld.sample.svc.cluster.local', 20]]);
  });
  it('an address and port no service has stays on virtualOutbound (PassthroughCluster, no HTTP routing)', () => {
    const result = simulate(sleep(m()), { originalDestination: { address: '93.184.216.34', port: 8443 }, host: 'example.com', path: '/' });
    assert.equal(result.listener, 'virtualOutbound');
    assert.equal(result.outcome, 'no-route-config');
  });
});
