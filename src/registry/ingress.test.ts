// Table tests of the Ingress conversion against Istio's behaviour (pilot/pkg/config/kube/ingress and
// its testdata): path types, hosts, ordering, backends, TLS, and which Ingresses are Istio's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1HTTPIngressPath, V1Ingress, V1IngressClass, V1IngressSpec, V1Service } from '@kubernetes/client-node';
import { DEFAULT_INGRESS_SETTINGS, ingressGatewaySelector, isIstioIngress, type IngressMeshSettings } from '../ingress/class.js';
import { convertIngresses, implementationSpecificMatch, type IngressInput } from './ingress.js';

const ISTIO_CLASS: V1IngressClass = { metadata: { name: 'istio' }, spec: { controller: 'istio.io/ingress-controller' } };
const NGINX_CLASS: V1IngressClass = { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } };

function ingress(name: string, spec: V1IngressSpec, opts: { namespace?: string; created?: string; annotations?: Record<string, string> } = {}): V1Ingress {
  return {
    metadata: { name, namespace: opts.namespace ?? 'ns', creationTimestamp: new Date(opts.created ?? '2024-01-01T00:00:00Z'), ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: { ingressClassName: 'istio', ...spec },
  };
}

const backend = (port: number | string, service = 'service1') => ({ service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } });
const path = (p: string | undefined, pathType: string | undefined, port: number | string = 80): V1HTTPIngressPath =>
  ({ ...(p !== undefined ? { path: p } : {}), ...(pathType ? { pathType } : {}), backend: backend(port) }) as V1HTTPIngressPath;
const rule = (host: string | undefined, ...paths: V1HTTPIngressPath[]) => ({ ...(host ? { host } : {}), http: { paths } });

function convert(ingresses: V1Ingress[], extra: Partial<IngressInput> = {}) {
  return convertIngresses({
    ingresses,
    ingressClasses: [ISTIO_CLASS, NGINX_CLASS],
    services: [],
    mesh: DEFAULT_INGRESS_SETTINGS,
    ingressNamespace: 'istio-system',
    cluster: 'cluster-1',
    domainSuffix: 'cluster.local',
    ...extra,
  });
}

/** The VirtualService's routes as `match -> destination:port` lines. */
function routes(ingresses: V1Ingress[], extra: Partial<IngressInput> = {}): string[] {
  const out = convert(ingresses, extra);
  assert.equal(out.virtualServices.length, 1, JSON.stringify(out.virtualServices));
  return (out.virtualServices[0].spec.http ?? []).map((r) => {
    const uri = r.match?.[0]?.uri;
    const match = uri?.exact !== undefined ? `exact ${uri.exact}` : uri?.prefix !== undefined ? `prefix ${uri.prefix}` : 'any';
    const d = r.route?.[0]?.destination;
    return `${match} -> ${d?.host}:${d?.port?.number}`;
  });
}

describe('Ingress paths', () => {
  const cases: Array<[string, string | undefined, string | undefined, string]> = [
    ['Exact', '/sub/path', 'Exact', 'exact /sub/path'],
    ['Exact with a trailing slash', '/sub/path/', 'Exact', 'exact /sub/path/'],
    ['Prefix', '/sub/path', 'Prefix', 'prefix /sub/path'],
    ['Prefix "/"', '/', 'Prefix', 'prefix /'],
    ['ImplementationSpecific plain path: exact', '/path', 'ImplementationSpecific', 'exact /path'],
    ['ImplementationSpecific ending in /*: prefix', '/regex3/*', 'ImplementationSpecific', 'prefix /regex3'],
    ['ImplementationSpecific ending in .*: prefix', '/regex1.*', 'ImplementationSpecific', 'prefix /regex1'],
    ['ImplementationSpecific other regex: exact, literally', '/regex2*', 'ImplementationSpecific', 'exact /regex2*'],
    ['ImplementationSpecific "/*": every path', '/*', 'ImplementationSpecific', 'any'],
    ['ImplementationSpecific empty: every path', '', 'ImplementationSpecific', 'any'],
    ['no path: every path', undefined, 'ImplementationSpecific', 'any'],
  ];
  for (const [what, p, type, want] of cases) {
    test(what, () => {
      assert.deepEqual(routes([ingress('foo', { rules: [rule('foo.example.com', path(p, type, 4200))] })]), [`${want} -> service1.ns.svc.cluster.local:4200`]);
    });
  }

  test('the fallback match of ImplementationSpecific, value by value (Istio\'s createFallbackStringMatch)', () => {
    assert.equal(implementationSpecificMatch('.*'), undefined);
    assert.equal(implementationSpecificMatch('*'), undefined);
    assert.deepEqual(implementationSpecificMatch('/a/b.*'), { prefix: '/a/b' });
    assert.deepEqual(implementationSpecificMatch('/a/'), { exact: '/a/' });
  });

  test('routes are sorted longest path first, Exact before Prefix on equal length, stable otherwise (Istio\'s simple.yaml)', () => {
    const paths = [
      path('/path', 'ImplementationSpecific', 4200),
      path('/sub/path', 'ImplementationSpecific', 4201),
      path('/sub/path/', 'ImplementationSpecific', 4202),
      path('/regex1.*', 'ImplementationSpecific', 4203),
      path('/regex2*', 'ImplementationSpecific', 4204),
      path('/regex3/*', 'ImplementationSpecific', 4205),
      path('/sub/path', 'Exact', 4206),
      path('/sub/path/', 'Exact', 4207),
      path('/sub/path', 'Prefix', 4208),
      path('/sub/path/', 'Prefix', 4209),
    ];
    const got = routes([ingress('foo', { rules: [rule('foohost.bar.com', ...paths)] })], { domainSuffix: 'mydomain' });
    assert.deepEqual(got.map((l) => l.replace(' -> service1.ns.svc.mydomain:', ' '))
      , [
        'exact /sub/path/ 4202',
        'exact /sub/path/ 4207',
        'prefix /sub/path/ 4209',
        'exact /sub/path 4201',
        'exact /sub/path 4206',
        'prefix /sub/path 4208',
        'exact /regex2* 4204',
        'prefix /regex1 4203',
        'prefix /regex3 4205',
        'exact /path 4200',
      ]);
  });

  test('a route without a path match goes after every route with one', () => {
    assert.deepEqual(routes([ingress('foo', { rules: [rule('h', path('/*', 'ImplementationSpecific', 1), path('/a', 'Prefix', 2))] })]), [
      'prefix /a -> service1.ns.svc.cluster.local:2',
      'any -> service1.ns.svc.cluster.local:1',
    ]);
  });

  test('an ImplementationSpecific path with a "*" Istio matches literally is reported', () => {
    const out = convert([ingress('foo', { rules: [rule('h', path('/api/*/v1', 'ImplementationSpecific'))] })]);
    assert.deepEqual(out.problems.map((p) => `${p.severity} ${p.code} ${p.field}`), ['warning unsupported spec.rules[0].http.paths[0].path']);
    assert.match(out.problems[0].message, /is matched exactly/);
  });
});

describe('Ingress hosts, Gateways and VirtualServices', () => {
  test('one Gateway per Ingress in the ingress namespace, HTTP on 80 for every host, selecting istio=ingressgateway', () => {
    const out = convert([ingress('foo', { rules: [rule('foohost.bar.com', path('/', 'Prefix'))] })]);
    assert.deepEqual(out.gateways.map((g) => ({ ns: g.namespace, name: g.name, spec: g.spec })), [{
      ns: 'istio-system',
      name: 'foo-istio-autogenerated-k8s-ingress-ns',
      spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, protocol: 'HTTP', name: 'http-80-ingress-foo-ns' }, hosts: ['*'] }] },
    }]);
    const vs = out.virtualServices[0];
    assert.equal(`${vs.namespace}/${vs.name}`, 'ns/foohost-bar-com-foo-istio-autogenerated-k8s-ingress');
    assert.deepEqual(vs.spec.hosts, ['foohost.bar.com']);
    assert.deepEqual(vs.spec.gateways, ['istio-system/foo-istio-autogenerated-k8s-ingress-ns']);
    assert.deepEqual(vs.derivedFrom, { kind: 'Ingress', source: { namespace: 'ns', name: 'foo' }, parts: [{ namespace: 'ns', name: 'foo', field: 'spec.rules[0].http.paths[0]' }] });
    assert.equal(vs.creationTimestamp, undefined, 'derived config has no creation time (Istio: the zero time, the oldest)');
  });

  test('a rule without host is "*"; a wildcard host is kept', () => {
    const out = convert([ingress('foo', { rules: [rule(undefined, path('/a', 'Prefix')), rule('*.example.com', path('/b', 'Prefix'))] })]);
    assert.deepEqual(out.virtualServices.map((v) => `${v.name} ${v.spec.hosts?.join()}`), [
      '*-foo-istio-autogenerated-k8s-ingress *',
      '*-example-com-foo-istio-autogenerated-k8s-ingress *.example.com',
    ]);
  });

  test('rules for one host from several Ingresses make one VirtualService, the oldest Ingress names it (Istio\'s overlay.yaml)', () => {
    const out = convert([
      ingress('foo2', { rules: [rule('foohost.bar.com', path('/second', 'ImplementationSpecific', 4200))] }, { created: '2024-01-01T00:00:05Z' }),
      ingress('foo', { rules: [rule('foohost.bar.com', { backend: backend(4200) } as V1HTTPIngressPath)] }),
    ]);
    assert.equal(out.virtualServices.length, 1);
    const vs = out.virtualServices[0];
    assert.equal(vs.name, 'foohost-bar-com-foo-istio-autogenerated-k8s-ingress');
    assert.deepEqual(vs.spec.gateways, ['istio-system/foo-istio-autogenerated-k8s-ingress-ns']);
    assert.deepEqual(vs.spec.http?.map((r) => r.match?.[0]?.uri ?? 'any'), [{ exact: '/second' }, 'any']);
    assert.deepEqual(vs.derivedFrom?.parts.map((p) => p.name), ['foo2', 'foo']);
    assert.equal(out.gateways.length, 2);
  });

  test('a backend in another Ingress\'s namespace resolves in its own namespace', () => {
    const out = convert([
      ingress('a', { rules: [rule('h', path('/a', 'Prefix'))] }, { namespace: 'one' }),
      ingress('b', { rules: [rule('h', path('/bb', 'Prefix'))] }, { namespace: 'two', created: '2024-01-02T00:00:00Z' }),
    ]);
    assert.deepEqual(out.virtualServices[0].spec.http?.map((r) => r.route?.[0]?.destination.host), ['service1.two.svc.cluster.local', 'service1.one.svc.cluster.local']);
    assert.equal(out.virtualServices[0].namespace, 'one');
  });

  test('ingressSelector, or a non-default ingressService, choose the gateway pods', () => {
    const mesh = (over: Partial<IngressMeshSettings>): IngressMeshSettings => ({ ...DEFAULT_INGRESS_SETTINGS, ...over });
    assert.deepEqual(ingressGatewaySelector(mesh({})), { istio: 'ingressgateway' });
    assert.deepEqual(ingressGatewaySelector(mesh({ ingressSelector: 'my-gw' })), { istio: 'my-gw' });
    assert.deepEqual(ingressGatewaySelector(mesh({ ingressService: 'edge' })), { istio: 'edge' });
    assert.deepEqual(ingressGatewaySelector(mesh({ ingressService: '' })), { istio: 'ingressgateway' });
    const out = convert([ingress('foo', { rules: [rule('h', path('/', 'Prefix'))] })], { mesh: mesh({ ingressSelector: 'my-gw' }), ingressNamespace: 'istio-gateway' });
    assert.deepEqual(out.gateways[0].spec.selector, { istio: 'my-gw' });
    assert.equal(out.gateways[0].namespace, 'istio-gateway');
    assert.deepEqual(out.virtualServices[0].spec.gateways, ['istio-gateway/foo-istio-autogenerated-k8s-ingress-ns']);
  });
});

describe('Ingress backends', () => {
  const services: V1Service[] = [{ metadata: { name: 'service1', namespace: 'ns' }, spec: { ports: [{ name: 'http', port: 5000 }, { name: 'grpc', port: 6000 }] } }];

  test('a port by number is taken as is', () => {
    assert.deepEqual(routes([ingress('foo', { rules: [rule('h', path('/', 'Prefix', 8080))] })]), ['prefix / -> service1.ns.svc.cluster.local:8080']);
  });

  test('a port by name resolves to the Service port\'s number', () => {
    assert.deepEqual(routes([ingress('foo', { rules: [rule('h', path('/', 'Prefix', 'grpc'))] })], { services }), ['prefix / -> service1.ns.svc.cluster.local:6000']);
  });

  test('a port name the Service does not have, or a Service that does not exist, leaves the path out with an error', () => {
    const out = convert([ingress('foo', { rules: [rule('h', path('/a', 'Prefix', 'admin'), { path: '/b', pathType: 'Prefix', backend: backend('http', 'missing') }, path('/c', 'Prefix', 1))] })], { services });
    assert.deepEqual(out.virtualServices[0].spec.http?.map((r) => r.match?.[0]?.uri?.prefix), ['/c']);
    assert.deepEqual(out.problems.map((p) => `${p.severity} ${p.code} ${p.kind} ns/${p.name} ${p.field}`), [
      'error unknown-port Ingress ns/foo spec.rules[0].http.paths[0].backend.service.port.name',
      'error unknown-host Ingress ns/foo spec.rules[0].http.paths[1].backend.service.name',
    ]);
    assert.match(out.problems[0].message, /has no port named "admin" \(its ports: 5000 "http", 6000 "grpc"\)/);
  });

  test('a resource backend is left out, reported as unsupported', () => {
    const out = convert([ingress('foo', { rules: [rule('h', { path: '/', pathType: 'Prefix', backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' } } })] })]);
    assert.deepEqual(out.virtualServices[0].spec.http, []);
    assert.deepEqual(out.problems.map((p) => `${p.code} ${p.field}`), ['unsupported spec.rules[0].http.paths[0].backend']);
    assert.match(out.problems[0].message, /StorageBucket\/static is not supported/);
  });

  test('a defaultBackend and a rule without http are ignored, as Istio ignores them, and reported', () => {
    const out = convert([ingress('foo', { defaultBackend: backend(80), rules: [{ host: 'only.host' }] })]);
    assert.equal(out.virtualServices.length, 0);
    assert.equal(out.gateways.length, 1, 'the Gateway exists all the same');
    assert.deepEqual(out.problems.map((p) => `${p.severity} ${p.code} ${p.field}`), ['warning unsupported spec.defaultBackend', 'warning unsupported spec.rules[0]']);
  });
});

describe('Ingress TLS', () => {
  test('a TLS entry with a secret becomes an HTTPS server on 443 with that credentialName, before the HTTP server (Istio\'s tls.yaml)', () => {
    const out = convert([ingress('tls', { rules: [rule('foo.org', path('/*', 'ImplementationSpecific'))], tls: [{ hosts: ['foo.org'], secretName: 'myingress-cert' }] }, { namespace: 'bar' })]);
    assert.deepEqual(out.gateways[0].spec.servers, [
      { port: { number: 443, protocol: 'HTTPS', name: 'https-443-ingress-tls-bar-0' }, hosts: ['foo.org'], tls: { httpsRedirect: false, mode: 'SIMPLE', credentialName: 'myingress-cert' } },
      { port: { number: 80, protocol: 'HTTP', name: 'http-80-ingress-tls-bar' }, hosts: ['*'] },
    ]);
    assert.deepEqual(out.gateways[0].derivedFrom?.parts.map((p) => p.field), ['spec.tls[0]', 'spec']);
    assert.deepEqual(out.problems, []);
  });

  test('TLS hosts default to "*"; an entry without secretName opens no HTTPS server and is reported', () => {
    const out = convert([ingress('tls', { rules: [rule('foo.org', path('/', 'Prefix'))], tls: [{ secretName: 'cert' }, { hosts: ['foo.org'] }] })]);
    assert.deepEqual(out.gateways[0].spec.servers?.map((s) => `${s.port.number} ${s.hosts.join()}`), ['443 *', '80 *']);
    assert.deepEqual(out.problems.map((p) => `${p.code} ${p.field}`), ['unsupported spec.tls[1]']);
  });
});

describe('which Ingresses are Istio\'s (shouldProcessIngressWithClass)', () => {
  const mesh = (mode: IngressMeshSettings['ingressControllerMode']): IngressMeshSettings => ({ ...DEFAULT_INGRESS_SETTINGS, ingressControllerMode: mode });
  const classes = [ISTIO_CLASS, NGINX_CLASS];
  const plain = (spec: V1IngressSpec, annotations?: Record<string, string>): V1Ingress => ({ metadata: { name: 'i', namespace: 'ns', ...(annotations ? { annotations } : {}) }, spec });
  const cases: Array<[string, V1Ingress, Record<IngressMeshSettings['ingressControllerMode'], boolean>]> = [
    ['IngressClass with Istio\'s controller', plain({ ingressClassName: 'istio' }), { OFF: true, STRICT: true, DEFAULT: true }],
    ['IngressClass of another controller', plain({ ingressClassName: 'nginx' }), { OFF: false, STRICT: false, DEFAULT: false }],
    ['an IngressClass that does not exist counts as no class', plain({ ingressClassName: 'gone' }), { OFF: false, STRICT: false, DEFAULT: true }],
    ['no class at all', plain({}), { OFF: false, STRICT: false, DEFAULT: true }],
    ['annotation istio', plain({}, { 'kubernetes.io/ingress.class': 'istio' }), { OFF: false, STRICT: true, DEFAULT: true }],
    ['annotation nginx wins over an Istio IngressClass', plain({ ingressClassName: 'istio' }, { 'kubernetes.io/ingress.class': 'nginx' }), { OFF: false, STRICT: false, DEFAULT: false }],
  ];
  for (const [what, ing, want] of cases) {
    test(what, () => {
      for (const mode of ['OFF', 'STRICT', 'DEFAULT'] as const) assert.equal(isIstioIngress(ing, classes, mesh(mode)), want[mode], mode);
    });
  }

  test('an Ingress of another class makes no config and no findings', () => {
    const out = convert([{ metadata: { name: 'n', namespace: 'ns' }, spec: { ingressClassName: 'nginx', defaultBackend: backend(80), rules: [rule('h', path('/', 'Prefix'))] } }]);
    assert.deepEqual(out, { gateways: [], virtualServices: [], problems: [] });
  });

  test('the annotation names the mesh\'s ingressClass, whatever it is', () => {
    const custom: IngressMeshSettings = { ...DEFAULT_INGRESS_SETTINGS, ingressClass: 'mesh' };
    assert.equal(isIstioIngress(plain({}, { 'kubernetes.io/ingress.class': 'mesh' }), classes, custom), true);
    assert.equal(isIstioIngress(plain({}, { 'kubernetes.io/ingress.class': 'istio' }), classes, custom), false);
  });
});
