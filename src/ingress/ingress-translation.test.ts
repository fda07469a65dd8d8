// Ingresses through the whole pure path: manifests -> mesh snapshot (conversion) -> the ingress
// gateway's Envoy resources, walked as Envoy walks them; and the findings `analyze` gives about them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseYaml } from '../translate/testdata/fixture.js';
import { offlineSnapshot, OFFLINE_CLUSTER } from '../mesh-cli/analyze-offline.js';
import type { ProxyIdentity } from '../registry/model.js';
import { danglingReferences, simulate } from '../translate/simulate.js';
import { analyze, translate } from '../translate/translate.js';

const HELLOWORLD = `apiVersion: v1
kind: Service
metadata: {name: helloworld, namespace: sample}
spec:
  ports: [{name: http, port: 5000}]
  selector: {app: helloworld}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: helloworld-v1, namespace: sample}
spec:
  selector: {matchLabels: {app: helloworld}}
  template:
    metadata: {labels: {app: helloworld, version: v1}}
    spec: {containers: [{name: helloworld, image: hw, ports: [{containerPort: 5000}]}]}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: istio}
spec: {controller: istio.io/ingress-controller}
`;

const ingress = (name: string, spec: string) => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: sample}
spec:
${spec}`;

const HELLO = ingress('hello', `  ingressClassName: istio
  rules:
  - host: hello.example.com
    http:
      paths:
      - {path: /hello, pathType: Prefix, backend: {service: {name: helloworld, port: {number: 5000}}}}
      - {path: /exact, pathType: Exact, backend: {service: {name: helloworld, port: {name: http}}}}
`);

const GATEWAY_POD: ProxyIdentity = {
  id: 'router~192.0.2.200~istio-ingressgateway-1.istio-system~istio-system.svc.cluster.local',
  kind: 'router',
  namespace: 'istio-system',
  cluster: OFFLINE_CLUSTER,
  labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' },
  ip: '192.0.2.200',
};

function mesh(yaml: string) {
  return offlineSnapshot(parseYaml(yaml, 'test').map((object) => ({ object, source: 'test' })), 'default').snapshot;
}

const HW_CLUSTER = 'outbound|5000||helloworld.sample.svc.cluster.local';

describe('an Ingress of Istio\'s class, served by the ingress gateway', () => {
  test('Prefix matches whole segments (path_separated_prefix), Exact matches the path, other hosts find no virtual host', () => {
    const gw = translate(mesh(HELLOWORLD + HELLO), GATEWAY_POD);
    const at = (path: string, host = 'hello.example.com') => simulate(gw, { listenerPort: 80, host, path });
    for (const path of ['/hello', '/hello/', '/hello/there?x=1']) {
      const r = at(path);
      assert.equal(r.outcome, 'routed', path);
      assert.deepEqual(r.clusters.map((c) => c.name), [HW_CLUSTER], path);
    }
    assert.equal(at('/helloworld').outcome, 'no-route', 'a Prefix path matches whole segments only');
    assert.equal(at('/exact').outcome, 'routed');
    assert.equal(at('/exact/x').outcome, 'no-route');
    assert.equal(at('/hello', 'other.example.com').outcome, 'no-virtual-host');
    assert.equal(at('/hello', 'hello.example.com:8080').outcome, 'routed', 'a Host with a port still finds the host');
    const vhost = gw.routes.find((r) => r.name === 'http.80')?.virtual_hosts.find((v) => v.name === 'hello.example.com:80');
    assert.deepEqual(vhost?.routes.map((r) => r.match), [{ path: '/exact' }, { path_separated_prefix: '/hello' }]);
    assert.deepEqual(danglingReferences(gw), []);
    assert.deepEqual(analyze(mesh(HELLOWORLD + HELLO)), []);
  });

  test('a Prefix "/" path is a plain prefix: every path of the host', () => {
    const gw = translate(mesh(HELLOWORLD + ingress('all', `  ingressClassName: istio
  rules:
  - http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: helloworld, port: {number: 5000}}}}]}
`)), GATEWAY_POD);
    const r = simulate(gw, { listenerPort: 80, host: 'anything.example.com', path: '/any/path' });
    assert.equal(r.outcome, 'routed');
    assert.deepEqual(r.clusters.map((c) => c.name), [HW_CLUSTER]);
  });

  test('a VirtualService for the same host on port 80 merges with the Ingress\'s routes, as Istio merges gateway hosts', () => {
    const vs = `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: sample}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: extra, namespace: sample}
spec:
  hosts: [hello.example.com]
  gateways: [gw]
  http: [{match: [{uri: {exact: /extra}}], route: [{destination: {host: helloworld}}]}]
`;
    const gw = translate(mesh(HELLOWORLD + HELLO + vs), GATEWAY_POD);
    for (const path of ['/hello', '/extra']) assert.equal(simulate(gw, { listenerPort: 80, host: 'hello.example.com', path }).outcome, 'routed', path);
  });

  test('an Ingress of another class changes nothing on the gateway', () => {
    const other = ingress('nginx', `  ingressClassName: nginx
  rules: [{host: hello.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: helloworld, port: {number: 5000}}}}]}}]
`);
    const gw = translate(mesh(HELLOWORLD + other), GATEWAY_POD);
    assert.deepEqual(gw.listeners, []);
    assert.deepEqual(analyze(mesh(HELLOWORLD + other)), []);
  });
});

describe('analyze: what of an Ingress is not served names the Ingress', () => {
  test('a backend Service that does not exist: the translator\'s finding moves to the Ingress path that made the route', () => {
    const broken = ingress('broken', `  ingressClassName: istio
  rules:
  - host: b.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: nosuch, port: {number: 80}}}}]}
`);
    const problems = analyze(mesh(HELLOWORLD + broken));
    assert.deepEqual(problems.map((p) => `${p.severity} ${p.code} ${p.kind} ${p.namespace}/${p.name} ${p.field}`), [
      'error unknown-host Ingress sample/broken spec.rules[0].http.paths[0].backend.service.name',
    ]);
    assert.match(problems[0].message, /\(in VirtualService sample\/b-example-com-broken-istio-autogenerated-k8s-ingress, made from this Ingress\)$/);
  });

  test('TLS: the tls entry becomes an HTTPS server the gateway serves (nothing reported); defaultBackend and named ports are', () => {
    const tls = ingress('secure', `  ingressClassName: istio
  defaultBackend: {service: {name: helloworld, port: {number: 5000}}}
  tls: [{hosts: [s.example.com], secretName: s-cert}]
  rules:
  - host: s.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: helloworld, port: {name: grpc}}}}]}
`);
    const problems = analyze(mesh(HELLOWORLD + tls));
    assert.deepEqual(problems.map((p) => `${p.severity} ${p.code} ${p.kind} ${p.namespace}/${p.name} ${p.field}`), [
      'warning unsupported Ingress sample/secure spec.defaultBackend',
      'error unknown-port Ingress sample/secure spec.rules[0].http.paths[0].backend.service.port.name',
    ]);
  });
});
