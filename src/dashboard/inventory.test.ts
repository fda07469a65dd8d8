import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { ConfigChange } from '../controlplane/propagation-report.js';
import { inventoryOf, propagationOf, registryServices } from './inventory.js';
import { windowQueries } from './telemetry-source.js';

function pod(namespace: string, name: string, labels: Record<string, string>, containers: string[], ip: string, ready = true): V1Pod {
  return {
    metadata: { namespace, name, labels, annotations: { 'prometheus.io/port': '15020', 'prometheus.io/path': '/stats/prometheus' } },
    spec: { containers: containers.map((c) => ({ name: c })) },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

test('workloads from pods: per cluster, app/version labels, ready count, sidecar or gateway; scrape targets of the proxies', () => {
  const { workloads, targets, meshNamespaces } = inventoryOf([
    {
      cluster: 'cluster-1',
      pods: [
        pod('sample', 'helloworld-v1-7d9f-abcde', { app: 'helloworld', version: 'v1', 'pod-template-hash': '7d9f' }, ['helloworld', 'istio-proxy'], '127.8.0.5'),
        pod('sample', 'helloworld-v1-7d9f-fghij', { app: 'helloworld', version: 'v1', 'pod-template-hash': '7d9f' }, ['helloworld', 'istio-proxy'], '127.8.0.6', false),
        pod('sample', 'plain-5c4b-zzzzz', { app: 'plain', 'pod-template-hash': '5c4b' }, ['plain'], '127.8.0.7'),
        pod('istio-gateway', 'istio-ingressgateway-6f5-kkkkk', { app: 'istio-ingressgateway', 'pod-template-hash': '6f5' }, ['istio-proxy'], '127.8.0.8'),
        pod('istio-system', 'istiod-asm-managed-stable-55-qqqqq', { app: 'istiod', 'pod-template-hash': '55' }, ['discovery'], '127.8.0.2'),
        pod('kube-system', 'coredns', {}, ['coredns'], '127.8.0.3'),
      ],
    },
    { cluster: 'cluster-2', pods: [pod('sample', 'helloworld-v2-1a2b-ppppp', { app: 'helloworld', version: 'v2', 'pod-template-hash': '1a2b' }, ['helloworld', 'istio-proxy'], '127.18.0.5')] },
  ]);
  assert.deepEqual([...meshNamespaces].sort(), ['istio-gateway', 'sample']);
  assert.deepEqual(
    workloads.map((w) => [`${w.cluster}/${w.namespace}/${w.workload}`, w.app, w.version, w.pods, w.ready, w.sidecar, w.gateway]),
    [
      ['cluster-1/istio-gateway/istio-ingressgateway', 'istio-ingressgateway', 'unknown', 1, 1, false, true],
      ['cluster-1/sample/helloworld-v1', 'helloworld', 'v1', 2, 1, true, false],
      ['cluster-1/sample/plain', 'plain', 'unknown', 1, 1, false, false],
      ['cluster-2/sample/helloworld-v2', 'helloworld', 'v2', 1, 1, true, false],
    ],
  );
  assert.deepEqual(targets.map((t) => t.url).sort(), ['http://127.18.0.5:15020/stats/prometheus', 'http://127.8.0.5:15020/stats/prometheus', 'http://127.8.0.6:15020/stats/prometheus', 'http://127.8.0.8:15020/stats/prometheus']);
});

test('services from /debug/registry: one per member cluster that has the host', () => {
  const svc = (name: string, namespace = 'sample') => ({ hostname: `${name}.${namespace}.svc.cluster.local`, name, namespace, clusters: ['ignored'] });
  const services = registryServices({
    clusters: [
      { clusterId: 'cluster-1', remote: false, services: [svc('helloworld'), svc('sleep')] },
      { clusterId: 'cluster-2', remote: true, services: [svc('helloworld'), { hostname: 'broken' }] },
      { clusterId: '', services: [svc('nowhere')] },
    ],
  });
  assert.deepEqual(services.map((s) => `${s.cluster}/${s.host}`), [
    'cluster-1/helloworld.sample.svc.cluster.local',
    'cluster-1/sleep.sample.svc.cluster.local',
    'cluster-2/helloworld.sample.svc.cluster.local',
  ]);
  assert.deepEqual(services[0], { cluster: 'cluster-1', host: 'helloworld.sample.svc.cluster.local', namespace: 'sample', name: 'helloworld' });
  assert.throws(() => registryServices({ services: [] }), /not a \/debug\/registry answer: expected \{clusters/);
});

test('propagation: the changes of every control plane, newest first', () => {
  const change = (name: string, observedAt: string, sourceCluster: string) => ({ kind: 'VirtualService', namespace: 'sample', name, sourceCluster, observedAt }) as ConfigChange;
  const merged = propagationOf([[change('b', '2026-12-03T18:00:02Z', 'cluster-1'), change('a', '2026-12-03T18:00:00Z', 'cluster-1')], [change('c', '2026-12-03T18:00:01Z', 'cluster-2')]]);
  assert.deepEqual(merged.map((c) => c.name), ['b', 'c', 'a']);
});

test('Prometheus queries: the increase over the window by Istio\'s labels, buckets by le too', () => {
  const [requests, buckets] = windowQueries(30_000);
  assert.match(requests!, /^sum by \(reporter, source_workload, .*response_code, connection_security_policy\) \(increase\(istio_requests_total\[30s\]\)\)$/);
  assert.match(buckets!, /, le\) \(increase\(istio_request_duration_milliseconds_bucket\[30s\]\)\)$/);
});
