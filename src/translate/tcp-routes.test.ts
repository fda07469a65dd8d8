// Gateway TCP and TLS PASSTHROUGH servers: the listeners, filter chains and tcp_proxy filters Istio
// emits for VirtualService tcp/tls routes, and what analyze says about what is not served.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Listener, TcpProxy } from './envoy-types.js';
import type { Problem } from '../config/problems.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters } from './testdata/fixture.js';
import { analyze, translate } from './translate.js';

const HW = 'helloworld.sample.svc.cluster.local';
const TCP_ECHO = 'tcp-echo.sample.svc.cluster.local';

const SERVICES = `apiVersion: v1
kind: Service
metadata: {name: tcp-echo}
spec:
  selector: {app: tcp-echo}
  ports: [{name: tcp, port: 9000}, {name: tcp-other, port: 9001}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: tcp-echo}
spec:
  host: tcp-echo
  trafficPolicy: {connectionPool: {tcp: {idleTimeout: 30s, maxConnectionDuration: 1h}}}
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`;

function gatewayWith(yaml: string) {
  const clusters = scenarioClusters(['destinationrule']);
  for (const c of clusters) c.apply('sample', parseYaml(SERVICES + '---\n' + yaml, 'test config'));
  const snapshot = buildSnapshot(clusters);
  const gateway = proxyFor(clusters[0]!.pod('istio-ingressgateway'), 'router');
  return { snapshot, gateway, resources: translate(snapshot, gateway) };
}

const brief = (problems: Problem[]): string[] => problems.map((p) => `${p.severity} ${p.code} ${p.kind} ${p.namespace}/${p.name} ${p.field}`);
const listenerAt = (listeners: Listener[], port: number) => listeners.find((l) => l.address?.socket_address.port_value === port);
const tcpProxyOf = (chain: { filters: { typed_config: unknown }[] }) => chain.filters[0]!.typed_config as TcpProxy;

describe('gateway TCP servers (VirtualService tcp routes)', () => {
  it('a TCP server gets a listener on the pod IP with one tcp_proxy chain: weighted clusters, stat prefix <vs>.<ns>, the DestinationRule\'s idle timeout', () => {
    const { resources, gateway } = gatewayWith(`apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: tcp-gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 31400, name: tcp, protocol: TCP}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tcp-split}
spec:
  hosts: ['*']
  gateways: [tcp-gw]
  tcp:
  - match: [{port: 31401}]
    route: [{destination: {host: helloworld}}]
  - match: [{port: 31400}]
    route:
    - {destination: {host: tcp-echo, subset: v1, port: {number: 9000}}, weight: 80}
    - {destination: {host: tcp-echo, subset: v2, port: {number: 9000}}, weight: 20}
`);
    // maxConnectionDuration on the HTTP side of the cluster: Envoy applies it, the meshwork proxy reports it.
    assert.deepEqual(brief(resources.problems), ['warning unsupported DestinationRule sample/tcp-echo spec.trafficPolicy.connectionPool']);
    const listener = listenerAt(resources.listeners, 31400);
    assert.ok(listener, 'a listener on 31400');
    assert.equal(listener.name, '0.0.0.0_31400');
    assert.equal(listener.address?.socket_address.address, gateway.ip);
    assert.equal(listener.listener_filters, undefined, 'no tls_inspector without SNI chains');
    assert.equal(listener.filter_chains?.length, 1);
    assert.equal(listener.filter_chains![0]!.filter_chain_match, undefined);
    assert.equal(listener.filter_chains![0]!.filters[0]!.name, 'envoy.filters.network.tcp_proxy');
    assert.deepEqual(tcpProxyOf(listener.filter_chains![0]!), {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      stat_prefix: 'tcp-split.sample',
      weighted_clusters: { clusters: [{ name: `outbound|9000|v1|${TCP_ECHO}`, weight: 80 }, { name: `outbound|9000|v2|${TCP_ECHO}`, weight: 20 }] },
      idle_timeout: { seconds: 30, nanos: 0 },
      max_downstream_connection_duration: { seconds: 3600, nanos: 0 },
    });
    assert.ok(!resources.routes.some((r) => r.name === 'http.31400'), 'a TCP port has no route configuration');
  });

  it('one destination: cluster and stat prefix are the cluster name; a destination without port on a multi-port service goes to the server port', () => {
    const { resources } = gatewayWith(`apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: tcp-gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 9000, name: tcp, protocol: TCP}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tcp-one}
spec:
  hosts: ['*']
  gateways: [tcp-gw]
  tcp: [{route: [{destination: {host: tcp-echo}}]}]
`);
    const proxy = tcpProxyOf(listenerAt(resources.listeners, 9000)!.filter_chains![0]!);
    assert.equal((proxy as { cluster?: string }).cluster, `outbound|9000||${TCP_ECHO}`);
    assert.equal(proxy.stat_prefix, `outbound|9000||${TCP_ECHO}`);
  });

  it('a TCP server no route serves opens no port, and analyze says so; HTTP and TCP on one port: the first server wins', () => {
    const yaml = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: tcp-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 31400, name: tcp, protocol: TCP}, hosts: ['*']}
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}
  - {port: {number: 80, name: tcp-on-http, protocol: TCP}, hosts: ['*']}
`;
    const { resources, snapshot } = gatewayWith(yaml);
    assert.equal(listenerAt(resources.listeners, 31400), undefined);
    const found = brief(analyze(snapshot)).filter((p) => p.includes('tcp-gw'));
    assert.deepEqual(found, ['warning server-without-route Gateway sample/tcp-gw spec.servers[0]', 'warning invalid-config Gateway sample/tcp-gw spec.servers[2].port']);
    assert.deepEqual(brief(resources.problems), ['warning unsupported DestinationRule sample/tcp-echo spec.trafficPolicy.connectionPool', 'warning invalid-config Gateway sample/tcp-gw spec.servers[2].port']);
    assert.ok(listenerAt(resources.listeners, 80)?.filter_chains?.[0]?.filters[0]?.name === 'envoy.filters.network.http_connection_manager');
  });
});

describe('gateway TLS PASSTHROUGH servers (VirtualService tls routes by SNI)', () => {
  const GATEWAY = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: tls-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 8443, name: tls, protocol: TLS}, hosts: ['*.example.com'], tls: {mode: PASSTHROUGH}}
`;
  it('a tls_inspector and a chain per match: server_names sorted, weighted or single tcp_proxy; a duplicate SNI is skipped and reported', () => {
    const { resources } = gatewayWith(GATEWAY + `---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: by-sni}
spec:
  hosts: [a.example.com, '*.wild.example.com']
  gateways: [tls-gw]
  tls:
  - match: [{sniHosts: [a.example.com], port: 8443}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{sniHosts: ['*.wild.example.com', b.wild.example.com]}]
    route: [{destination: {host: helloworld, subset: v1}, weight: 50}, {destination: {host: helloworld, subset: v2}, weight: 50}]
  - match: [{sniHosts: [a.example.com]}]
    route: [{destination: {host: helloworld, subset: v2}}]
  - match: [{sniHosts: [c.example.com], port: 9999}]
    route: [{destination: {host: helloworld, subset: v2}}]
`);
    assert.deepEqual(brief(resources.problems), ['warning unsupported DestinationRule sample/tcp-echo spec.trafficPolicy.connectionPool', 'warning duplicate-host VirtualService sample/by-sni spec.tls[2].match[0].sniHosts']);
    const listener = listenerAt(resources.listeners, 8443)!;
    assert.deepEqual(listener.listener_filters, [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }]);
    assert.deepEqual(listener.filter_chains!.map((c) => c.filter_chain_match), [{ server_names: ['a.example.com'] }, { server_names: ['*.wild.example.com', 'b.wild.example.com'] }]);
    assert.equal((tcpProxyOf(listener.filter_chains![0]!) as { cluster?: string }).cluster, `outbound|5000|v1|${HW}`);
    assert.equal(tcpProxyOf(listener.filter_chains![1]!).stat_prefix, 'by-sni.sample');
  });

  it('GRPC-WEB (no grpc_web filter) and bind are reported; the server is still served', () => {
    const { resources } = gatewayWith(`apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: web-gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: grpc-web, protocol: GRPC-WEB}, hosts: ['*'], bind: 10.0.0.1}]
`);
    assert.deepEqual(brief(resources.problems), ['warning unsupported DestinationRule sample/tcp-echo spec.trafficPolicy.connectionPool', 'warning unsupported Gateway sample/web-gw spec.servers[0].bind', 'warning unsupported Gateway sample/web-gw spec.servers[0].port.protocol']);
    assert.ok(listenerAt(resources.listeners, 8080));
  });

  it('TLS termination then TCP (protocol TLS, SIMPLE), AUTO_PASSTHROUGH and UDP are reported unsupported with the reason; the server is skipped', () => {
    const { snapshot, resources } = gatewayWith(`apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: tls-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 443, name: tls-terminated, protocol: TLS}, hosts: ['*'], tls: {mode: SIMPLE, credentialName: cert}}
  - {port: {number: 15443, name: tls, protocol: TLS}, hosts: ['*.local'], tls: {mode: AUTO_PASSTHROUGH}}
  - {port: {number: 5353, name: udp, protocol: UDP}, hosts: ['*']}
`);
    const found = analyze(snapshot).filter((p) => p.name === 'tls-gw');
    assert.deepEqual(brief(found), [
      'warning unsupported Gateway sample/tls-gw spec.servers[0].tls.mode',
      'warning unsupported Gateway sample/tls-gw spec.servers[1].tls.mode',
      'warning unsupported Gateway sample/tls-gw spec.servers[2].port.protocol',
    ]);
    assert.match(found[0]!.message, /TLS servers that terminate TLS \(tls\.mode SIMPLE\) and then route TCP are not supported yet/);
    assert.match(found[1]!.message, /east-west/);
    for (const port of [443, 15443, 5353]) assert.equal(listenerAt(resources.listeners, port), undefined);
  });
});

describe('mesh tcp and tls routes: CONNECT routes on the sidecar\'s outbound HTTP proxy', () => {
  function sidecarWith(yaml: string) {
    const clusters = scenarioClusters(['destinationrule']);
    for (const c of clusters) c.apply('sample', parseYaml(SERVICES + (yaml ? '---\n' + yaml : ''), 'test config'));
    const snapshot = buildSnapshot(clusters);
    return { snapshot, resources: translate(snapshot, proxyFor(clusters[0]!.pod('sleep'), 'sidecar')) };
  }
  const vhostsOf = (resources: ReturnType<typeof translate>) => resources.routes.find((r) => r.name === 'http_proxy')!.virtual_hosts;

  it('the outbound HCM accepts CONNECT; each TCP port gets host:port domains only and the service\'s cluster, idle timeout from the DestinationRule', () => {
    const { resources } = sidecarWith('');
    const outbound = resources.listeners.find((l) => l.name.endsWith('_15001'))!;
    assert.deepEqual((outbound.filter_chains![0]!.filters[0]!.typed_config as { upgrade_configs?: unknown }).upgrade_configs, [{ upgrade_type: 'CONNECT' }]);
    const vhost = vhostsOf(resources).find((v) => v.name === `${TCP_ECHO}:9000`)!;
    assert.deepEqual(vhost.domains, [`${TCP_ECHO}:9000`, 'tcp-echo.sample.svc:9000', 'tcp-echo.sample:9000', 'tcp-echo:9000']);
    assert.deepEqual(vhost.routes, [{
      name: 'connect',
      match: { connect_matcher: {} },
      route: { cluster: `outbound|9000||${TCP_ECHO}`, timeout: { seconds: 0, nanos: 0 }, idle_timeout: { seconds: 30, nanos: 0 }, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] },
    }]);
    assert.deepEqual(brief(resources.problems), ['warning unsupported DestinationRule sample/tcp-echo spec.trafficPolicy.connectionPool', 'warning unsupported DestinationRule sample/tcp-echo spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration']);
  });

  it('a tcp route whose sourceLabels match the client is used (weighted), one that does not is skipped; destinationSubnets is reported and skipped', () => {
    const { resources, snapshot } = sidecarWith(`apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tcp-echo}
spec:
  hosts: [tcp-echo]
  tcp:
  - match: [{destinationSubnets: [10.0.0.0/8]}]
    route: [{destination: {host: helloworld}}]
  - match: [{sourceLabels: {app: nobody}}]
    route: [{destination: {host: tcp-echo, subset: v2}}]
  - match: [{sourceLabels: {app: sleep}, port: 9000}]
    route: [{destination: {host: tcp-echo, subset: v1}, weight: 60}, {destination: {host: tcp-echo, subset: v2}, weight: 40}]
`);
    const route = vhostsOf(resources).find((v) => v.name === `${TCP_ECHO}:9000`)!.routes[0]!;
    assert.ok('route' in route);
    assert.deepEqual((route.route as { weighted_clusters?: unknown }).weighted_clusters, { clusters: [{ name: `outbound|9000|v1|${TCP_ECHO}`, weight: { value: 60 } }, { name: `outbound|9000|v2|${TCP_ECHO}`, weight: { value: 40 } }] });
    assert.ok(brief(resources.problems).includes('warning unsupported VirtualService sample/tcp-echo spec.tcp[0].match[0].destinationSubnets'));
    assert.ok(brief(analyze(snapshot)).includes('warning unsupported VirtualService sample/tcp-echo spec.tcp[0].match[0].destinationSubnets'));
  });

  it('tls routes: a virtual host per sniHosts name on the TLS port; the service\'s names the routes do not claim go to the service', () => {
    const { resources } = sidecarWith(`apiVersion: v1
kind: Service
metadata: {name: tls-echo}
spec:
  selector: {app: tls-echo}
  ports: [{name: https, port: 443}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tls-echo}
spec:
  hosts: [tls-echo]
  tls:
  - match: [{sniHosts: [tls-echo.sample.svc.cluster.local, '*.example.com']}]
    route: [{destination: {host: tcp-echo, port: {number: 9000}}}]
`);
    const vhosts = vhostsOf(resources).filter((v) => v.domains.some((d) => d.endsWith(':443') && !d.includes('ingressgateway')));
    assert.deepEqual(vhosts.map((v) => v.domains), [
      ['tls-echo.sample.svc.cluster.local:443', '*.example.com:443'],
      ['tls-echo.sample.svc:443', 'tls-echo.sample:443', 'tls-echo:443'],
    ]);
    assert.equal((vhosts[0]!.routes[0] as { route: { cluster: string } }).route.cluster, `outbound|9000||${TCP_ECHO}`);
    assert.equal((vhosts[1]!.routes[0] as { route: { cluster: string } }).route.cluster, 'outbound|443||tls-echo.sample.svc.cluster.local');
  });

  it('analyze: tcp/tls routes for a service without a TCP/TLS port apply nowhere; an undeclared port is HTTP here (no sniffing) and says how to fix it', () => {
    const { snapshot } = sidecarWith(`apiVersion: v1
kind: Service
metadata: {name: plain}
spec:
  selector: {app: plain}
  ports: [{port: 7000}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: plain}
spec:
  hosts: [plain]
  tcp: [{route: [{destination: {host: plain}}]}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: hw-tls}
spec:
  hosts: [helloworld]
  tls: [{match: [{sniHosts: [helloworld]}], route: [{destination: {host: helloworld}}]}]
`);
    const found = analyze(snapshot).filter((p) => p.field === 'spec.tcp' || p.field === 'spec.tls');
    assert.deepEqual(brief(found), ['warning unsupported VirtualService sample/hw-tls spec.tls', 'warning unsupported VirtualService sample/plain spec.tcp']);
    assert.match(found[1]!.message, /port 7000 declares no protocol, which Istio would sniff/);
    assert.match(found[0]!.message, /as in Istio/);
  });
});

