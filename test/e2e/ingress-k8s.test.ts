// Kubernetes Ingress as an Istio user drives it: `meshwork install` registered the IngressClass
// `istio`; the ingress gateway runs where Istio's default install puts it (istio-system, Service
// istio-ingressgateway of type LoadBalancer); an Ingress for helloworld applied with the real kubectl
// is served by that gateway (real curl to the address `kubectl get ingress` shows), an Ingress of
// another class is left alone, `meshwork analyze` names what of an Ingress cannot be served, and
// deleting the Ingress takes its route away.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { E2E_DATA_PLANE, MeshworkEnv, run } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { parseAnswers } from '../helpers/traffic.js';
import { until } from '../helpers/until.js';

const CTX = 'cluster-1';
const REV = 'asm-managed-stable';

/** Istio's default ingress gateway layout: istio-system, injected through the pod's revision label. */
const GATEWAY = `apiVersion: v1
kind: ServiceAccount
metadata: {name: istio-ingressgateway, namespace: istio-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector:
    matchLabels: {istio: ingressgateway, app: istio-ingressgateway}
  template:
    metadata:
      annotations: {inject.istio.io/templates: gateway}
      labels: {istio: ingressgateway, app: istio-ingressgateway, istio.io/rev: ${REV}, sidecar.istio.io/inject: "true"}
    spec:
      serviceAccountName: istio-ingressgateway
      containers:
      - name: istio-proxy
        image: auto
        ports: [{containerPort: 15021}, {containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system, labels: {app: istio-ingressgateway, istio: ingressgateway}}
spec:
  type: LoadBalancer
  selector: {istio: ingressgateway, app: istio-ingressgateway}
  ports:
  - {name: status-port, port: 15021, targetPort: 15021}
  - {name: http2, port: 80, targetPort: 80}
`;

const ingress = (name: string, className: string, spec: string): string => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: sample}
spec:
  ingressClassName: ${className}
${spec}`;

const HELLO = ingress('hello', 'istio', `  rules:
  - host: hello.example.com
    http:
      paths:
      - {path: /hello, pathType: Prefix, backend: {service: {name: helloworld, port: {number: 5000}}}}
`);
/** Another host, the backend port by name: it keeps the gateway's port 80 open when HELLO is gone. */
const NAMED = ingress('hello-named', 'istio', `  rules:
  - host: named.example.com
    http:
      paths:
      - {path: /hello, pathType: Exact, backend: {service: {name: helloworld, port: {name: http}}}}
`);
const NGINX = ingress('not-istio', 'nginx', `  rules:
  - host: hello.example.com
    http:
      paths:
      - {path: /other, pathType: Prefix, backend: {service: {name: helloworld, port: {number: 5000}}}}
`);
const BROKEN = ingress('broken', 'istio', `  defaultBackend: {service: {name: helloworld, port: {number: 5000}}}
  rules:
  - host: broken.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: helloworld, port: {name: grpc}}}}
`);

describe(`Kubernetes Ingress on the ingress gateway (${E2E_DATA_PLANE} data plane)`, { timeout: 240_000 }, () => {
  const env = new MeshworkEnv(170);
  let address = '';

  /** Status code and body of one request through the address kubectl shows, with a Host header. */
  const get = async (host: string, path: string): Promise<{ code: string; body: string }> => {
    const res = await run('curl', ['-s', '-m', '5', '-H', `Host: ${host}`, '-w', '\n%{http_code}', `http://${address}${path}`]);
    const lines = res.stdout.split('\n');
    return { code: lines.pop() ?? '', body: lines.join('\n') };
  };
  const ingressAddress = async (name: string): Promise<string> =>
    (await env.kubectlOk(CTX, ['get', 'ingress', '-n', 'sample', name, '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}'])).trim();

  before(async () => {
    await env.upWithControlPlanes([CTX]);
    await env.kubectlOk(CTX, ['create', 'namespace', 'sample']);
    await env.kubectlOk(CTX, ['label', 'namespace', 'sample', `istio.io/rev=${REV}`]);
    const scenario = join(scenarioDir(), 'helloworld.yaml');
    await env.kubectlOk(CTX, ['apply', '-n', 'sample', '-f', scenario, '-l', 'service=helloworld']);
    await env.kubectlOk(CTX, ['apply', '-n', 'sample', '-f', scenario, '-l', 'version=v1']);
    await env.kubectlOk(CTX, ['apply', '-f', '-'], GATEWAY);
    await env.kubectlOk(CTX, ['rollout', 'status', '-n', 'istio-system', 'deployment/istio-ingressgateway', '--timeout=60s']);
    await env.kubectlOk(CTX, ['rollout', 'status', '-n', 'sample', 'deployment/helloworld-v1', '--timeout=60s']);
  });

  after(async () => {
    await env.cleanup();
  });

  test('meshwork install registered the IngressClass istio; kubectl get ingress shows CLASS, HOSTS, the gateway Service\'s ADDRESS, PORTS', async () => {
    assert.match(await env.kubectlOk(CTX, ['get', 'ingressclass']), /^NAME\s+CONTROLLER\s+PARAMETERS\s+AGE\nistio\s+istio\.io\/ingress-controller\s+<none>\s+\S+\n$/);
    await env.kubectlOk(CTX, ['apply', '-f', '-'], `${HELLO}---\n${NAMED}`);
    const lbIp = (await env.kubectlOk(CTX, ['get', 'svc', '-n', 'istio-system', 'istio-ingressgateway', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim();
    assert.match(lbIp, /^127\.171\.\d+\.\d+$/, 'the local cluster gives a LoadBalancer Service its ClusterIP as address');
    address = await until('the Ingress status', 30_000, async () => ((await ingressAddress('hello')) || undefined));
    assert.equal(address, lbIp, 'status.loadBalancer.ingress is the ingress gateway Service\'s address');
    const table = await env.kubectlOk(CTX, ['get', 'ingress', '-n', 'sample']);
    assert.match(table, /^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE\n/);
    assert.match(table, new RegExp(`\\nhello\\s+istio\\s+hello\\.example\\.com\\s+${address.replaceAll('.', '\\.')}\\s+80\\s+\\S+\\n`));
  });

  test('real curl to that address reaches helloworld through the gateway: a Prefix path matches whole segments, a named port resolves', async () => {
    await until('the gateway serving the Ingress', 30_000, async () => ((await get('hello.example.com', '/hello')).code === '200' ? true : undefined));
    const n = 50;
    const urls = Array.from({ length: n }, () => `http://${address}/hello`);
    const res = await run('curl', ['-s', '-m', '5', '-H', 'Host: hello.example.com', '-w', '\\n', ...urls], { timeoutMs: 60_000 });
    const split = parseAnswers(res.stdout, n);
    assert.equal(split.failures, 0, res.stdout.slice(0, 500));
    assert.deepEqual(Object.keys(split.byVersion), ['v1']);
    // /hello/x is routed (the app itself answers 404 with its text); /helloworld is not (the gateway's empty 404).
    assert.deepEqual(await get('hello.example.com', '/hello/x'), { code: '404', body: '404 Not Found\n' });
    assert.deepEqual(await get('hello.example.com', '/helloworld'), { code: '404', body: '' });
    assert.deepEqual(await get('other.example.com', '/hello'), { code: '404', body: '' });
    await until('the named-port Ingress', 20_000, async () => ((await get('named.example.com', '/hello')).code === '200' ? true : undefined));
    assert.match((await get('named.example.com', '/hello')).body, /^Hello version: v1, instance: helloworld-v1-/);
    assert.deepEqual(await get('named.example.com', '/hello/x'), { code: '404', body: '' }, 'an Exact path matches that path only');
  });

  test('an Ingress of another class is left alone: not served, no address written', async () => {
    await env.kubectlOk(CTX, ['apply', '-f', '-'], NGINX);
    // The Istio Ingress of the same host is still served, and the other class's path is not.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal((await get('hello.example.com', '/hello')).code, '200');
    assert.deepEqual(await get('hello.example.com', '/other'), { code: '404', body: '' });
    assert.equal(await ingressAddress('not-istio'), '');
  });

  test('meshwork analyze names the Ingress and the reason for what cannot be served', async () => {
    await env.kubectlOk(CTX, ['apply', '-f', '-'], BROKEN);
    const out = await until('the findings about the Ingress', 30_000, async () => {
      const res = await env.meshwork(['analyze', '--context', CTX]);
      return res.stdout.includes('(Ingress sample/broken)') ? res : undefined;
    });
    assert.equal(out.code, 79, `errors exit 79 as istioctl's: ${out.stdout}${out.stderr}`);
    assert.match(out.stdout, /^Error \[IST0101\] \(Ingress sample\/broken\) Service sample\/helloworld has no port named "grpc" .* \(at spec\.rules\[0\]\.http\.paths\[0\]\.backend\.service\.port\.name\)$/m);
    assert.match(out.stdout, /^Warning \[MW0001\] \(Ingress sample\/broken\) Istio ignores an Ingress's defaultBackend .* \(at spec\.defaultBackend\)$/m);
    assert.doesNotMatch(out.stdout, /Ingress sample\/(hello|hello-named|not-istio)\)/, 'nothing to say about the others');
    await env.kubectlOk(CTX, ['delete', 'ingress', '-n', 'sample', 'broken']);
  });

  test('deleting the Ingress removes its route: 404 from the gateway', async () => {
    await env.kubectlOk(CTX, ['delete', 'ingress', '-n', 'sample', 'hello']);
    await until('the route gone', 20_000, async () => ((await get('hello.example.com', '/hello')).code === '404' ? true : undefined));
    assert.deepEqual(await get('hello.example.com', '/hello'), { code: '404', body: '' });
    assert.equal((await get('named.example.com', '/hello')).code, '200', 'the other Ingress is still served');
  });

  test('the gateway accepted every config it was sent (no NACK)', async () => {
    await env.assertDataPlaneAcceptedEverything([CTX]);
  });
});
