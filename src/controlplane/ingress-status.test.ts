// The Ingress status syncer against a real API server, read back with the real kubectl: Istio's
// Ingresses get the ingress gateway Service's address, others are left alone, and the status writes
// are no config change (they rebuild nothing).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../local/apiserver/test-support.js';
import { until } from '../../test/helpers/until.js';
import { IngressStatusSyncer } from './ingress-status.js';
import { MeshSources } from './mesh-sources.js';

const OBJECTS = `apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: sample}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: istio}
spec: {controller: istio.io/ingress-controller}
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  type: LoadBalancer
  externalIPs: [203.0.113.7]
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: hello, namespace: sample}
spec:
  ingressClassName: istio
  rules: [{host: hello.example.com, http: {paths: [{path: /hello, pathType: Prefix, backend: {service: {name: helloworld, port: {number: 5000}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: other, namespace: sample}
spec:
  ingressClassName: nginx
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
`;

describe('Ingress status (Istio\'s status syncer)', () => {
  let cluster: TestCluster;
  let sources: MeshSources;
  let syncer: IngressStatusSyncer;
  let configChanges = 0;

  before(async () => {
    cluster = await startTestCluster();
    const applied = await cluster.kubectl(['apply', '-f', '-'], { input: OBJECTS });
    assert.equal(applied.code, 0, applied.stderr);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfig);
    const log = (): void => {};
    sources = new MeshSources({
      clusterId: 'test',
      kubeConfig,
      namespace: 'istio-system',
      revision: 'asm-managed-stable',
      ingressNamespace: 'istio-system',
      onChange: () => {
        configChanges++;
        syncer?.changed();
      },
      onIngressStatusChange: () => syncer?.changed(),
      log,
    });
    syncer = new IngressStatusSyncer({ kubeConfig, inputs: () => sources.ingressStatusInputs(), ready: () => sources.ready(), log, debounce: { quietMs: 20, maxDelayMs: 100 } });
    await until('sources ready', 10_000, async () => (sources.ready() ? true : undefined));
    syncer.changed();
  });

  after(async () => {
    syncer?.stop();
    await sources?.stop();
    await cluster?.close();
  });

  const address = async (name: string): Promise<string> => (await cluster.kubectl(['get', 'ingress', '-n', 'sample', name, '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}'])).stdout;

  test('an Ingress of Istio\'s class gets the ingress Service\'s address; kubectl get ingress shows it', async () => {
    await until('the address written', 10_000, async () => ((await address('hello')) === '203.0.113.7' ? true : undefined));
    const table = (await cluster.kubectl(['get', 'ingress', '-n', 'sample'])).stdout;
    assert.match(table, /^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE\n/);
    assert.match(table, /\nhello\s+istio\s+hello\.example\.com\s+203\.0\.113\.7\s+80\s+\S+\n/);
    assert.match(table, /\nother\s+nginx\s+\*\s+80\s+\S+\n/, 'an Ingress of another class is left alone');
    assert.equal(await address('other'), '');
  });

  test('the status writes are no config change; a new Service address is written again, a deleted Service clears it', async () => {
    const before = configChanges;
    const written = syncer.stats().written;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(configChanges, before, 'our own status write did not count as a config change');
    const patched = await cluster.kubectl(['patch', 'svc', '-n', 'istio-system', 'istio-ingressgateway', '--type=merge', '-p', '{"spec":{"externalIPs":["203.0.113.8"]}}']);
    assert.equal(patched.code, 0, patched.stderr);
    await until('the new address', 10_000, async () => ((await address('hello')) === '203.0.113.8' ? true : undefined));
    assert.equal(syncer.stats().written, written + 1);
    assert.equal((await cluster.kubectl(['delete', 'svc', '-n', 'istio-system', 'istio-ingressgateway'])).code, 0);
    await until('the address cleared', 10_000, async () => ((await address('hello')) === '' ? true : undefined));
    assert.equal(syncer.stats().failures, 0);
  });
});
