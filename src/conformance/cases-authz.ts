// Conformance cases: AuthorizationPolicy, translated for helloworld-v1's inbound listener (HTTP) or the
// ingress gateway's TCP listener, enforced by Envoy's RBAC filters and by ours. A denied request is a
// 403 "RBAC: access denied"; a denied TCP connection is closed. Principals, namespaces and service
// accounts over mTLS: the same inbound listener under a STRICT PeerAuthentication, its translated TLS
// chain, clients presenting SPIFFE certificates of the test PKI (sleep, intruder, sleep of another namespace).

import assert from 'node:assert/strict';
import type { CaseRequest, ConformanceCase } from './case.js';
import { get, inboundAuthz } from './case-builders.js';
import { gatewayTrust } from '../translate/listeners.js';
import { fromIstioGateway, fromIstioGatewayHttp, HELLOWORLD_V1 } from './resources.js';
import { CLIENT_ID, type ClientCertName } from './tls-pki.js';

/** An AuthorizationPolicy in namespace sample for helloworld; `rules` is YAML indented by 2 (or '' for none). */
function policy(name: string, action: string, rules: string, extra = ''): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: helloworld}}
  action: ${action}
${extra}${rules}`;
}

const both = (...docs: string[]): string => docs.join('---\n');

/** Each request's expected outcome: upstream `a` or the RBAC denial (undefined). */
function http(name: string, yaml: string, requests: Array<[CaseRequest, 'allowed' | 'denied']>, hcmExtra: Record<string, unknown> = {}): ConformanceCase {
  return {
    name: `AuthorizationPolicy: ${name}`,
    compareBody: true,
    resources: inboundAuthz(yaml, hcmExtra),
    requests: requests.map(([r]) => r),
    expectUpstreams: requests.map(([, outcome]) => (outcome === 'allowed' ? 'a' : undefined)),
  };
}

/** Each client certificate's outcome, on the mTLS (STRICT) inbound listener: upstream `a` or the RBAC denial. */
function mtls(name: string, yaml: string, requests: Array<[ClientCertName, 'allowed' | 'denied', CaseRequest?]>): ConformanceCase {
  return {
    name: `AuthorizationPolicy over mTLS (STRICT): ${name}`,
    compareBody: true,
    resources: inboundAuthz(yaml, {}, true),
    requests: requests.map(([clientCert, , r]) => ({ ...(r ?? get('/hello')), protocol: r?.protocol ?? 'https', clientCert })),
    expectUpstreams: requests.map(([, outcome]) => (outcome === 'allowed' ? 'a' : undefined)),
    // A denial is RBAC's 403, not a refused handshake: the case is about authorization, not the TLS chain.
    check: (o, target) => assert.ok(o.status === 200 || o.status === 403, `${target}: status ${o.status} ${o.body}`),
  };
}

const MTLS_CASES: ConformanceCase[] = [
  mtls('ALLOW principals exact: only sleep', policy('sleep-only', 'ALLOW', "  rules: [{from: [{source: {principals: ['cluster.local/ns/sample/sa/sleep']}}]}]\n"), [
    ['client', 'allowed'], ['intruder', 'denied'], ['otherSleep', 'denied'], ['client', 'allowed', get('/hello', { protocol: 'h2' })], ['intruder', 'denied', get('/hello', { protocol: 'h2' })],
  ]),
  mtls('ALLOW principals prefix cluster.local/ns/sample/*: every identity of namespace sample', policy('sample-prefix', 'ALLOW', "  rules: [{from: [{source: {principals: ['cluster.local/ns/sample/*']}}]}]\n"), [
    ['client', 'allowed'], ['intruder', 'allowed'], ['otherSleep', 'denied'],
  ]),
  mtls('ALLOW principals suffix */sa/sleep: sleep of any namespace', policy('sleep-suffix', 'ALLOW', "  rules: [{from: [{source: {principals: ['*/sa/sleep']}}]}]\n"), [
    ['client', 'allowed'], ['intruder', 'denied'], ['otherSleep', 'allowed'],
  ]),
  mtls('ALLOW namespaces [sample]; principals "*" (any mTLS peer) only for /any', both(
    policy('ns-sample', 'ALLOW', '  rules: [{from: [{source: {namespaces: [sample]}}]}]\n'),
    policy('any-peer', 'ALLOW', "  rules: [{from: [{source: {principals: ['*']}}], to: [{operation: {paths: [/any]}}]}]\n"),
  ), [
    ['client', 'allowed'], ['intruder', 'allowed'], ['otherSleep', 'denied'], ['otherSleep', 'allowed', get('/any')],
  ]),
  mtls('ALLOW serviceAccounts [sleep] (in the policy\'s namespace) and [other/sleep]', policy('by-sa', 'ALLOW', "  rules: [{from: [{source: {serviceAccounts: [sleep]}}], to: [{operation: {paths: ['/local*']}}]}, {from: [{source: {serviceAccounts: [other/sleep]}}], to: [{operation: {paths: ['/other*']}}]}]\n"), [
    ['client', 'allowed', get('/local')], ['intruder', 'denied', get('/local')], ['otherSleep', 'denied', get('/local')], ['otherSleep', 'allowed', get('/other')], ['client', 'denied', get('/other')],
  ]),
  mtls('DENY notPrincipals [sleep]: everyone but sleep is denied; notNamespaces [sample] denies the other namespace first', both(
    policy('deny-not-sleep', 'DENY', "  rules: [{from: [{source: {notPrincipals: ['cluster.local/ns/sample/sa/sleep']}}], to: [{operation: {paths: ['/sleep-only*']}}]}]\n"),
    policy('deny-not-sample', 'DENY', '  rules: [{from: [{source: {notNamespaces: [sample]}}]}]\n'),
  ), [
    ['client', 'allowed', get('/sleep-only')], ['intruder', 'denied', get('/sleep-only')], ['intruder', 'allowed'], ['otherSleep', 'denied'],
  ]),
  mtls('when source.principal values and notValues', policy('when-principal', 'ALLOW', "  rules: [{when: [{key: source.principal, values: ['cluster.local/ns/*', '*/sa/sleep'], notValues: ['cluster.local/ns/other/sa/sleep']}]}]\n"), [
    ['client', 'allowed'], ['intruder', 'allowed'], ['otherSleep', 'denied'], ['intruder', 'allowed', get('/x', { method: 'POST', body: 'x' })],
  ]),
  mtls('a forged x-forwarded-client-cert naming sleep, sent with the intruder\'s certificate, is still denied (principals read the handshake)', policy('sleep-only-xfcc', 'ALLOW', "  rules: [{from: [{source: {principals: ['cluster.local/ns/sample/sa/sleep']}}]}]\n"), [
    ['intruder', 'denied', get('/hello', { headers: { 'x-forwarded-client-cert': `By=spiffe://cluster.local/ns/sample/sa/helloworld;Hash=00ff;URI=${CLIENT_ID}` } })],
    ['intruder', 'denied', get('/hello', { protocol: 'h2', headers: { 'x-forwarded-client-cert': `URI=${CLIENT_ID}` } })],
    ['client', 'allowed', get('/hello', { headers: { 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/other/sa/intruder' } })],
  ]),
];

const post = (path: string) => get(path, { method: 'POST', body: 'x' });
const hdr = (path: string, headers: Record<string, string>) => get(path, { headers });

const HTTP_CASES: ConformanceCase[] = [
  http('ALLOW methods [GET, HEAD]: other methods are denied', policy('methods', 'ALLOW', '  rules: [{to: [{operation: {methods: [GET, HEAD]}}]}]\n'), [
    [get('/hello'), 'allowed'], [post('/hello'), 'denied'], [get('/hello', { method: 'DELETE' }), 'denied'],
  ]),
  http('DENY paths: exact, prefix /x*, suffix *x; case-sensitive; the query is not part of the path', policy('paths', 'DENY', "  rules: [{to: [{operation: {paths: [/exact, '/admin*', '*.secret']}}]}]\n"), [
    [get('/exact'), 'denied'], [get('/exact?q=1'), 'denied'], [get('/exact/'), 'allowed'], [get('/admin'), 'denied'], [get('/administrator/x'), 'denied'],
    [get('/Admin'), 'allowed'], [get('/a/b.secret'), 'denied'], [get('/a/b.secret.txt'), 'allowed'], [get('/hello'), 'allowed'],
    [get('/admin', { protocol: 'h2c' }), 'denied'], [get('/hello', { protocol: 'h2c' }), 'allowed'],
  ]),
  http('ALLOW notPaths: everything but /private*', policy('not-paths', 'ALLOW', "  rules: [{to: [{operation: {notPaths: ['/private*']}}]}]\n"), [
    [get('/hello'), 'allowed'], [get('/private/x'), 'denied'], [get('/privatex'), 'denied'], [get('/x/private'), 'allowed'],
  ]),
  http('ALLOW paths "*" (presence): every path', policy('any-path', 'ALLOW', "  rules: [{to: [{operation: {paths: ['*']}}]}]\n"), [
    [get('/'), 'allowed'], [get('/anything/at/all'), 'allowed'],
  ]),
  http('an ALLOW that matches nothing denies everything (default deny)', policy('nothing', 'ALLOW', '  rules: [{to: [{operation: {paths: [/nothing-here]}}]}]\n'), [
    [get('/hello'), 'denied'], [post('/'), 'denied'], [get('/nothing-here'), 'allowed'],
  ]),
  http('ALLOW with no rules (spec: {action: ALLOW}) denies everything', policy('allow-nothing', 'ALLOW', ''), [
    [get('/hello'), 'denied'], [get('/'), 'denied'],
  ]),
  http('ALLOW with one empty rule allows everything', policy('allow-all', 'ALLOW', '  rules: [{}]\n'), [
    [get('/hello'), 'allowed'], [post('/x'), 'allowed'],
  ]),
  http('DENY before ALLOW: a request both match is denied', both(
    policy('allow-hello', 'ALLOW', "  rules: [{to: [{operation: {paths: ['/hello*']}}]}]\n"),
    policy('deny-flagged', 'DENY', '  rules: [{when: [{key: "request.headers[x-deny]", values: ["yes", "y*"]}]}]\n'),
  ), [
    [get('/hello'), 'allowed'], [hdr('/hello', { 'x-deny': 'yes' }), 'denied'], [hdr('/hello', { 'x-deny': 'yeah' }), 'denied'],
    [hdr('/hello', { 'x-deny': 'no' }), 'allowed'], [get('/other'), 'denied'],
  ]),
  http('ALLOW when request.headers: values (exact, prefix, presence) and notValues', both(
    policy('token', 'ALLOW', '  rules: [{when: [{key: "request.headers[x-token]", values: ["secret", "pre-*"], notValues: ["pre-revoked"]}]}]\n'),
    policy('present', 'ALLOW', '  rules: [{to: [{operation: {paths: [/present]}}], when: [{key: "request.headers[x-any]", values: ["*"]}]}]\n'),
  ), [
    [hdr('/a', { 'x-token': 'secret' }), 'allowed'], [hdr('/a', { 'x-token': 'pre-1' }), 'allowed'], [hdr('/a', { 'x-token': 'pre-revoked' }), 'denied'],
    [hdr('/a', { 'x-token': 'Secret' }), 'denied'], [get('/a'), 'denied'], [hdr('/present', { 'x-any': '' }), 'allowed'], [get('/present'), 'denied'],
  ]),
  http('ALLOW hosts: case-insensitive, exact with its port, *.suffix; notHosts', policy('hosts', 'ALLOW', "  rules: [{to: [{operation: {hosts: ['helloworld:5000', '*.example.test'], notHosts: [blocked.example.test]}}]}]\n"), [
    [get('/'), 'allowed'], [get('/', { host: 'HelloWorld:5000' }), 'allowed'], [get('/', { host: 'helloworld' }), 'denied'],
    [get('/', { host: 'a.example.test' }), 'allowed'], [get('/', { host: 'example.test' }), 'denied'], [get('/', { host: 'blocked.example.test' }), 'denied'],
  ]),
  http('ports: ALLOW a port that is not the listener\'s denies; DENY notPorts of it denies; DENY ports of it does not', both(
    policy('deny-other-port', 'DENY', "  rules: [{to: [{operation: {ports: ['1']}}]}]\n"),
    policy('allow-not-other', 'ALLOW', "  rules: [{to: [{operation: {notPorts: ['1'], paths: [/open]}}]}, {to: [{operation: {ports: ['1']}}]}]\n"),
  ), [
    [get('/open'), 'allowed'], [get('/closed'), 'denied'],
  ]),
  http('source ipBlocks and notIpBlocks (the peer\'s address)', both(
    policy('loopback', 'ALLOW', "  rules: [{from: [{source: {ipBlocks: ['127.0.0.0/8'], notIpBlocks: ['127.0.0.99']}}], to: [{operation: {paths: ['/loopback*']}}]}]\n"),
    policy('elsewhere', 'ALLOW', "  rules: [{from: [{source: {ipBlocks: ['10.0.0.0/8', '192.168.1.1']}}], to: [{operation: {paths: ['/elsewhere*']}}]}]\n"),
  ), [
    [get('/loopback'), 'allowed'], [get('/elsewhere'), 'denied'],
  ]),
  http('remoteIpBlocks: the client x-forwarded-for names (inbound: use_remote_address false)', policy('remote', 'ALLOW', "  rules: [{from: [{source: {remoteIpBlocks: ['203.0.113.0/24']}}]}]\n"), [
    [hdr('/', { 'x-forwarded-for': '203.0.113.7' }), 'allowed'], [hdr('/', { 'x-forwarded-for': '203.0.113.7, 198.51.100.1' }), 'denied'],
    [hdr('/', { 'x-forwarded-for': '198.51.100.1,203.0.113.9' }), 'allowed'], [get('/'), 'denied'],
  ]),
  http('remoteIpBlocks behind a gateway HCM with one trusted proxy (use_remote_address, xff_num_trusted_hops 1)', policy('remote-gw', 'ALLOW', "  rules: [{from: [{source: {remoteIpBlocks: ['203.0.113.0/24']}}]}]\n"), [
    [hdr('/', { 'x-forwarded-for': '203.0.113.7' }), 'allowed'], [hdr('/', { 'x-forwarded-for': '203.0.113.7,198.51.100.1' }), 'denied'],
    [hdr('/', { 'x-forwarded-for': '198.51.100.1,203.0.113.9' }), 'allowed'], [get('/'), 'denied'],
  ], gatewayTrust({ numTrustedProxies: 1 }) as Record<string, unknown>),
  http('source.ip and destination.port in when', policy('when-ip', 'DENY', "  rules: [{when: [{key: source.ip, values: ['127.0.0.0/8']}, {key: destination.port, notValues: ['1']}], to: [{operation: {methods: [POST]}}]}]\n"), [
    [get('/'), 'allowed'], [post('/'), 'denied'],
  ]),
  http('plain text: principals, namespaces never match without mTLS; DENY notPrincipals "*" denies plain text', both(
    policy('by-principal', 'ALLOW', "  rules: [{from: [{source: {principals: ['cluster.local/ns/sample/sa/sleep']}}]}, {from: [{source: {namespaces: [sample]}}]}, {to: [{operation: {paths: [/open]}}]}]\n"),
    policy('deny-plaintext', 'DENY', "  rules: [{from: [{source: {notPrincipals: ['*']}}], to: [{operation: {paths: ['/strict*']}}]}]\n"),
  ), [
    [get('/hello'), 'denied'], [get('/open'), 'allowed'], [get('/strict'), 'denied'],
  ]),
  http('requestPrincipals without RequestAuthentication: ALLOW [*] never matches, DENY notRequestPrincipals [*] always does', both(
    policy('jwt-allow', 'ALLOW', "  rules: [{from: [{source: {requestPrincipals: ['*']}}]}, {to: [{operation: {paths: ['/public*']}}]}]\n"),
    policy('jwt-deny', 'DENY', "  rules: [{from: [{source: {notRequestPrincipals: ['*']}}], to: [{operation: {paths: ['/public/admin']}}]}]\n"),
  ), [
    [get('/hello'), 'denied'], [get('/public'), 'allowed'], [get('/public/admin'), 'denied'],
  ]),
  http('AUDIT (an RBAC filter with action LOG) never denies', policy('audit', 'AUDIT', '  rules: [{to: [{operation: {paths: [/hello]}}]}]\n'), [
    [get('/hello'), 'allowed'], [get('/other'), 'allowed'],
  ]),
  http('CUSTOM is not implemented: what its rules match is denied, as Istio does for a provider it cannot use', policy('ext', 'CUSTOM', '  rules: [{to: [{operation: {paths: [/secret]}}]}]\n', '  provider: {name: ext-authz}\n'), [
    [get('/secret'), 'denied'], [get('/hello'), 'allowed'],
  ]),
  http('a mesh-wide DENY in the root namespace and a namespace-wide ALLOW', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-deny, namespace: istio-system}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ['/debug*']}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ns-allow, namespace: sample}
spec:
  rules: [{to: [{operation: {methods: [GET]}}]}]
`, [
    [get('/hello'), 'allowed'], [get('/debug/pprof'), 'denied'], [post('/hello'), 'denied'],
  ]),
];

const TCP_UPSTREAMS = { [HELLOWORLD_V1]: ['tcp-b'] };

/** The ingress gateway's TCP server on 31400 to helloworld v1, with an AuthorizationPolicy for the gateway. */
function tcpGateway(policyRules: string, action: string): string {
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
  tcp: [{route: [{destination: {host: helloworld, subset: v1}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: gw, namespace: istio-gateway}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: ${action}
${policyRules}`;
}

const tcp = { path: '', protocol: 'tcp' as const, body: 'hello over tcp' };

function tcpCase(name: string, rules: string, action: string, outcome: 'allowed' | 'denied'): ConformanceCase {
  return {
    name: `AuthorizationPolicy on TCP: ${name}`,
    resources: () => fromIstioGateway(tcpGateway(rules, action), 31400, TCP_UPSTREAMS),
    requests: [tcp, tcp],
    // The upstream speaks first, and whether its greeting reaches the client before the close is a race
    // on Envoy too: the case is about whether the client's bytes reach the upstream (and come back).
    summarize: (observations) => observations.map((o) => o.body.includes(tcp.body)),
    expect: (observations, target) => {
      for (const o of observations) assert.equal(o.body.includes(tcp.body), outcome === 'allowed', `${target}: ${JSON.stringify(o.body)}`);
    },
  };
}

const TCP_CASES: ConformanceCase[] = [
  tcpCase('DENY ipBlocks of the client closes the connection', "  rules: [{from: [{source: {ipBlocks: ['127.0.0.0/8']}}]}]\n", 'DENY', 'denied'),
  tcpCase('DENY ipBlocks of other clients lets it through', "  rules: [{from: [{source: {ipBlocks: ['10.0.0.0/8']}}]}]\n", 'DENY', 'allowed'),
  tcpCase('an ALLOW rule with an HTTP-only field (methods) is dropped: nothing is allowed', '  rules: [{to: [{operation: {methods: [GET]}}]}]\n', 'ALLOW', 'denied'),
  tcpCase('a DENY rule with an HTTP-only field (paths) keeps its TCP part: everything is denied', '  rules: [{to: [{operation: {paths: [/admin]}}]}]\n', 'DENY', 'denied'),
  tcpCase('ALLOW notIpBlocks of other clients lets it through', "  rules: [{from: [{source: {notIpBlocks: ['10.0.0.0/8']}}]}]\n", 'ALLOW', 'allowed'),
];

/** The ingress gateway's HTTP server on 8080 (everything to helloworld v1, upstream b) with AuthorizationPolicies for the gateway. */
const GATEWAY_HTTP = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: http-gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: http-vs}
spec:
  hosts: ['*']
  gateways: [http-gw]
  http: [{route: [{destination: {host: helloworld, subset: v1}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-hosts, namespace: istio-gateway}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  rules: [{to: [{operation: {hosts: ['*.example.com']}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-clients, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules: [{from: [{source: {remoteIpBlocks: ['198.51.100.0/24']}}]}]
`;

const GATEWAY_CASES: ConformanceCase[] = [{
  name: 'AuthorizationPolicy on a gateway HTTP listener: hosts, and remoteIpBlocks of the peer (use_remote_address, no trusted hops: x-forwarded-for is not believed)',
  compareBody: true,
  resources: () => fromIstioGatewayHttp(GATEWAY_HTTP, 8080, { httpFilters: true }),
  requests: [
    get('/', { host: 'a.example.com' }), get('/', { host: 'A.EXAMPLE.COM' }), get('/', { host: 'other.test' }),
    hdr('/', { 'x-forwarded-for': '198.51.100.1' }), get('/', { host: 'b.example.com', headers: { 'x-forwarded-for': '198.51.100.1' } }),
  ],
  expectUpstreams: ['b', 'b', undefined, undefined, 'b'],
}];

export const AUTHZ_CASES: ConformanceCase[] = [...HTTP_CASES, ...MTLS_CASES, ...TCP_CASES, ...GATEWAY_CASES];
