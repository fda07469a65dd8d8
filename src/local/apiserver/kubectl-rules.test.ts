// The real kubectl against the server: validation, dry runs, namespace rules, scale, status, auth.
import { scenarioDir } from '../../../test/helpers/paths.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NamespacedKubectl, TestCluster } from './test-support.js';
import { startSampleCluster } from './test-support.js';

const SCENARIO = scenarioDir();

describe('kubectl and the API server rules', () => {
  let c: TestCluster;
  let k: NamespacedKubectl;

  before(async () => {
    ({ cluster: c, k } = await startSampleCluster());
    const scenario = await k(['apply', '-f', join(SCENARIO, 'helloworld.yaml'), '-f', join(SCENARIO, 'multiclusteringress.yaml')]);
    assert.equal(scenario.code, 0, scenario.stderr);
  });
  after(() => c.close());

  test('a VirtualService with weight "eighty" is rejected with the field path, and not stored', async () => {
    const bad = readFileSync(join(SCENARIO, 'helloworld-virtualservice.yaml'), 'utf8').replace('weight: 80', 'weight: "eighty"').replace('name: helloworld', 'name: bad-weights');
    const r = await k(['apply', '-f', '-'], bad);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The VirtualService "bad-weights" is invalid: spec\.http\[0\]\.route\[0\]\.weight/);
    const get = await k(['get', 'vs', 'bad-weights']);
    assert.match(get.stderr, /NotFound/);
  });

  test('unknown fields are a strict decoding error; --validate=false lets them through with a warning', async () => {
    const doc = 'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n  name: extra\nspec:\n  hosts: [a]\n  foo: 1\n';
    const strict = await k(['apply', '-f', '-'], doc);
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /strict decoding error: unknown field "spec\.foo"/);
    const lax = await k(['create', '--validate=warn', '-f', '-'], doc);
    assert.equal(lax.code, 0, lax.stderr);
    assert.match(lax.stderr, /Warning: unknown field "spec\.foo"/);
  });

  test('dry-run=server stores nothing', async () => {
    const r = await k(['apply', '--dry-run=server', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dry\ndata:\n  a: b\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configmap\/dry created \(server dry run\)/);
    assert.match((await k(['get', 'cm', 'dry'])).stderr, /NotFound/);
  });

  test('kubectl\'s typed create commands (protobuf bodies) work', async () => {
    assert.equal((await c.kubectl(['create', 'namespace', 'typed'])).code, 0);
    const cm = await c.kubectl(['create', 'configmap', 'c1', '-n', 'typed', '--from-literal=a=b']);
    assert.equal(cm.code, 0, cm.stderr);
    const secret = await c.kubectl(['create', 'secret', 'generic', 's1', '-n', 'typed', '--from-literal=k=v']);
    assert.equal(secret.code, 0, secret.stderr);
    const sa = await c.kubectl(['create', 'serviceaccount', 'sa1', '-n', 'typed']);
    assert.equal(sa.code, 0, sa.stderr);
    const got = await c.kubectl(['get', 'configmap/c1', 'secret/s1', 'serviceaccount/sa1', '-n', 'typed', '-o', 'jsonpath={.items[0].data.a} {.items[1].data.k}']);
    assert.equal(got.stdout, `b ${Buffer.from('v').toString('base64')}`);
    const deployment = await c.kubectl(['create', 'deployment', 'd1', '-n', 'typed', '--image=x', '--replicas=2']);
    assert.equal(deployment.code, 0, deployment.stderr);
    const service = await c.kubectl(['create', 'service', 'clusterip', 'd1', '-n', 'typed', '--tcp=80:8080']);
    assert.equal(service.code, 0, service.stderr);
    const stored = await c.kubectl(['get', 'deployment/d1', 'service/d1', '-n', 'typed', '-o', 'jsonpath={.items[0].spec.replicas} {.items[0].spec.strategy.type} {.items[1].spec.ports[0].targetPort} {.items[1].spec.clusterIP}']);
    assert.match(stored.stdout, /^2 RollingUpdate 8080 127\.251\.0\.\d+$/, 'defaulted and allocated as for a JSON body');
    const job = await c.kubectl(['create', 'job', 'j1', '-n', 'typed', '--image=busybox']);
    assert.equal(job.code, 0, job.stderr);
    const jobSpec = await c.kubectl(['get', 'job/j1', '-n', 'typed', '-o', 'jsonpath={.spec.template.spec.restartPolicy} {.spec.backoffLimit}']);
    assert.equal(jobSpec.stdout, 'Never 6', 'defaulted as for a JSON body');
  });

  test('an unknown kind is refused by kubectl', async () => {
    const r = await k(['apply', '-f', '-'], 'apiVersion: networking.istio.io/v1alpha3\nkind: Telemetry\nmetadata:\n  name: t\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no matches for kind "Telemetry" in version "networking.istio.io\/v1alpha3"/);
  });

  test('namespaces: missing is 404, terminating is 403, body/URL mismatch is 400', async () => {
    const missing = await c.kubectl(['apply', '-n', 'nowhere', '-f', join(SCENARIO, 'backendconfig.yaml')]);
    assert.match(missing.stderr, /namespaces "nowhere" not found/);
    assert.equal((await c.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: doomed\n' })).code, 0);
    const del = await c.kubectl(['delete', 'ns', 'doomed', '--wait=false']);
    assert.equal(del.code, 0, del.stderr);
    assert.match((await c.kubectl(['get', 'ns', 'doomed'])).stdout, /doomed\s+Terminating/);
    const forbidden = await c.kubectl(['apply', '-n', 'doomed', '-f', join(SCENARIO, 'backendconfig.yaml')]);
    assert.match(forbidden.stderr, /Forbidden.*unable to create new content in namespace doomed because it is being terminated/);
    const mismatch = await c.request('POST', '/api/v1/namespaces/sample/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'other' } } });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.text, /does not match the namespace sent on the request/);
    const def = await c.kubectl(['delete', 'ns', 'default', '--wait=false']);
    assert.match(def.stderr, /this namespace may not be deleted/);
  });

  test('kubectl scale goes through the scale subresource', async () => {
    const r = await k(['scale', 'deployment', 'helloworld-v2', '--replicas=3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment.apps\/helloworld-v2 scaled/);
    assert.equal((await k(['get', 'deploy', 'helloworld-v2', '-o', 'jsonpath={.spec.replicas}'])).stdout, '3');
    const scale = (await c.request('GET', '/apis/apps/v1/namespaces/sample/deployments/helloworld-v2/scale')).json();
    assert.deepEqual(scale, {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: (scale as { metadata: object }).metadata,
      spec: { replicas: 3 },
      status: { replicas: 0, selector: 'app=helloworld,version=v2' },
    });
  });

  test('status writes touch only status; main writes keep it', async () => {
    const path = '/apis/networking.gke.io/v1beta1/namespaces/sample/multiclusteringresses/istio-ingressgateway';
    const st = await c.request('PATCH', `${path}/status`, { body: { status: { VIP: '127.200.0.1' }, spec: { ignored: true } }, contentType: 'application/merge-patch+json' });
    assert.equal(st.status, 200, st.text);
    assert.match((await k(['get', 'mci'])).stdout, /istio-ingressgateway\s+127\.200\.0\.1\s/);
    const main = await c.request('PATCH', path, { body: { metadata: { labels: { x: 'y' } }, status: { VIP: 'overwritten' } }, contentType: 'application/merge-patch+json' });
    assert.equal(main.status, 200, main.text);
    const obj = (await c.request('GET', path)).json() as { status: { VIP: string }; spec: Record<string, unknown>; metadata: { labels: Record<string, string> } };
    assert.equal(obj.status.VIP, '127.200.0.1');
    assert.equal(obj.spec.ignored, undefined);
    assert.equal(obj.metadata.labels.x, 'y');
  });

  test('a wrong or missing token is 401 Unauthorized', async () => {
    const r = await c.kubectl(['get', 'pods'], { token: 'wrong' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unauthorized|provide credentials/);
    const raw = await c.request('GET', '/version', { token: null });
    assert.equal(raw.status, 401);
    assert.deepEqual(raw.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });

  test('kubectl version and the health endpoints', async () => {
    const v = await c.kubectl(['version', '-o', 'json']);
    assert.equal(JSON.parse(v.stdout).serverVersion.gitVersion, 'v1.32.0');
    for (const p of ['/healthz', '/livez', '/readyz']) {
      const r = await c.request('GET', p);
      assert.equal(r.status, 200);
      assert.equal(r.text, 'ok');
    }
  });
});
