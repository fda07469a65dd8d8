// Istio's validation, row by row: a fragment of an object, and whether Istio accepts it or which
// (part of its) message it rejects it with. Valid objects Istio accepts are as many rows as invalid ones,
// so the checks are held to being neither more lenient nor stricter than istiod.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIstioErrors, validateIstioObject } from './validate.js';
import { re2Error } from './re2.js';

type Spec = Record<string, unknown>;
interface Row {
  kind: string;
  what: string;
  spec: Spec;
  /** undefined: accepted; a string: rejected with a message containing it. */
  reject?: string;
}

const rows: Row[] = [];
const ok = (kind: string, what: string, spec: Spec): void => void rows.push({ kind, what, spec });
const bad = (kind: string, what: string, spec: Spec, reject: string): void => void rows.push({ kind, what, spec, reject });

// ---- Gateway ----
const server = (over: Spec = {}, port: Spec = {}): Spec => ({ port: { number: 80, name: 'http', protocol: 'HTTP', ...port }, hosts: ['*'], ...over });
const gw = (...servers: Spec[]): Spec => ({ selector: { istio: 'ingressgateway' }, servers });
for (const n of [1, 80, 443, 8080, 15443, 65535]) ok('Gateway', `port ${n}`, gw(server({}, { number: n })));
for (const n of [0, -1, 65536, 99999, 1.5]) bad('Gateway', `port ${n}`, gw(server({}, { number: n })), `port number ${n} must be in the range 1..2^16-1`);
for (const p of ['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'MONGO', 'REDIS', 'MYSQL', 'TCP', 'http', 'tcp']) ok('Gateway', `protocol ${p}`, gw(server({}, { protocol: p })));
for (const p of ['SMTP', 'FTP', '', 'HTTP/1.1']) bad('Gateway', `protocol ${p}`, gw(server({}, { protocol: p })), 'invalid protocol');
for (const h of ['*', 'example.com', '*.example.com', 'ns/*', './example.com', '*/foo.example.com', 'ns-1/*.example.com', 'a.b.c.d.example.com', 'EXAMPLE.com', 'foo-bar.example', '*.com', 'foo.example.com.'])
  ok('Gateway', `host ${h}`, gw(server({ hosts: [h] })));
for (const [h, msg] of [
  ['foo.*.com', 'wildcards are only allowed as the leftmost label'],
  ['*foo*.example.com', 'invalid'],
  ['exa_mple.com', 'invalid'],
  ['-foo.com', 'invalid'],
  ['foo..com', 'invalid'],
  ['a/b/c', 'more than one "/"'],
  ['Bad_NS/foo.com', 'invalid namespace value'],
  ['ns/', 'config namespace and gateway are invalid'],
  ['', 'invalid (empty name)'],
  [`${'a'.repeat(64)}.com`, 'too long (max 63)'],
  [`${'abc.'.repeat(64)}com`, 'too long (max 255)'],
  ['foo bar.com', 'invalid'],
] as const) bad('Gateway', `host ${JSON.stringify(h)}`, gw(server({ hosts: [h] })), msg);
bad('Gateway', 'no hosts', gw(server({ hosts: [] })), 'server config must contain at least one host');
bad('Gateway', 'no servers', gw(), 'gateway must have at least one server');
bad('Gateway', 'duplicate port names', gw(server(), server({}, { number: 8080 })), 'port names in servers must be unique: duplicate name http');
ok('Gateway', 'distinct port names', gw(server(), server({}, { number: 8080, name: 'http-alt' })));
ok('Gateway', 'no selector', { servers: [server()] });
ok('Gateway', 'HTTPS with credentialName', gw(server({ tls: { mode: 'SIMPLE', credentialName: 'cert' } }, { number: 443, name: 'https', protocol: 'HTTPS' })));
ok('Gateway', 'HTTPS with files', gw(server({ tls: { mode: 'SIMPLE', serverCertificate: '/c.pem', privateKey: '/k.pem' } }, { number: 443, name: 'https', protocol: 'HTTPS' })));
ok('Gateway', 'MUTUAL with credentialName', gw(server({ tls: { mode: 'MUTUAL', credentialName: 'cert' } }, { number: 443, name: 'https', protocol: 'HTTPS' })));
ok('Gateway', 'MUTUAL with files', gw(server({ tls: { mode: 'MUTUAL', serverCertificate: '/c', privateKey: '/k', caCertificates: '/ca' } }, { number: 443, name: 'https', protocol: 'HTTPS' })));
ok('Gateway', 'TLS passthrough', gw(server({ tls: { mode: 'PASSTHROUGH' } }, { number: 443, name: 'tls', protocol: 'TLS' })));
ok('Gateway', 'AUTO_PASSTHROUGH', gw(server({ tls: { mode: 'AUTO_PASSTHROUGH' } }, { number: 15443, name: 'tls', protocol: 'TLS' })));
ok('Gateway', 'ISTIO_MUTUAL', gw(server({ tls: { mode: 'ISTIO_MUTUAL' } }, { number: 15443, name: 'tls', protocol: 'TLS' })));
ok('Gateway', 'httpsRedirect on HTTP', gw(server({ tls: { httpsRedirect: true } })));
ok('Gateway', 'TLS versions', gw(server({ tls: { mode: 'SIMPLE', credentialName: 'c', minProtocolVersion: 'TLSV1_2', maxProtocolVersion: 'TLSV1_3' } }, { number: 443, name: 'https', protocol: 'HTTPS' })));
ok('Gateway', 'bind IP', gw(server({ bind: '0.0.0.0' })));
ok('Gateway', 'bind unix', gw(server({ bind: 'unix:///var/run/gw.sock' })));
bad('Gateway', 'bind not IP', gw(server({ bind: 'localhost' })), 'is not a valid IP address');
bad('Gateway', 'HTTPS without tls', gw(server({}, { number: 443, name: 'https', protocol: 'HTTPS' })), 'server must have TLS settings for HTTPS/TLS protocols');
bad('Gateway', 'TLS without tls', gw(server({}, { number: 443, name: 'tls', protocol: 'TLS' })), 'server must have TLS settings for HTTPS/TLS protocols');
bad('Gateway', 'SIMPLE without key', gw(server({ tls: { mode: 'SIMPLE', serverCertificate: '/c' } }, { number: 443, name: 'https', protocol: 'HTTPS' })), 'SIMPLE TLS requires a private key');
bad('Gateway', 'SIMPLE without cert', gw(server({ tls: { mode: 'SIMPLE', privateKey: '/k' } }, { number: 443, name: 'https', protocol: 'HTTPS' })), 'SIMPLE TLS requires a server certificate');
bad('Gateway', 'MUTUAL without CA', gw(server({ tls: { mode: 'MUTUAL', serverCertificate: '/c', privateKey: '/k' } }, { number: 443, name: 'https', protocol: 'HTTPS' })), 'MUTUAL TLS requires a client CA bundle');
bad('Gateway', 'credential and files', gw(server({ tls: { mode: 'SIMPLE', credentialName: 'c', serverCertificate: '/c', privateKey: '/k' } }, { number: 443, name: 'https', protocol: 'HTTPS' })), 'only one of credential_name');
bad('Gateway', 'ISTIO_MUTUAL with credential', gw(server({ tls: { mode: 'ISTIO_MUTUAL', credentialName: 'c' } }, { number: 443, name: 'tls', protocol: 'TLS' })), 'ISTIO_MUTUAL TLS cannot have associated credentialName');
bad('Gateway', 'ISTIO_MUTUAL with key', gw(server({ tls: { mode: 'ISTIO_MUTUAL', privateKey: '/k' } }, { number: 443, name: 'tls', protocol: 'TLS' })), 'ISTIO_MUTUAL TLS cannot have associated private key');
bad('Gateway', 'OPTIONAL_MUTUAL without CA', gw(server({ tls: { mode: 'OPTIONAL_MUTUAL', serverCertificate: '/c', privateKey: '/k' } }, { number: 443, name: 'https', protocol: 'HTTPS' })), 'MUTUAL TLS requires a client CA bundle');
ok('Gateway', 'OPTIONAL_MUTUAL with credential', gw(server({ tls: { mode: 'OPTIONAL_MUTUAL', credentialName: 'c' } }, { number: 443, name: 'https', protocol: 'HTTPS' })));
ok('Gateway', 'SIMPLE credential + CA file (CA is not a certificate source)', gw(server({ tls: { mode: 'SIMPLE', credentialName: 'c', caCertificates: '/ca' } }, { number: 443, name: 'https', protocol: 'HTTPS' })));
ok('Gateway', 'SIMPLE tlsCertificates', gw(server({ tls: { mode: 'SIMPLE', tlsCertificates: [{ serverCertificate: '/a', privateKey: '/b' }] } }, { number: 443, name: 'https', protocol: 'HTTPS' })));
bad('Gateway', 'SIMPLE tlsCertificates without key', gw(server({ tls: { mode: 'SIMPLE', tlsCertificates: [{ serverCertificate: '/a' }] } }, { number: 443, name: 'https', protocol: 'HTTPS' })), 'SIMPLE TLS requires a private key');
bad('Gateway', 'CRL with SIMPLE', gw(server({ tls: { mode: 'SIMPLE', serverCertificate: '/c', privateKey: '/k', caCrl: '/crl' } }, { number: 443, name: 'https', protocol: 'HTTPS' })), 'CRL is not supported with SIMPLE TLS');
bad('Gateway', 'TLS settings on TCP', gw(server({ tls: { mode: 'SIMPLE', credentialName: 'c' } }, { number: 31400, name: 'tcp', protocol: 'TCP' })), 'server cannot have TLS settings for non HTTPS/TLS ports');
bad('Gateway', 'port without name', gw({ hosts: ['*'], port: { number: 80, protocol: 'HTTP' } }), 'port name must be set');
bad('Gateway', 'targetPort', gw(server({}, { targetPort: 8080 })), 'targetPort has no impact on Gateways');
ok('Gateway', 'protocol HTTPS with PASSTHROUGH', gw(server({ tls: { mode: 'PASSTHROUGH' } }, { number: 443, name: 'https', protocol: 'HTTPS' })));
ok('Gateway', 'same port number, different names', gw(server({ hosts: ['a.com'] }), server({ hosts: ['b.com'] }, { name: 'http-b' })));
bad('Gateway', 'TLS mode on HTTP', gw(server({ tls: { mode: 'SIMPLE', credentialName: 'c' } })), 'server cannot have TLS settings for plain text HTTP ports');
bad('Gateway', 'min > max TLS', gw(server({ tls: { mode: 'SIMPLE', credentialName: 'c', minProtocolVersion: 'TLSV1_3', maxProtocolVersion: 'TLSV1_2' } }, { number: 443, name: 'https', protocol: 'HTTPS' })), 'minimum protocol version must be less than or equal');
bad('Gateway', 'bad selector label', gw(server()), '') ; rows.pop();
bad('Gateway', 'bad selector value', { selector: { istio: 'ingress gateway' }, servers: [server()] }, 'invalid tag value');
bad('Gateway', 'bad selector key', { selector: { 'bad key': 'x' }, servers: [server()] }, 'invalid tag key');
bad('Gateway', 'no port', gw({ hosts: ['*'] }), 'port is required');

// ---- VirtualService ----
const dest = (host = 'reviews', extra: Spec = {}): Spec => ({ destination: { host, ...extra } });
const vs = (http: Spec[], over: Spec = {}): Spec => ({ hosts: ['reviews'], http, ...over });
const route = (over: Spec = {}): Spec => ({ route: [dest()], ...over });
ok('VirtualService', 'scenario canary 80/20', vs([{ route: [{ ...dest('helloworld', { subset: 'v1' }), weight: 80 }, { ...dest('helloworld', { subset: 'v2' }), weight: 20 }] }]));
for (const [a, b] of [[1, 2], [1, 1], [0, 100], [50, 50], [3, 7], [100, 100], [10, 0], [1000, 1]]) ok('VirtualService', `weights ${a}/${b}`, vs([{ route: [{ ...dest('a'), weight: a }, { ...dest('b'), weight: b }] }]));
ok('VirtualService', 'single weight 30', vs([{ route: [{ ...dest(), weight: 30 }] }]));
for (const w of [-1, -100]) bad('VirtualService', `weight ${w}`, vs([{ route: [{ ...dest(), weight: w }] }]), `weight ${w} < 0`);
bad('VirtualService', 'weight 1.5', vs([{ route: [{ ...dest(), weight: 1.5 }] }]), 'is not an integer');
for (const t of ['10s', '1ms', '0.5s', '1.5s', '100ms', '1m', '1h', '1h30m', '2m30s', '500ms', '0.001s']) ok('VirtualService', `timeout ${t}`, vs([route({ timeout: t })]));
for (const [t, msg] of [
  ['0s', 'duration must be greater than 1ms'],
  ['0', 'duration must be greater than 1ms'],
  ['100us', 'duration must be greater than 1ms'],
  ['1.5ms', 'only durations to ms precision are supported'],
  ['10', 'invalid duration'],
  ['-1s', 'invalid duration'],
  ['ten seconds', 'invalid duration'],
  ['10 s', 'invalid duration'],
  ['', 'invalid duration'],
] as const) bad('VirtualService', `timeout ${JSON.stringify(t)}`, vs([route({ timeout: t })]), msg);
bad('VirtualService', 'timeout 10 (number)', vs([route({ timeout: 10 })]), 'invalid duration 10');
for (const h of ['reviews', 'reviews.default.svc.cluster.local', '*.example.com', 'example.com', '192.168.1.1', '2001:db8::1', 'foo.bar'])
  ok('VirtualService', `host ${h}`, vs([route()], { hosts: [h] }));
ok('VirtualService', 'host * with gateway', vs([route()], { hosts: ['*'], gateways: ['gw'] }));
ok('VirtualService', 'host * with ns/gateway', vs([route()], { hosts: ['*'], gateways: ['istio-system/gw'] }));
bad('VirtualService', 'host * for mesh', vs([route()], { hosts: ['*'] }), 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
bad('VirtualService', 'host * with mesh gateway', vs([route()], { hosts: ['*'], gateways: ['mesh', 'gw'] }), 'wildcard host * is not allowed');
for (const h of ['foo.*.com', 'rev_iews', 'foo*bar.com', '-x.com'])
  bad('VirtualService', `host ${h}`, vs([route()], { hosts: [h] }), 'invalid');
bad('VirtualService', 'duplicate hosts', vs([route()], { hosts: ['a', 'a'] }), 'duplicate hosts in virtual service: a & a');
bad('VirtualService', 'wildcard covers host', vs([route()], { hosts: ['*.foo.com', 'bar.foo.com'] }), 'duplicate hosts in virtual service: *.foo.com & bar.foo.com');
bad('VirtualService', 'wildcard covers wildcard', vs([route()], { hosts: ['*.a.foo.com', '*.foo.com'] }), 'duplicate hosts in virtual service: *.a.foo.com & *.foo.com');
ok('VirtualService', 'distinct hosts', vs([route()], { hosts: ['a.foo.com', 'b.foo.com', '*.bar.com'] }));
bad('VirtualService', 'CIDR host', vs([route()], { hosts: ['10.0.0.0/8'] }), 'invalid');
ok('VirtualService', 'delegate (no hosts)', { http: [route()] });
bad('VirtualService', 'delegate with gateways', { gateways: ['gw'], http: [route()] }, 'delegate virtual service must have no gateways specified');
bad('VirtualService', 'no routes at all', { hosts: ['reviews'] }, 'http, tcp or tls must be provided in virtual service');
for (const g of ['mesh', 'gw', 'istio-system/gw', 'gw.istio-system.svc.cluster.local', 'my-gateway']) ok('VirtualService', `gateway ${g}`, vs([route()], { gateways: [g] }));
for (const [g, msg] of [['a/b/c', 'invalid value for gateway name: "b/c"'], ['Bad_NS/gw', 'invalid value for namespace: "Bad_NS"'], ['ns/gw.x', 'invalid value for gateway name: "gw.x"'], ['/gw', 'config namespace and gateway name cannot be empty'], ['gw*', 'invalid'], ['', 'gateway name must not be empty']] as const) bad('VirtualService', `gateway ${JSON.stringify(g)}`, vs([route()], { gateways: [g] }), msg);
bad('VirtualService', 'cors empty origin', vs([route({ corsPolicy: { allowOrigins: [{ exact: '' }] } })]), "'' is not a valid match type for CORS allow origins");
// exclusive route / redirect / directResponse
ok('VirtualService', 'redirect alone', vs([{ redirect: { uri: '/new' } }]));
ok('VirtualService', 'redirect authority', vs([{ redirect: { authority: 'new.example.com' } }]));
ok('VirtualService', 'redirect code 301', vs([{ redirect: { uri: '/n', redirectCode: 301 } }]));
ok('VirtualService', 'redirect scheme', vs([{ redirect: { scheme: 'https' } }]));
ok('VirtualService', 'redirect port', vs([{ redirect: { port: 8443 } }]));
ok('VirtualService', 'redirect derivePort', vs([{ redirect: { derivePort: 'FROM_REQUEST_PORT' } }]));
ok('VirtualService', 'directResponse 503', vs([{ directResponse: { status: 503 } }]));
ok('VirtualService', 'directResponse body', vs([{ directResponse: { status: 200, body: { string: 'hi' } } }]));
ok('VirtualService', 'delegate', vs([{ delegate: { name: 'child', namespace: 'ns' } }]));
bad('VirtualService', 'route + redirect', vs([route({ redirect: { uri: '/x' } })]), 'HTTP route cannot contain both route and redirect');
bad('VirtualService', 'route + directResponse', vs([route({ directResponse: { status: 200 } })]), 'HTTP route cannot contain both route and direct_response');
bad('VirtualService', 'redirect + directResponse', vs([{ redirect: { uri: '/x' }, directResponse: { status: 200 } }]), 'HTTP route rule cannot contain both direct_response and redirect');
bad('VirtualService', 'delegate + route', vs([route({ name: 'r1', delegate: { name: 'c' } })]), 'root HTTP route r1 must not specify route');
bad('VirtualService', 'delegate + redirect', vs([{ name: 'r2', delegate: { name: 'c' }, redirect: { uri: '/x' } }]), 'root HTTP route r2 must not specify redirect');
bad('VirtualService', 'delegate inside a delegate', { http: [{ delegate: { name: 'c' } }] }, 'delegate HTTP route cannot contain delegate');
bad('VirtualService', 'fault + redirect', vs([{ redirect: { uri: '/x' }, fault: { abort: { httpStatus: 500 } } }]), 'HTTP route cannot contain both fault and redirect');
bad('VirtualService', 'fault + directResponse', vs([{ directResponse: { status: 200 }, fault: { abort: { httpStatus: 500 } } }]), 'HTTP route cannot contain both fault and direct_response');
bad('VirtualService', 'rewrite + directResponse', vs([{ directResponse: { status: 200 }, rewrite: { uri: '/x' } }]), 'HTTP route rule cannot contain both rewrite and direct_response');
bad('VirtualService', 'authority twice', vs([route({ rewrite: { authority: 'a' }, headers: { request: { set: { host: 'b' } } } })]), 'authority header cannot be set multiple times');
ok('VirtualService', 'authority by header only', vs([route({ headers: { request: { set: { host: 'b' } } } })]));
ok('VirtualService', 'withoutHeaders regex *', vs([route({ match: [{ withoutHeaders: { 'x-a': { regex: '*' } } }] })]));
ok('VirtualService', 'sourceNamespace', vs([route({ match: [{ sourceNamespace: 'foo' }] })]));
bad('VirtualService', 'sourceNamespace bad', vs([route({ match: [{ sourceNamespace: 'Foo_1' }] })]), 'sourceNamespace match Foo_1 is invalid');
bad('VirtualService', 'nothing', vs([{ match: [{ uri: { prefix: '/' } }] }]), 'HTTP route, redirect or direct_response is required');
bad('VirtualService', 'empty route list', vs([{ route: [] }]), 'HTTP route, redirect or direct_response is required');
bad('VirtualService', 'redirect + rewrite', vs([{ redirect: { uri: '/a' }, rewrite: { uri: '/b' } }]), 'HTTP route rule cannot contain both rewrite and redirect');
bad('VirtualService', 'empty redirect', vs([{ redirect: {} }]), 'redirect must specify URI, authority, scheme, or port');
for (const code of [200, 404, 299, 400]) bad('VirtualService', `redirect code ${code}`, vs([{ redirect: { uri: '/x', redirectCode: code } }]), 'is not a valid redirect code');
for (const code of [300, 301, 302, 303, 307, 308, 399]) ok('VirtualService', `redirect code ${code}`, vs([{ redirect: { uri: '/x', redirectCode: code } }]));
bad('VirtualService', 'redirect port 0', vs([{ redirect: { port: 0 } }]), 'port number 0 must be in the range');
bad('VirtualService', 'redirect port and derivePort', vs([{ redirect: { port: 80, derivePort: 'FROM_PROTOCOL_DEFAULT' } }]), 'only one of port or derivePort');
for (const s of [100, 199, 601, 1000]) bad('VirtualService', `directResponse ${s}`, vs([{ directResponse: { status: s } }]), `HTTP status ${s} is not in range 200-599`);
bad('VirtualService', 'redirect scheme ftp', vs([{ redirect: { scheme: 'ftp' } }]), 'invalid redirect scheme, must be "http" or "https"');
ok('VirtualService', 'directResponse 600 (Istio lets it through)', vs([{ directResponse: { status: 600 } }]));
ok('VirtualService', 'directResponse 200KB body (a warning)', vs([{ directResponse: { status: 200, body: { string: 'x'.repeat(200 * 1024) } } }]));
for (const s of [200, 204, 404, 500, 599]) ok('VirtualService', `directResponse ${s}`, vs([{ directResponse: { status: s } }]));
bad('VirtualService', 'directResponse body string and bytes', vs([{ directResponse: { status: 200, body: { string: 'a', bytes: 'YQ==' } } }]), 'only one of string or bytes');
bad('VirtualService', 'directResponse huge body', vs([{ directResponse: { status: 200, body: { string: 'x'.repeat(1024 * 1024 + 1) } } }]), 'must be less than 1MB');
// matches
for (const m of [{ exact: '/hello' }, { prefix: '/' }, { prefix: '/api/v1' }, { regex: '/api/.*' }, { regex: '^/v[0-9]+/.*$' }, { prefix: '' }, { exact: '' }, { regex: '(?i)/hello' }, { regex: '/(?P<id>[0-9]+)' }, { regex: '[[:alpha:]]+' }, { regex: '\\d{1,3}' }, { regex: 'a*?b' }, { regex: '\\Qa.b\\E' }, { regex: '(?:ab)+' }, { regex: '\\pL+' }, { regex: '\\p{Greek}' }, { regex: '.*\\.(png|jpg)$' }])
  ok('VirtualService', `uri ${JSON.stringify(m)}`, vs([route({ match: [{ uri: m }] })]));
for (const [m, msg] of [
  [{ exact: '/a', prefix: '/b' }, 'only one of exact, prefix or regex may be set'],
  [{ exact: '/a', regex: '/b' }, 'only one of exact, prefix or regex may be set'],
  [{ prefix: '/a', regex: '/b' }, 'only one of exact, prefix or regex may be set'],
  [{ exact: '/a', prefix: '/b', regex: 'c' }, 'only one of exact, prefix or regex may be set'],
  [{ regex: '/(?=foo)' }, 'invalid or unsupported Perl syntax: `(?='],
  [{ regex: '/(?!foo)' }, 'invalid or unsupported Perl syntax: `(?!'],
  [{ regex: '(?<=a)b' }, 'invalid or unsupported Perl syntax: `(?<='],
  [{ regex: '(?<!a)b' }, 'invalid or unsupported Perl syntax: `(?<!'],
  [{ regex: '(a)\\1' }, 'invalid escape sequence: `\\1`'],
  [{ regex: '(?<n>a)\\k<n>' }, 'invalid escape sequence: `\\k`'],
  [{ regex: '(?>a+)' }, 'invalid or unsupported Perl syntax: `(?>'],
  [{ regex: 'a++' }, 'invalid nested repetition operator'],
  [{ regex: 'a*+' }, 'invalid nested repetition operator'],
  [{ regex: 'a**' }, 'invalid nested repetition operator'],
  [{ regex: '(abc' }, 'missing closing )'],
  [{ regex: 'abc)' }, 'unexpected )'],
  [{ regex: '[abc' }, 'missing closing ]'],
  [{ regex: '*abc' }, 'missing argument to repetition operator'],
  [{ regex: 'a{1001}' }, 'invalid repeat count'],
  [{ regex: 'x'.repeat(1025) }, 'regex is too large'],
  [{ regex: '\\' }, 'trailing backslash'],
  [{ regex: '[[:foo:]]' }, 'invalid character class range'],
] as const) bad('VirtualService', `uri ${JSON.stringify(m).slice(0, 40)}`, vs([route({ match: [{ uri: m }] })]), msg);
bad('VirtualService', 'regex message names RE2', vs([route({ match: [{ uri: { regex: '(?=x)' } }] })]), 'Istio uses RE2 style regex-based match');
ok('VirtualService', 'header exact', vs([route({ match: [{ headers: { 'end-user': { exact: 'jason' } } }] })]));
ok('VirtualService', 'header regex', vs([route({ match: [{ headers: { cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } } }] })]));
ok('VirtualService', 'header presence {}', vs([route({ match: [{ headers: { 'x-a': {} } }] })]));
ok('VirtualService', 'withoutHeaders', vs([route({ match: [{ withoutHeaders: { 'x-a': { exact: 'b' } } }] })]));
ok('VirtualService', 'queryParams', vs([route({ match: [{ queryParams: { Debug: { exact: '1' } } }] })]));
bad('VirtualService', 'header uppercase', vs([route({ match: [{ headers: { 'End-User': { exact: 'j' } } }] })]), 'must be lowercase');
bad('VirtualService', 'header regex lookahead', vs([route({ match: [{ headers: { cookie: { regex: '(?!x)' } } }] })]), 'invalid or unsupported Perl syntax');
bad('VirtualService', 'header exact+prefix', vs([route({ match: [{ headers: { a: { exact: 'x', prefix: 'y' } } }] })]), 'only one of exact, prefix or regex');
ok('VirtualService', 'method match', vs([route({ match: [{ method: { exact: 'GET' } }] })]));
ok('VirtualService', 'authority match', vs([route({ match: [{ authority: { prefix: 'foo' } }] })]));
ok('VirtualService', 'scheme match', vs([route({ match: [{ scheme: { exact: 'https' } }] })]));
ok('VirtualService', 'match port', vs([route({ match: [{ port: 8080 }] })]));
bad('VirtualService', 'match port 70000', vs([route({ match: [{ port: 70000 }] })]), 'port number 70000 must be in the range 1..2^16-1');
ok('VirtualService', 'sourceLabels', vs([route({ match: [{ sourceLabels: { app: 'sleep', version: 'v1' } }] })]));
bad('VirtualService', 'sourceLabels bad value', vs([route({ match: [{ sourceLabels: { app: 'a b' } }] })]), 'invalid tag value');
ok('VirtualService', 'match gateways', vs([route({ match: [{ gateways: ['mesh'] }] })], { gateways: ['mesh', 'gw'] }));
ok('VirtualService', 'match name and ignoreUriCase', vs([route({ match: [{ name: 'm', uri: { prefix: '/A' }, ignoreUriCase: true }] })]));
// destinations
ok('VirtualService', 'destination FQDN', vs([{ route: [dest('reviews.prod.svc.cluster.local')] }]));
ok('VirtualService', 'destination port', vs([{ route: [dest('reviews', { port: { number: 9080 } })] }]));
ok('VirtualService', 'destination subset', vs([{ route: [dest('reviews', { subset: 'v1' })] }]));
ok('VirtualService', 'destination wildcard domain', vs([{ route: [dest('*.example.com')] }]));
bad('VirtualService', 'destination *', vs([{ route: [dest('*')] }]), 'invalid destination host *');
bad('VirtualService', 'destination empty subset', vs([{ route: [dest('r', { subset: '' })] }]), 'subset name cannot be empty');
bad('VirtualService', 'two destinations without weights', vs([{ route: [dest('a'), dest('b')] }]), 'total destination weight = 0');
bad('VirtualService', 'two zero weights', vs([{ route: [{ ...dest('a'), weight: 0 }, { ...dest('b'), weight: 0 }] }]), 'total destination weight = 0');
bad('VirtualService', 'destination empty host', vs([{ route: [dest('')] }]), 'destination.host is required');
bad('VirtualService', 'destination missing', vs([{ route: [{ weight: 100 }] }]), 'destination is required');
bad('VirtualService', 'destination port 0', vs([{ route: [dest('r', { port: { number: 0 } })] }]), 'port number 0 must be in the range');
bad('VirtualService', 'destination subset bad', vs([{ route: [dest('r', { subset: 'V_1' })] }]), 'subset name is invalid');
bad('VirtualService', 'destination bad host', vs([{ route: [dest('rev iews')] }]), 'invalid');
// retries
for (const r of [{ attempts: 0 }, { attempts: 3 }, { attempts: 3, perTryTimeout: '2s' }, { attempts: 2, retryOn: 'gateway-error,connect-failure,refused-stream' }, { attempts: 2, retryOn: '5xx,503' }, { attempts: 1, retryOn: 'retriable-4xx,reset,cancelled' }, { attempts: 3, retryRemoteLocalities: true }])
  ok('VirtualService', `retries ${JSON.stringify(r)}`, vs([route({ retries: r })]));
bad('VirtualService', 'retries -1', vs([route({ retries: { attempts: -1 } })]), 'attempts cannot be negative');
bad('VirtualService', 'perTryTimeout 0s', vs([route({ retries: { attempts: 1, perTryTimeout: '0s' } })]), 'duration must be greater than 1ms');
bad('VirtualService', 'perTryTimeout number', vs([route({ retries: { attempts: 1, perTryTimeout: 2 } })]), 'invalid duration');
bad('VirtualService', 'retryOn unknown', vs([route({ retries: { attempts: 1, retryOn: '5xx,bogus' } })]), '"bogus" is not a valid retryOn policy');
bad('VirtualService', 'retryOn with space', vs([route({ retries: { attempts: 1, retryOn: '5xx, reset' } })]), '" reset" is not a valid retryOn policy');
bad('VirtualService', 'retries configured with 0 attempts', vs([route({ retries: { attempts: 0, perTryTimeout: '1s' } })]), 'http retry policy configured when attempts are set to 0 (disabled)');
bad('VirtualService', 'retryOn status 99', vs([route({ retries: { attempts: 1, retryOn: '99' } })]), '"99" is not a valid retryOn policy');
// fault
ok('VirtualService', 'fault delay', vs([route({ fault: { delay: { fixedDelay: '5s', percentage: { value: 10 } } } })]));
ok('VirtualService', 'fault delay 0.1%', vs([route({ fault: { delay: { fixedDelay: '7s', percentage: { value: 0.1 } } } })]));
ok('VirtualService', 'fault abort', vs([route({ fault: { abort: { httpStatus: 500, percentage: { value: 100 } } } })]));
ok('VirtualService', 'fault abort grpc', vs([route({ fault: { abort: { grpcStatus: 'UNAVAILABLE' } } })]));
ok('VirtualService', 'fault both', vs([route({ fault: { delay: { fixedDelay: '1s' }, abort: { httpStatus: 503 } } })]));
ok('VirtualService', 'fault legacy percent', vs([route({ fault: { delay: { fixedDelay: '1s', percent: 50 } } })]));
bad('VirtualService', 'fault empty', vs([route({ fault: {} })]), 'must have an abort and/or a delay');
bad('VirtualService', 'fault 101%', vs([route({ fault: { delay: { fixedDelay: '5s', percentage: { value: 101 } } } })]), 'percentage 101 is not in range 0..100');
bad('VirtualService', 'fault -1%', vs([route({ fault: { abort: { httpStatus: 500, percentage: { value: -1 } } } })]), 'percentage -1 is not in range 0..100');
bad('VirtualService', 'fault legacy percent 150', vs([route({ fault: { delay: { fixedDelay: '1s', percent: 150 } } })]), 'percentage 150 is not in range 0..100');
bad('VirtualService', 'fault delay 0s', vs([route({ fault: { delay: { fixedDelay: '0s' } } })]), 'duration must be greater than 1ms');
bad('VirtualService', 'fault exponentialDelay', vs([route({ fault: { delay: { exponentialDelay: '1s' } } })]), 'exponentialDelay not supported yet');
bad('VirtualService', 'fault grpcStatus bad', vs([route({ fault: { abort: { grpcStatus: 'NOPE' } } })]), 'gRPC status "NOPE" is not supported');
bad('VirtualService', 'fault abort status 99', vs([route({ fault: { abort: { httpStatus: 99 } } })]), 'HTTP status 99 is not in range 200-599');
ok('VirtualService', 'fault abort without error type (a warning)', vs([route({ fault: { abort: { percentage: { value: 1 } } } })]));
// mirror
ok('VirtualService', 'mirror', vs([route({ mirror: { host: 'mirror' } })]));
ok('VirtualService', 'mirror 50%', vs([route({ mirror: { host: 'mirror' }, mirrorPercentage: { value: 50 } })]));
ok('VirtualService', 'mirror 0%', vs([route({ mirror: { host: 'mirror' }, mirrorPercentage: { value: 0 } })]));
ok('VirtualService', 'mirror 100%', vs([route({ mirror: { host: 'mirror' }, mirrorPercentage: { value: 100 } })]));
ok('VirtualService', 'mirror 0.5%', vs([route({ mirror: { host: 'mirror' }, mirrorPercentage: { value: 0.5 } })]));
ok('VirtualService', 'mirrorPercent 30', vs([route({ mirror: { host: 'm' }, mirrorPercent: 30 })]));
ok('VirtualService', 'mirrors', vs([route({ mirrors: [{ destination: { host: 'a' } }, { destination: { host: 'b', subset: 'v2' }, percentage: { value: 25 } }] })]));
bad('VirtualService', 'mirror 101%', vs([route({ mirror: { host: 'm' }, mirrorPercentage: { value: 101 } })]), 'mirror_percentage must have a max value of 100 (it has 101.000000)');
bad('VirtualService', 'mirror -5%', vs([route({ mirror: { host: 'm' }, mirrorPercentage: { value: -5 } })]), 'mirror_percentage must have a min value of 0 (it has -5.000000)');
bad('VirtualService', 'mirrorPercent 200', vs([route({ mirror: { host: 'm' }, mirrorPercent: 200 })]), 'mirror_percent must have a max value of 100 (it has 200)');
bad('VirtualService', 'mirror and mirrors', vs([route({ mirror: { host: 'm' }, mirrors: [{ destination: { host: 'a' } }] })]), 'HTTP route cannot contain both mirror and mirrors');
bad('VirtualService', 'mirrors percentage 300', vs([route({ mirrors: [{ destination: { host: 'a' }, percentage: { value: 300 } }] })]), 'mirror percentage must have a max value of 100 (it has 300.000000)');
bad('VirtualService', 'mirrors no host', vs([route({ mirrors: [{ destination: { host: '' } }] })]), 'destination.host is required');
bad('VirtualService', 'mirror *', vs([route({ mirror: { host: '*' } })]), 'invalid destination host *');
bad('VirtualService', 'mirrors without destination', vs([route({ mirrors: [{ percentage: { value: 5 } }] })]), 'destination is required for mirrors');
// rewrite, headers, cors
ok('VirtualService', 'rewrite uri', vs([route({ rewrite: { uri: '/v1' } })]));
ok('VirtualService', 'rewrite authority', vs([route({ rewrite: { authority: 'x.com' } })]));
ok('VirtualService', 'rewrite uriRegexRewrite', vs([route({ rewrite: { uriRegexRewrite: { match: '^/service/([^/]+)(/.*)$', rewrite: '\\2/instance/\\1' } } })]));
bad('VirtualService', 'rewrite uri and regex', vs([route({ rewrite: { uri: '/a', uriRegexRewrite: { match: 'a', rewrite: 'b' } } })]), 'rewrite may only contain one of URI or UriRegexRewrite');
bad('VirtualService', 'rewrite empty', vs([route({ rewrite: {} })]), 'rewrite must specify at least one of URI, UriRegexRewrite, or authority');
bad('VirtualService', 'rewrite regex lookahead', vs([route({ rewrite: { uriRegexRewrite: { match: '(?=a)', rewrite: 'b' } } })]), 'invalid or unsupported Perl syntax');
ok('VirtualService', 'headers set/add/remove', vs([route({ headers: { request: { set: { 'x-a': '1' }, add: { 'x-b': '2' }, remove: ['x-c'] }, response: { set: { 'x-d': 'v' } } } })]));
ok('VirtualService', 'per-destination headers', vs([{ route: [{ ...dest(), headers: { response: { remove: ['foo'] } } }] }]));
bad('VirtualService', 'header name with space', vs([route({ headers: { request: { set: { 'x a': '1' } } } })]), 'invalid header name "x a"');
bad('VirtualService', 'header remove empty', vs([route({ headers: { request: { remove: [''] } } })]), 'invalid header name ""');
ok('VirtualService', 'cors', vs([route({ corsPolicy: { allowOrigins: [{ exact: 'https://example.com' }, { regex: 'https://.*\\.example\\.com' }], allowMethods: ['GET', 'POST'], allowHeaders: ['x-a'], maxAge: '24h', allowCredentials: true } })]));
bad('VirtualService', 'cors bad method', vs([route({ corsPolicy: { allowMethods: ['FETCH'] } })]), '"FETCH" is not a supported HTTP method');
bad('VirtualService', 'cors maxAge ms', vs([route({ corsPolicy: { maxAge: '1500ms' } })]), 'accurate only to seconds precision');
bad('VirtualService', 'cors origin regex', vs([route({ corsPolicy: { allowOrigins: [{ regex: '(?!x)' }] } })]), 'invalid or unsupported Perl syntax');
bad('VirtualService', 'cors header bad', vs([route({ corsPolicy: { allowHeaders: ['a b'] } })]), 'invalid header name');
// tcp / tls
ok('VirtualService', 'tcp route', vs([], { http: undefined, tcp: [{ match: [{ port: 27017 }], route: [{ destination: { host: 'mongo', port: { number: 5555 } } }] }] }));
ok('VirtualService', 'tcp weights', vs([], { http: undefined, tcp: [{ route: [{ ...dest('a'), weight: 1 }, { ...dest('b'), weight: 3 }] }] }));
ok('VirtualService', 'tcp destinationSubnets', vs([], { http: undefined, tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/8', '192.168.1.1'] }], route: [dest()] }] }));
ok('VirtualService', 'tls route', vs([], { http: undefined, hosts: ['*.example.com'], gateways: ['gw'], tls: [{ match: [{ port: 443, sniHosts: ['a.example.com'] }], route: [dest('a')] }] }));
bad('VirtualService', 'tcp no route', vs([], { http: undefined, tcp: [{ match: [{ port: 1 }] }] }), 'TCP route is required');
bad('VirtualService', 'tcp port 0', vs([], { http: undefined, tcp: [{ match: [{ port: 0 }], route: [dest()] }] }), 'port number 0 must be in the range');
bad('VirtualService', 'tcp bad subnet', vs([], { http: undefined, tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/33'] }], route: [dest()] }] }), 'invalid CIDR');
bad('VirtualService', 'tcp negative weight', vs([], { http: undefined, tcp: [{ route: [{ ...dest(), weight: -2 }] }] }), 'weight -2 < 0');
bad('VirtualService', 'tls without match', vs([], { http: undefined, tls: [{ route: [dest()] }] }), 'TLS route must have at least one match condition');
bad('VirtualService', 'tls without sni', vs([], { http: undefined, tls: [{ match: [{ port: 443 }], route: [dest()] }] }), 'TLS match must have at least one SNI host');
bad('VirtualService', 'tls bad sni', vs([], { http: undefined, tls: [{ match: [{ sniHosts: ['a.*.com'] }], route: [dest()] }] }), 'wildcards are only allowed as the leftmost label');
ok('VirtualService', 'exportTo', vs([route()], { exportTo: ['.', 'other-ns'] }));
ok('VirtualService', 'exportTo *', vs([route()], { exportTo: ['*'] }));
bad('VirtualService', 'exportTo bad', vs([route()], { exportTo: ['Bad_NS'] }), 'is not a valid namespace');

// ---- DestinationRule ----
const dr = (over: Spec = {}): Spec => ({ host: 'reviews', ...over });
ok('DestinationRule', 'scenario subsets', dr({ host: 'helloworld', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] }));
for (const h of ['reviews', 'reviews.prod.svc.cluster.local', '*.example.com', '*', 'example.com']) ok('DestinationRule', `host ${h}`, dr({ host: h }));
bad('DestinationRule', 'no host', {}, 'destination rule must have a host');
for (const h of ['foo.*.com', 'a_b', 'x..y']) bad('DestinationRule', `host ${h}`, dr({ host: h }), 'invalid');
bad('DestinationRule', 'duplicate subsets', dr({ subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v1', labels: { version: 'v2' } }] }), 'duplicate subset names: v1');
bad('DestinationRule', 'subset without name', dr({ subsets: [{ labels: { version: 'v1' } }] }), 'name is required');
bad('DestinationRule', 'subset name V1', dr({ subsets: [{ name: 'V1' }] }), 'subset name is invalid: V1');
bad('DestinationRule', 'subset name with dot', dr({ subsets: [{ name: 'v1.0' }] }), 'subset name is invalid');
ok('DestinationRule', 'subset without labels', dr({ subsets: [{ name: 'all' }] }));
bad('DestinationRule', 'subset label bad', dr({ subsets: [{ name: 'v1', labels: { version: 'v 1' } }] }), 'invalid tag value');
for (const lb of [{ simple: 'ROUND_ROBIN' }, { simple: 'LEAST_REQUEST' }, { simple: 'RANDOM' }, { simple: 'PASSTHROUGH' }, { simple: 'LEAST_CONN' }, { consistentHash: { httpHeaderName: 'x-user' } }, { consistentHash: { useSourceIp: true } }, { consistentHash: { httpCookie: { name: 'user', ttl: '0s' } } }, { consistentHash: { httpQueryParameterName: 'u' } }, { consistentHash: { httpHeaderName: 'x', minimumRingSize: 1024 } }, { localityLbSetting: { enabled: true, distribute: [{ from: 'us-west/zone1/*', to: { 'us-west/zone1/*': 80, 'us-west/zone2/*': 20 } }] } }, { localityLbSetting: { enabled: true, failover: [{ from: 'us-east', to: 'eu-west' }] } }, { simple: 'ROUND_ROBIN', warmupDurationSecs: '60s' }])
  ok('DestinationRule', `lb ${JSON.stringify(lb).slice(0, 50)}`, dr({ trafficPolicy: { loadBalancer: lb } }));
bad('DestinationRule', 'lb simple + hash', dr({ trafficPolicy: { loadBalancer: { simple: 'RANDOM', consistentHash: { useSourceIp: true } } } }), 'only one of simple or consistentHash');
bad('DestinationRule', 'lb unknown', dr({ trafficPolicy: { loadBalancer: { simple: 'FASTEST' } } }), 'unsupported load balancer FASTEST');
bad('DestinationRule', 'cookie without name', dr({ trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { ttl: '1s' } } } } }), 'name required for HttpCookie');
bad('DestinationRule', 'two hash keys', dr({ trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'a', useSourceIp: true } } } }), 'only one of');
bad('DestinationRule', 'distribute sum 90', dr({ trafficPolicy: { loadBalancer: { localityLbSetting: { distribute: [{ from: 'a/*', to: { 'a/*': 90 } }] } } } }), "must sum to 100");
bad('DestinationRule', 'distribute and failover', dr({ trafficPolicy: { loadBalancer: { localityLbSetting: { distribute: [{ from: 'a/*', to: { 'a/*': 100 } }], failover: [{ from: 'a', to: 'b' }] } } } }), "can not simultaneously specify 'distribute' and 'failover'");
bad('DestinationRule', 'failover same', dr({ trafficPolicy: { loadBalancer: { localityLbSetting: { failover: [{ from: 'a', to: 'a' }] } } } }), 'must specify different regions');
bad('DestinationRule', 'distribute wildcard middle', dr({ trafficPolicy: { loadBalancer: { localityLbSetting: { distribute: [{ from: 'a/*/z', to: { 'a/*': 100 } }] } } } }), 'locality wildcard * must be in the last segment');
for (const cp of [{ tcp: { maxConnections: 100, connectTimeout: '30ms' } }, { http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } }, { http: { http2MaxRequests: 1000, idleTimeout: '1h', h2UpgradePolicy: 'UPGRADE' } }, { tcp: { tcpKeepalive: { time: '7200s', interval: '75s' } } }, { tcp: { maxConnections: 0 } }, { http: { maxRetries: 3 } }])
  ok('DestinationRule', `pool ${JSON.stringify(cp).slice(0, 50)}`, dr({ trafficPolicy: { connectionPool: cp } }));
bad('DestinationRule', 'pool empty', dr({ trafficPolicy: { connectionPool: {} } }), 'connection pool must have at least one field');
bad('DestinationRule', 'maxConnections -1', dr({ trafficPolicy: { connectionPool: { tcp: { maxConnections: -1 } } } }), 'max connections must be non-negative');
bad('DestinationRule', 'connectTimeout 0s', dr({ trafficPolicy: { connectionPool: { tcp: { connectTimeout: '0s' } } } }), 'duration must be greater than 1ms');
bad('DestinationRule', 'connectTimeout number', dr({ trafficPolicy: { connectionPool: { tcp: { connectTimeout: 30 } } } }), 'invalid duration');
bad('DestinationRule', 'pending -1', dr({ trafficPolicy: { connectionPool: { http: { http1MaxPendingRequests: -1 } } } }), 'http1 max pending requests must be non-negative');
bad('DestinationRule', 'idleTimeout bad', dr({ trafficPolicy: { connectionPool: { http: { idleTimeout: '1x' } } } }), 'invalid duration');
bad('DestinationRule', 'h2UpgradePolicy bad', dr({ trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: 'ALWAYS' } } } }), 'unsupported h2UpgradePolicy');
for (const od of [{ consecutive5xxErrors: 7, interval: '5m', baseEjectionTime: '15m' }, { consecutiveGatewayErrors: 1, maxEjectionPercent: 100 }, { consecutive5xxErrors: 0 }, { maxEjectionPercent: 0, minHealthPercent: 50 }, { consecutiveErrors: 5 }, { interval: '1s', splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2 }])
  ok('DestinationRule', `outlier ${JSON.stringify(od).slice(0, 50)}`, dr({ trafficPolicy: { outlierDetection: od } }));
bad('DestinationRule', 'maxEjection 101', dr({ trafficPolicy: { outlierDetection: { maxEjectionPercent: 101 } } }), 'percentage 101 is not in range 0..100');
bad('DestinationRule', 'maxEjection -1', dr({ trafficPolicy: { outlierDetection: { maxEjectionPercent: -1 } } }), 'percentage -1 is not in range 0..100');
bad('DestinationRule', 'minHealth 200', dr({ trafficPolicy: { outlierDetection: { minHealthPercent: 200 } } }), 'percentage 200 is not in range 0..100');
bad('DestinationRule', 'consecutive -1', dr({ trafficPolicy: { outlierDetection: { consecutive5xxErrors: -1 } } }), 'cannot be negative');
bad('DestinationRule', 'interval 0s', dr({ trafficPolicy: { outlierDetection: { interval: '0s' } } }), 'duration must be greater than 1ms');
bad('DestinationRule', 'baseEjectionTime bad', dr({ trafficPolicy: { outlierDetection: { baseEjectionTime: '30' } } }), 'invalid duration');
for (const tls of [{ mode: 'ISTIO_MUTUAL' }, { mode: 'DISABLE' }, { mode: 'SIMPLE' }, { mode: 'SIMPLE', sni: 'x.com', caCertificates: '/ca' }, { mode: 'MUTUAL', clientCertificate: '/c', privateKey: '/k' }, { mode: 'MUTUAL', credentialName: 'client-cred' }, { mode: 'SIMPLE', credentialName: 'ca-cred' }, { mode: 'ISTIO_MUTUAL', sni: 'a', subjectAltNames: ['spiffe://x/ns/a/sa/b'] }, { mode: 'SIMPLE', insecureSkipVerify: true }])
  ok('DestinationRule', `tls ${JSON.stringify(tls).slice(0, 50)}`, dr({ trafficPolicy: { tls } }));
bad('DestinationRule', 'MUTUAL without cert', dr({ trafficPolicy: { tls: { mode: 'MUTUAL', privateKey: '/k' } } }), 'client certificate required for mutual tls');
bad('DestinationRule', 'MUTUAL without key', dr({ trafficPolicy: { tls: { mode: 'MUTUAL', clientCertificate: '/c' } } }), 'private key required for mutual tls');
bad('DestinationRule', 'ISTIO_MUTUAL with cert', dr({ trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', clientCertificate: '/c' } } }), 'If tls mode is ISTIO_MUTUAL');
bad('DestinationRule', 'ISTIO_MUTUAL with credentialName', dr({ trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', credentialName: 'x' } } }), 'If tls mode is ISTIO_MUTUAL');
bad('DestinationRule', 'credentialName with files', dr({ trafficPolicy: { tls: { mode: 'MUTUAL', credentialName: 'x', clientCertificate: '/c', privateKey: '/k' } } }), 'when credentialName is set');
bad('DestinationRule', 'tls mode bad', dr({ trafficPolicy: { tls: { mode: 'STRICT' } } }), 'unsupported TLS mode STRICT');
bad('DestinationRule', 'empty SAN', dr({ trafficPolicy: { tls: { mode: 'SIMPLE', subjectAltNames: [''] } } }), 'subjectAltNames must be non-empty');
ok('DestinationRule', 'portLevelSettings', dr({ trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, loadBalancer: { simple: 'LEAST_REQUEST' } }, { port: { number: 9080 }, tls: { mode: 'ISTIO_MUTUAL' } }] } }));
bad('DestinationRule', 'portLevel port 0', dr({ trafficPolicy: { portLevelSettings: [{ port: { number: 0 }, loadBalancer: { simple: 'RANDOM' } }] } }), 'port number 0 must be in the range');
bad('DestinationRule', 'portLevel no port', dr({ trafficPolicy: { portLevelSettings: [{ loadBalancer: { simple: 'RANDOM' } }] } }), 'must have a port number');
bad('DestinationRule', 'portLevel empty', dr({ trafficPolicy: { portLevelSettings: [{ port: { number: 80 } }] } }), 'must have at least one field');
bad('DestinationRule', 'portLevel duplicate', dr({ trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'DISABLE' } }, { port: { number: 80 }, tls: { mode: 'SIMPLE' } }] } }), 'duplicate port number 80');
ok('DestinationRule', 'subset trafficPolicy', dr({ subsets: [{ name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }] }));
bad('DestinationRule', 'subset trafficPolicy bad', dr({ subsets: [{ name: 'v2', trafficPolicy: { outlierDetection: { maxEjectionPercent: 500 } } }] }), 'percentage 500 is not in range 0..100');
bad('DestinationRule', 'local origin failures without split', dr({ trafficPolicy: { outlierDetection: { consecutiveLocalOriginFailures: 2 } } }), 'split external local origin errors is set to false');
bad('DestinationRule', 'empty trafficPolicy', dr({ trafficPolicy: {} }), 'traffic policy must have at least one field');
ok('DestinationRule', 'workloadSelector exportTo .', dr({ workloadSelector: { matchLabels: { app: 'a' } }, exportTo: ['.'] }));
bad('DestinationRule', 'workloadSelector exportTo *', dr({ workloadSelector: { matchLabels: { app: 'a' } }, exportTo: ['*'] }), 'cannot have exportTo beyond current namespace');
ok('DestinationRule', 'exportTo', dr({ exportTo: ['.', '~'] }));

// ---- ServiceEntry ----
const se = (over: Spec = {}): Spec => ({ hosts: ['api.example.com'], ports: [{ number: 443, name: 'https', protocol: 'TLS' }], resolution: 'DNS', location: 'MESH_EXTERNAL', ...over });
ok('ServiceEntry', 'external DNS', se());
ok('ServiceEntry', 'wildcard NONE', se({ hosts: ['*.example.com'], resolution: 'NONE' }));
ok('ServiceEntry', 'STATIC endpoints', se({ resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }, { address: '2001:db8::1' }] }));
ok('ServiceEntry', 'addresses', se({ addresses: ['240.0.0.1'] }));
ok('ServiceEntry', 'CIDR address with STATIC', se({ resolution: 'STATIC', addresses: ['10.1.0.0/16'], endpoints: [{ address: '10.1.0.5' }] }));
bad('ServiceEntry', 'CIDR address with DNS', se({ addresses: ['10.1.0.0/16'] }), 'CIDR addresses are allowed only for NONE/STATIC resolution types');
bad('ServiceEntry', 'NONE with endpoints', se({ resolution: 'NONE', endpoints: [{ address: '1.1.1.1' }] }), 'no endpoints should be provided for resolution type none');
bad('ServiceEntry', 'DNS_ROUND_ROBIN two endpoints', se({ resolution: 'DNS_ROUND_ROBIN', endpoints: [{ address: 'a.com' }, { address: 'b.com' }] }), 'there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN');
bad('ServiceEntry', 'two hosts with a TCP port', se({ hosts: ['a.com', 'b.com'], ports: [{ number: 27017, name: 'mongo', protocol: 'TCP' }] }), 'multiple hosts provided with non-HTTP, non-TLS ports');
ok('ServiceEntry', 'two hosts with HTTP and TLS ports', se({ hosts: ['a.com', 'b.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 443, name: 'tls', protocol: 'TLS' }] }));
bad('ServiceEntry', 'STATIC endpoint without address', se({ resolution: 'STATIC', endpoints: [{ labels: { a: 'b' } }] }), 'address is required');
ok('ServiceEntry', 'DNS endpoints', se({ endpoints: [{ address: 'us.example.com', ports: { https: 8443 } }, { address: '1.2.3.4' }] }));
ok('ServiceEntry', 'DNS_ROUND_ROBIN', se({ resolution: 'DNS_ROUND_ROBIN' }));
ok('ServiceEntry', 'MESH_INTERNAL workloadSelector', se({ location: 'MESH_INTERNAL', resolution: 'STATIC', workloadSelector: { labels: { app: 'vm' } } }));
ok('ServiceEntry', 'host IP (Istio reads it as a domain)', se({ hosts: ['10.0.0.1'], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }] }));
ok('ServiceEntry', 'targetPort', se({ ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 }] }));
ok('ServiceEntry', 'two ports', se({ ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 443, name: 'https', protocol: 'HTTPS' }] }));
ok('ServiceEntry', 'endpoint weight/labels', se({ resolution: 'STATIC', endpoints: [{ address: '10.0.0.1', labels: { version: 'v1' }, weight: 3, locality: 'us/z1' }] }));
ok('ServiceEntry', 'unix endpoint', se({ resolution: 'STATIC', endpoints: [{ address: 'unix:///var/run/a.sock' }] }));
ok('ServiceEntry', 'protocols', se({ ports: ['HTTP', 'HTTPS', 'GRPC', 'HTTP2', 'MONGO', 'TCP', 'TLS', 'UDP', 'MYSQL', 'REDIS'].map((p, i) => ({ number: 1000 + i, name: `p${i}`, protocol: p })) }));
bad('ServiceEntry', 'no hosts', se({ hosts: [] }), 'service entry must have at least one host');
bad('ServiceEntry', 'host *', se({ hosts: ['*'] }), 'invalid host *');
bad('ServiceEntry', 'host wildcard middle', se({ hosts: ['a.*.com'], resolution: 'NONE' }), 'wildcards are only allowed as the leftmost label');
bad('ServiceEntry', 'wildcard with DNS', se({ hosts: ['*.example.com'] }), 'hosts must be FQDN if no endpoints are provided for resolution mode DNS');
ok('ServiceEntry', 'wildcard with DNS and endpoints', se({ hosts: ['*.example.com'], endpoints: [{ address: 'proxy.example.com' }] }));
bad('ServiceEntry', 'port 0', se({ ports: [{ number: 0, name: 'x', protocol: 'TCP' }] }), 'port number 0 must be in the range 1..2^16-1');
bad('ServiceEntry', 'port 70000', se({ ports: [{ number: 70000, name: 'x', protocol: 'TCP' }] }), 'port number 70000 must be in the range 1..2^16-1');
ok('ServiceEntry', 'targetPort 0 (unset)', se({ ports: [{ number: 80, name: 'x', protocol: 'TCP', targetPort: 0 }] }));
bad('ServiceEntry', 'targetPort 70000', se({ ports: [{ number: 80, name: 'x', protocol: 'TCP', targetPort: 70000 }] }), 'port number 70000 must be in the range');
bad('ServiceEntry', 'port no name', se({ ports: [{ number: 80, protocol: 'TCP' }] }), 'invalid port name: ');
bad('ServiceEntry', 'port name with capitals', se({ ports: [{ number: 80, name: 'HTTP', protocol: 'HTTP' }] }), 'invalid port name: HTTP');
bad('ServiceEntry', 'duplicate port name', se({ ports: [{ number: 80, name: 'x', protocol: 'TCP' }, { number: 81, name: 'x', protocol: 'TCP' }] }), 'port name "x" already defined');
bad('ServiceEntry', 'duplicate port number', se({ ports: [{ number: 80, name: 'x', protocol: 'TCP' }, { number: 80, name: 'y', protocol: 'TCP' }] }), 'port 80 already defined');
bad('ServiceEntry', 'protocol bad', se({ ports: [{ number: 80, name: 'x', protocol: 'SMTP' }] }), 'unsupported protocol: SMTP');
bad('ServiceEntry', 'resolution bad', se({ resolution: 'MAGIC' }), 'unsupported resolution type MAGIC');
bad('ServiceEntry', 'location bad', se({ location: 'OUTSIDE' }), 'unsupported location OUTSIDE');
bad('ServiceEntry', 'STATIC hostname endpoint', se({ resolution: 'STATIC', endpoints: [{ address: 'foo.com' }] }), 'is not a valid IP address');
bad('ServiceEntry', 'DNS bad endpoint', se({ endpoints: [{ address: 'foo_bar' }] }), 'is not a valid FQDN or an IP address');
bad('ServiceEntry', 'address bad', se({ addresses: ['300.0.0.1'] }), 'invalid CIDR');
bad('ServiceEntry', 'endpoint port unknown', se({ endpoints: [{ address: 'a.com', ports: { grpc: 80 } }] }), 'endpoint port 80 is not defined by the service entry');
bad('ServiceEntry', 'endpoint port 0', se({ endpoints: [{ address: 'a.com', ports: { https: 0 } }] }), 'port number 0 must be in the range');
bad('ServiceEntry', 'endpoints and workloadSelector', se({ resolution: 'STATIC', endpoints: [{ address: '1.1.1.1' }], workloadSelector: { labels: { a: 'b' } } }), 'only one of WorkloadSelector or Endpoints');
bad('ServiceEntry', 'endpoint weight -1', se({ resolution: 'STATIC', endpoints: [{ address: '1.1.1.1', weight: -1 }] }), 'weight -1 < 0');
bad('ServiceEntry', 'endpoint label bad', se({ resolution: 'STATIC', endpoints: [{ address: '1.1.1.1', labels: { 'a b': 'c' } }] }), 'invalid tag key');

// ---- PeerAuthentication ----
for (const mode of ['STRICT', 'PERMISSIVE', 'DISABLE', 'UNSET']) ok('PeerAuthentication', `mode ${mode}`, { mtls: { mode } });
ok('PeerAuthentication', 'empty spec', {});
ok('PeerAuthentication', 'port level with selector', { selector: { matchLabels: { app: 'a' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } });
bad('PeerAuthentication', 'mode bad', { mtls: { mode: 'ON' } }, 'unsupported mTLS mode ON');
bad('PeerAuthentication', 'port level without selector', { portLevelMtls: { '8080': { mode: 'DISABLE' } } }, 'mesh/namespace peer authentication cannot have port level mTLS');
bad('PeerAuthentication', 'port level port 0', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '0': { mode: 'DISABLE' } } }, 'port number 0 must be in the range');
bad('PeerAuthentication', 'port level port 70000', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '70000': { mode: 'DISABLE' } } }, 'port number 70000 must be in the range');
bad('PeerAuthentication', 'port level empty', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: {} }, 'port level mTLS must not be empty');

// ---- AuthorizationPolicy ----
ok('AuthorizationPolicy', 'deny all', {});
ok('AuthorizationPolicy', 'allow all', { rules: [{}] });
ok('AuthorizationPolicy', 'principals', { action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/sleep'] } }] }] });
ok('AuthorizationPolicy', 'serviceAccounts', { rules: [{ from: [{ source: { serviceAccounts: ['default/sleep', 'curl'] } }] }] });
ok('AuthorizationPolicy', 'notServiceAccounts', { rules: [{ from: [{ source: { notServiceAccounts: ['other/sa'] } }] }] });
ok('AuthorizationPolicy', 'namespaces + ipBlocks', { rules: [{ from: [{ source: { namespaces: ['a'], ipBlocks: ['10.0.0.0/8', '1.2.3.4'] } }] }] });
ok('AuthorizationPolicy', 'to operation', { rules: [{ to: [{ operation: { methods: ['GET'], paths: ['/api/*'], ports: ['8080'] } }] }] });
ok('AuthorizationPolicy', 'path template', { rules: [{ to: [{ operation: { paths: ['/foo/{*}/bar', '/a/{**}'] } }] }] });
ok('AuthorizationPolicy', 'when', { rules: [{ when: [{ key: 'request.headers[version]', values: ['v1'] }, { key: 'source.namespace', notValues: ['x'] }, { key: 'request.auth.claims[iss]', values: ['a'] }] }] });
ok('AuthorizationPolicy', 'DENY', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'] } }] }] });
ok('AuthorizationPolicy', 'CUSTOM', { action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] });
ok('AuthorizationPolicy', 'AUDIT', { action: 'AUDIT', rules: [{}] });
bad('AuthorizationPolicy', 'action bad', { action: 'PERMIT' }, 'unsupported action PERMIT');
bad('AuthorizationPolicy', 'CUSTOM without provider', { action: 'CUSTOM', rules: [{}] }, 'provider must be specified for CUSTOM action');
bad('AuthorizationPolicy', 'provider with ALLOW', { action: 'ALLOW', provider: { name: 'x' } }, 'provider can only be used with CUSTOM action');
bad('AuthorizationPolicy', 'CUSTOM without rules', { action: 'CUSTOM', provider: { name: 'x' } }, 'CUSTOM action without `rules` is meaningless');
bad('AuthorizationPolicy', 'empty from', { rules: [{ from: [] }] }, '`from` must not be empty');
bad('AuthorizationPolicy', 'empty source', { rules: [{ from: [{ source: {} }] }] }, '`from.source` must not be nil or empty');
bad('AuthorizationPolicy', 'empty to', { rules: [{ to: [] }] }, '`to` must not be empty');
bad('AuthorizationPolicy', 'empty operation', { rules: [{ to: [{ operation: {} }] }] }, '`to.operation` must not be nil or empty');
bad('AuthorizationPolicy', 'serviceAccounts with principals', { rules: [{ from: [{ source: { serviceAccounts: ['a'], principals: ['b'] } }] }] }, 'cannot set serviceAccounts and principals at the same time');
bad('AuthorizationPolicy', 'serviceAccount a/b/c', { rules: [{ from: [{ source: { serviceAccounts: ['a/b/c'] } }] }] }, "ServiceAccounts must be of the form 'ns/sa' or 'sa'");
bad('AuthorizationPolicy', 'serviceAccount wildcard', { rules: [{ from: [{ source: { serviceAccounts: ['ns/*'] } }] }] }, 'wildcard is not supported in ServiceAccounts');
bad('AuthorizationPolicy', 'port 0', { rules: [{ to: [{ operation: { ports: ['0'] } }] }] }, 'port number 0 must be in the range');
bad('AuthorizationPolicy', 'port abc', { rules: [{ to: [{ operation: { ports: ['abc'] } }] }] }, 'port number abc must be in the range');
bad('AuthorizationPolicy', 'ipBlock bad', { rules: [{ from: [{ source: { ipBlocks: ['1.2.3'] } }] }] }, 'invalid CIDR');
bad('AuthorizationPolicy', 'empty value', { rules: [{ from: [{ source: { namespaces: [''] } }] }] }, 'empty value is not allowed');
bad('AuthorizationPolicy', 'when empty key', { rules: [{ when: [{ key: '', values: ['a'] }] }] }, 'key cannot be empty');
bad('AuthorizationPolicy', 'when no values', { rules: [{ when: [{ key: 'source.ip' }] }] }, 'at least one of values or notValues must be set');
bad('AuthorizationPolicy', 'when unknown key', { rules: [{ when: [{ key: 'source.color', values: ['x'] }] }] }, 'unknown attribute (source.color)');
bad('AuthorizationPolicy', 'when destination.port', { rules: [{ when: [{ key: 'destination.port', values: ['99999'] }] }] }, 'port number 99999 must be in the range');
bad('AuthorizationPolicy', 'bad path template', { rules: [{ to: [{ operation: { paths: ['/foo/{x}'] } }] }] }, 'invalid or unsupported path');

describe('Istio validation', () => {
  const accepted = rows.filter((r) => r.reject === undefined).length;
  it(`${rows.length} rows (${accepted} accepted, ${rows.length - accepted} rejected) give Istio's verdict`, () => {
    const failures: string[] = [];
    for (const r of rows) {
      const result = validateIstioObject({ kind: r.kind, metadata: { name: 'x', namespace: 'default' }, spec: r.spec });
      const text = formatIstioErrors(result.errors);
      if (r.reject === undefined && result.errors.length > 0) failures.push(`${r.kind} ${r.what}: should be accepted, got ${text}`);
      if (r.reject !== undefined && !text.includes(r.reject)) failures.push(`${r.kind} ${r.what}: should be rejected with "${r.reject}", got ${result.errors.length ? text : 'accepted'}`);
    }
    assert.deepEqual(failures, []);
  });

  it('names the field of each error', () => {
    const r = validateIstioObject({ kind: 'Gateway', spec: gw(server({}, { number: 99999 })) });
    assert.deepEqual(r.errors, [{ field: 'spec.servers[0].port.number', message: 'port number 99999 must be in the range 1..2^16-1' }]);
  });

  it('requires a spec and ignores kinds it does not validate', () => {
    assert.match(formatIstioErrors(validateIstioObject({ kind: 'Gateway' }).errors), /spec is required/);
    assert.deepEqual(validateIstioObject({ kind: 'WorkloadEntry', spec: { anything: 1 } }).errors, []);
  });

  it('re2Error accepts what RE2 accepts', () => {
    for (const re of ['a|b', '^$', '(?i:abc)', '(?s).', '[^a-z]', '\\bword\\b', 'x{2,}', 'a{,3}']) assert.equal(re2Error(re), undefined, re);
  });
});
