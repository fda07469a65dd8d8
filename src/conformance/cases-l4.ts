// Conformance cases: TCP and TLS (SNI) routes, Gateway TCP/TLS servers. Raw TCP and TLS connections
// go through the listener; the upstreams greet with their name (and the SNI they were asked for) and
// echo, so which upstream served a connection, and that the ClientHello arrived untouched, are visible.

import assert from 'node:assert/strict';
import type { ConformanceCase } from './case.js';
import { fromIstioGateway, HELLOWORLD_V1, HELLOWORLD_V2 } from './resources.js';

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

const tcp = (body: string, extra: { holdMs?: number; halfClose?: boolean } = {}) => ({ path: '', protocol: 'tcp' as const, body, ...extra });
const tlsTo = (sni: string | undefined) => ({ path: '', protocol: 'tls' as const, body: 'hello over tls', ...(sni ? { sni } : {}) });

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
];
