// Conformance cases: TCP and TLS (SNI) routes, Gateway TCP/TLS servers. Raw TCP and TLS connections
// go through the listener; the upstreams greet with their name (and the SNI they were asked for) and
// echo, so which upstream served a connection, and that the ClientHello arrived untouched, are visible.

import assert from 'node:assert/strict';
import type { ConformanceCase } from './case.js';
import { fromIstio, fromIstioGateway, fromIstioGatewayHttp, HELLOWORLD_V1, HELLOWORLD_V2, type CaseResources } from './resources.js';

const TCP_UPSTREAMS = { [HELLOWORLD_V1]: ['tcp-b'], [HELLOWORLD_V2]: ['tcp-c'] };
const TLS_UPSTREAMS = { [HELLOWORLD_V1]: ['tls-b'], [HELLOWORLD_V2]: ['tls-c'] };

function tcpGateway(tcpRoutes: string, extra = ''): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: tcp-gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 31400, name: tcp, protocol: TCP}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tcp-vs}
spec:
  hosts: ['*']
  gateways: [tcp-gw]
  tcp:
${tcpRoutes}${extra}`;
}

const TLS_GATEWAY = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: tls-gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8443, name: tls, protocol: TLS}, hosts: ['*.example.com'], tls: {mode: PASSTHROUGH}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tls-vs}
spec:
  hosts: ['*.example.com']
  gateways: [tls-gw]
  tls:
  - match: [{sniHosts: [a.example.com]}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{sniHosts: ['*.wild.example.com']}]
    route: [{destination: {host: helloworld, subset: v2}}]
`;

const tcp = (body: string, extra: { holdMs?: number; halfClose?: boolean; connect?: string } = {}) => ({ path: '', protocol: 'tcp' as const, body, ...extra });
const tlsTo = (sni: string | undefined, connect?: string) => ({ path: '', protocol: 'tls' as const, body: 'hello over tls', ...(sni ? { sni } : {}), ...(connect ? { connect } : {}) });

// Mesh tcp/tls routes: the sleep sidecar's outbound HTTP proxy, CONNECT host:port to a TCP/TLS service port.
const ECHO = 'tcp-echo.sample.svc.cluster.local';
const ECHO_SERVICE = `apiVersion: v1
kind: Service
metadata: {name: tcp-echo}
spec:
  selector: {app: tcp-echo}
  ports: [{name: tcp, port: 9000}, {name: tls, port: 9443}]
`;
const echoRule = (pool = '') => `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: tcp-echo}
spec:
  host: tcp-echo
${pool}  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`;
const CONNECT_UPSTREAMS = {
  [`outbound|9000||${ECHO}`]: ['tcp-a'], [`outbound|9000|v1|${ECHO}`]: ['tcp-b'], [`outbound|9000|v2|${ECHO}`]: ['tcp-c'],
  [`outbound|9443||${ECHO}`]: ['tls-a'], [`outbound|9443|v1|${ECHO}`]: ['tls-b'], [`outbound|9443|v2|${ECHO}`]: ['tls-c'],
};
/** The sidecar outbound HCM lets CONNECT in (upgrade_configs), as the translator writes it. */
function meshConnect(vsSpec: string, rule = echoRule()): CaseResources {
  const res = fromIstio(`${ECHO_SERVICE}---\n${rule}---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tcp-echo}
spec:
  hosts: [tcp-echo]
${vsSpec}`, { upstreams: CONNECT_UPSTREAMS });
  return { ...res, hcm: { upgrade_configs: [{ upgrade_type: 'CONNECT' }] } };
}

export const L4_CASES: ConformanceCase[] = [
  {
    name: 'gateway TCP server: tcp route weighted 80/20, chosen per connection (Istio)',
    resources: () =>
      fromIstioGateway(tcpGateway(`  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 80}
    - {destination: {host: helloworld, subset: v2}, weight: 20}
`), 31400, TCP_UPSTREAMS),
    distribution: { request: tcp('split me'), count: 400, weights: { 'upstream:tcp-b': 80, 'upstream:tcp-c': 20 } },
  },
  {
    name: 'gateway TCP server: bytes both ways, the client\'s half-close passed on (Istio)',
    resources: () => fromIstioGateway(tcpGateway('  - route: [{destination: {host: helloworld, subset: v1}}]\n'), 31400, TCP_UPSTREAMS),
    requests: [tcp('one'), tcp('x'.repeat(200_000)), tcp('y'.repeat(200_000), { halfClose: true })],
    expectUpstreams: ['tcp-b', 'tcp-b', 'tcp-b'],
    compareBody: true,
  },
  {
    name: 'gateway TCP server: no endpoint behind the route closes the connection (Istio)',
    resources: () => ({ ...fromIstioGateway(tcpGateway('  - route: [{destination: {host: helloworld, subset: v1}}]\n'), 31400, { [HELLOWORLD_V1]: [] }) }),
    requests: [tcp('nobody home')],
    expectUpstreams: [undefined],
    compareBody: true,
  },
  {
    name: 'gateway TCP server: DestinationRule connectionPool.tcp.idleTimeout closes an idle connection (Istio)',
    resources: () =>
      fromIstioGateway(tcpGateway('  - route: [{destination: {host: helloworld, subset: v1}}]\n', `---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy: {connectionPool: {tcp: {idleTimeout: 1s}}}
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`), 31400, TCP_UPSTREAMS),
    requests: [tcp('then silence', { holdMs: 3000 })],
    expectUpstreams: ['tcp-b'],
    compareBody: true,
    check: (o, target) => {
      assert.ok(o.body.endsWith('|closed'), `${target}: the idle connection was not closed: ${o.body}`);
      assert.ok(o.elapsedMs > 800 && o.elapsedMs < 2500, `${target}: closed ${Math.round(o.elapsedMs)} ms after the last byte, want ~1000`);
    },
  },
  {
    name: 'gateway TLS PASSTHROUGH server: SNI exact, wildcard, no match and no SNI; the ClientHello reaches the backend untouched (Istio)',
    resources: () => fromIstioGateway(TLS_GATEWAY, 8443, TLS_UPSTREAMS),
    requests: [tlsTo('a.example.com'), tlsTo('x.wild.example.com'), tlsTo('a.b.wild.example.com'), tlsTo('wild.example.com'), tlsTo('b.example.com'), tlsTo(undefined)],
    expectUpstreams: ['tls-b', 'tls-c', 'tls-c', undefined, undefined, undefined],
    compareBody: true,
  },
  {
    name: 'gateway TLS PASSTHROUGH server: sniHosts "*" is a chain for any ClientHello, more specific names first (Istio)',
    resources: () =>
      fromIstioGateway(TLS_GATEWAY.replace('hosts: [\'*.example.com\'], tls', 'hosts: [\'*\'], tls').replace("hosts: ['*.example.com']\n  gateways", "hosts: ['*']\n  gateways") + `  - match: [{sniHosts: ['*']}]
    route: [{destination: {host: helloworld, subset: v2}}]
`, 8443, TLS_UPSTREAMS),
    requests: [tlsTo('a.example.com'), tlsTo('other.test'), tlsTo(undefined)],
    expectUpstreams: ['tls-b', 'tls-c', 'tls-c'],
    compareBody: true,
  },
  {
    name: 'mesh tcp route: CONNECT to a TCP service port, weighted 70/30 per tunnel (Istio)',
    resources: () => meshConnect(`  tcp:
  - route:
    - {destination: {host: tcp-echo, subset: v1}, weight: 70}
    - {destination: {host: tcp-echo, subset: v2}, weight: 30}
`),
    distribution: { request: tcp('through the tunnel', { connect: 'tcp-echo.sample:9000' }), count: 300, weights: { 'upstream:tcp-b': 70, 'upstream:tcp-c': 30 } },
  },
  {
    name: 'mesh tcp route: sourceLabels and port matches, every service name, the client\'s FIN ends the tunnel, unknown host 404, an HTTP port has no CONNECT route (Istio)',
    resources: () => meshConnect(`  tcp:
  - match: [{sourceLabels: {app: nobody}}]
    route: [{destination: {host: tcp-echo, subset: v2}}]
  - match: [{port: 9000, sourceLabels: {app: sleep}}]
    route: [{destination: {host: tcp-echo, subset: v1}}]
`),
    requests: [
      tcp('short name', { connect: 'tcp-echo:9000' }),
      tcp('fqdn', { connect: `${ECHO}:9000` }),
      // No half-close here: a FIN sent with the data races Envoy's upstream connect (it ends the tunnel on FIN).
      tcp('y'.repeat(100_000), { connect: 'tcp-echo.sample.svc:9000' }),
      tcp('nobody', { connect: 'nosuch.sample:9000' }),
      tcp('http port', { connect: 'helloworld.sample:5000' }),
    ],
    expectUpstreams: ['tcp-b', 'tcp-b', 'tcp-b', undefined, undefined],
    compareBody: true,
  },
  {
    name: 'mesh tls route: the CONNECT host is matched against sniHosts (exact, wildcard); the service\'s other names go to the service (Istio)',
    resources: () => meshConnect(`  tls:
  - match: [{sniHosts: [${ECHO}]}]
    route: [{destination: {host: tcp-echo, subset: v1}}]
  - match: [{sniHosts: ['*.wild.example.com']}]
    route: [{destination: {host: tcp-echo, subset: v2}}]
`),
    requests: [
      tlsTo(ECHO, `${ECHO}:9443`),
      tlsTo('x.wild.example.com', 'x.wild.example.com:9443'),
      tlsTo('tcp-echo.sample', 'tcp-echo.sample:9443'),
      tlsTo('other.example.com', 'other.example.com:9443'),
    ],
    expectUpstreams: ['tls-b', 'tls-c', 'tls-a', undefined],
    compareBody: true,
  },
  {
    name: 'mesh tcp route: the DestinationRule\'s connectionPool.tcp.idleTimeout closes an idle CONNECT tunnel (Istio)',
    resources: () => meshConnect('  tcp: [{route: [{destination: {host: tcp-echo, subset: v1}}]}]\n', echoRule('  trafficPolicy: {connectionPool: {tcp: {idleTimeout: 1s}}}\n')),
    requests: [tcp('then silence', { connect: 'tcp-echo:9000', holdMs: 3000 })],
    expectUpstreams: ['tcp-b'],
    compareBody: true,
    check: (o, target) => {
      assert.ok(o.body.endsWith('|closed'), `${target}: the idle tunnel was not closed: ${o.body}`);
      assert.ok(o.elapsedMs > 800 && o.elapsedMs < 2500, `${target}: closed ${Math.round(o.elapsedMs)} ms after the last byte, want ~1000`);
    },
  },
  ...(['HTTP2', 'GRPC'] as const).map((protocol): ConformanceCase => ({
    name: `gateway ${protocol} server: the listener serves HTTP/2 cleartext (prior knowledge) and HTTP/1.1 on one port (Istio: codec AUTO)`,
    resources: () =>
      fromIstioGatewayHttp(`apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: h2-gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: ${protocol.toLowerCase()}, protocol: ${protocol}}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: h2-vs}
spec:
  hosts: ['*']
  gateways: [h2-gw]
  http:
  - match: [{uri: {prefix: /v1}}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - route: [{destination: {host: helloworld, subset: v2}}]
`, 8080),
    requests: [
      { path: '/v1/x', host: 'h2.example.com', protocol: 'h2c' },
      { path: '/other', host: 'h2.example.com', protocol: 'h2c' },
      { path: '/v1/y', host: 'h2.example.com' },
    ],
    expectUpstreams: ['b', 'c', 'b'],
  })),
];
