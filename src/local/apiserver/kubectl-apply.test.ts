// The real kubectl against the server: apply of the scenario files, idempotence, patches, output
// formats, explain and deletes.
import { scenarioDir } from '../../../test/helpers/paths.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { NamespacedKubectl, TestCluster } from './test-support.js';
import { startSampleCluster } from './test-support.js';

const SCENARIO = scenarioDir();

describe('kubectl apply, get, patch and delete', () => {
  let c: TestCluster;
  let k: NamespacedKubectl;

  before(async () => {
    ({ cluster: c, k } = await startSampleCluster());
  });
  after(() => c.close());

  test('every scenario file applies unchanged into a namespace', async () => {
    const files = ['helloworld.yaml', 'helloworld-destinationrule.yaml', 'helloworld-virtualservice.yaml', 'helloworld-gateway.yaml', 'sleep.yaml', 'backendconfig.yaml', 'multiclusterservice.yaml', 'multiclusteringress.yaml', 'istio-ingressgateway'];
    const r = await k(['apply', ...files.flatMap((f) => ['-f', join(SCENARIO, f)])]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 16, r.stdout);
    assert.doesNotMatch(r.stdout, /unchanged|configured/);
    assert.match(r.stdout, /multiclusteringress.networking.gke.io\/istio-ingressgateway created/);
    const vs = JSON.parse((await k(['get', 'virtualservice', 'helloworld', '-o', 'json'])).stdout);
    assert.equal(vs.apiVersion, 'networking.istio.io/v1');
    assert.equal(vs.spec.http[0].route[0].weight, 80);
    const svc = JSON.parse((await k(['get', 'svc', 'helloworld', '-o', 'json'])).stdout);
    assert.match(svc.spec.clusterIP, /^127\.251\.0\.\d+$/);
    assert.deepEqual(svc.spec.clusterIPs, [svc.spec.clusterIP]);
  });

  test('applying the same files again changes nothing', async () => {
    const before = (await k(['get', 'deploy,svc,vs,dr,gw', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}'])).stdout;
    const r = await k(['apply', ...['helloworld.yaml', 'helloworld-virtualservice.yaml', 'helloworld-gateway.yaml'].flatMap((f) => ['-f', join(SCENARIO, f)])]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /configured|created/);
    assert.equal(r.stdout.match(/unchanged/g)?.length, 6);
    const after = (await k(['get', 'deploy,svc,vs,dr,gw', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}'])).stdout;
    assert.equal(after, before);
  });

  test('a changed field re-applied is patched, keeping the ClusterIP', async () => {
    const ip = (await k(['get', 'svc', 'helloworld', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    const changed = readFileSync(join(SCENARIO, 'helloworld.yaml'), 'utf8').replace('replicas: 1', 'replicas: 4').replace('port: 5000', 'port: 5001');
    const r = await k(['apply', '-f', '-'], changed);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment.apps\/helloworld-v1 configured/);
    assert.match(r.stdout, /service\/helloworld configured/);
    assert.equal((await k(['get', 'deploy', 'helloworld-v1', '-o', 'jsonpath={.spec.replicas}'])).stdout, '4');
    assert.equal((await k(['get', 'svc', 'helloworld', '-o', 'jsonpath={.spec.ports[0].port} {.spec.clusterIP}'])).stdout, `5001 ${ip}`);

    const canary = await k(['apply', '-f', join(SCENARIO, 'helloworld-gateway-canary.yaml')]);
    assert.match(canary.stdout, /virtualservice.networking.istio.io\/helloworld-gateway configured/);
    const weights = (await k(['get', 'vs', 'helloworld-gateway', '-o', 'jsonpath={.spec.http[0].route[*].weight}'])).stdout;
    assert.equal(weights, '20 80');
  });

  test('get -o wide, custom-columns, yaml and all-namespaces', async () => {
    const wide = (await k(['get', 'deploy', '-o', 'wide'])).stdout;
    assert.match(wide, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /helloworld-v1\s+0\/4\s+0\s+0\s+\S+\s+helloworld\s+docker.io\/istio\/examples-helloworld-v1\s+app=helloworld,version=v1/);
    const svc = (await k(['get', 'svc', '-o', 'wide'])).stdout;
    assert.match(svc, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR/);
    assert.match(svc, /istio-ingressgateway\s+LoadBalancer\s+127\.251\.0\.\d+\s+<pending>\s+15021\/TCP,80\/TCP,443\/TCP/);
    const vs = (await k(['get', 'vs'])).stdout;
    assert.match(vs, /^NAME\s+GATEWAYS\s+HOSTS\s+AGE/);
    assert.match(vs, /helloworld-gateway\s+\["helloworld-gateway"\]\s+\["\*"\]/);
    assert.match((await k(['get', 'dr'])).stdout, /^NAME\s+HOST\s+AGE\nhelloworld\s+helloworld\s/);
    assert.match((await k(['get', 'mci'])).stdout, /^NAME\s+VIP\s+AGE\nistio-ingressgateway\s/);
    const cols = (await k(['get', 'svc', '-o', 'custom-columns=NAME:.metadata.name,PORT:.spec.ports[0].port', '--sort-by=.metadata.name'])).stdout;
    assert.match(cols, /^NAME\s+PORT\nhelloworld\s+5001\nistio-ingressgateway\s+15021\nsleep\s+80\n$/);
    const yaml = parse((await k(['get', 'dr', 'helloworld', '-o', 'yaml'])).stdout);
    assert.equal(yaml.kind, 'DestinationRule');
    assert.equal(yaml.spec.subsets.length, 2);
    const all = (await c.kubectl(['get', 'ns', 'sample', '--show-labels'])).stdout;
    assert.match(all, /^NAME\s+STATUS\s+AGE\s+LABELS\nsample\s+Active\s/);
    const allNs = (await c.kubectl(['get', 'svc', '-A'])).stdout;
    assert.match(allNs, /^NAMESPACE\s+NAME\s+TYPE/);
    assert.match(allNs, /sample\s+helloworld\s+ClusterIP/);
    const labelled = (await k(['get', 'deploy', '-l', 'version=v2', '-o', 'name'])).stdout;
    assert.equal(labelled, 'deployment.apps/helloworld-v2\n');
    const byField = (await k(['get', 'deploy', '--field-selector', 'metadata.name=sleep', '-o', 'name'])).stdout;
    assert.equal(byField, 'deployment.apps/sleep\n');
  });

  test('kubectl explain reads the OpenAPI v3 documents', async () => {
    const r = await c.kubectl(['explain', 'virtualservices']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /KIND:\s+VirtualService/);
    assert.match(r.stdout, /spec\s+<Object>/);
  });

  test('kubectl patch (strategic, json); strategic merge patch refused for custom kinds', async () => {
    const sm = await k(['patch', 'deploy', 'sleep', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sleep","image":"curl:8"}]}}}}']);
    assert.equal(sm.code, 0, sm.stderr);
    assert.equal((await k(['get', 'deploy', 'sleep', '-o', 'jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].command[0]}'])).stdout, 'curl:8 /bin/sleep');
    const jp = await k(['patch', 'vs', 'helloworld', '--type=json', '-p', '[{"op":"replace","path":"/spec/http/0/route/0/weight","value":70},{"op":"replace","path":"/spec/http/0/route/1/weight","value":30}]']);
    assert.equal(jp.code, 0, jp.stderr);
    assert.equal((await k(['get', 'vs', 'helloworld', '-o', 'jsonpath={.spec.http[0].route[*].weight}'])).stdout, '70 30');
    const crdStrategic = await k(['patch', 'vs', 'helloworld', '-p', '{"spec":{"hosts":["x"]}}']);
    assert.match(crdStrategic.stderr, /UnsupportedMediaType|unknown format/);
  });

  test('kubectl delete returns once the object is gone; delete by label', async () => {
    const r = await k(['delete', '-f', join(SCENARIO, 'helloworld-destinationrule.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /destinationrule.networking.istio.io "helloworld" deleted/);
    assert.match((await k(['get', 'dr'])).stderr, /No resources found in sample namespace/);
    const byLabel = await k(['delete', 'deploy', '-l', 'app=helloworld']);
    assert.equal(byLabel.code, 0, byLabel.stderr);
    assert.match(byLabel.stdout, /helloworld-v1" deleted/);
    assert.match(byLabel.stdout, /helloworld-v2" deleted/);
    assert.equal((await k(['get', 'deploy', '-o', 'name'])).stdout, 'deployment.apps/istio-ingressgateway\ndeployment.apps/sleep\n');
  });

});
