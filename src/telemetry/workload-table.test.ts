// The workload table: Istio's workload names from pod names, canonical service defaults, one entry per
// pod IP with the service ports it backs, and the table's trip through its proto and back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MeshEndpoint } from '../registry/model.js';
import { packAny, TYPE_URLS, unpackAny } from '../xds/protos.js';
import { buildWorkloadTable, toWorkloadTable, workloadNameOf } from './workload-table.js';

describe('workload names, as Istio names a pod\'s workload', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['helloworld-v1-7d5f9c6b8-x2x9q', { 'pod-template-hash': '7d5f9c6b8' }, 'helloworld-v1'],
    ['sleep-5c6d8f-abcde', { 'pod-template-hash': '5c6d8f' }, 'sleep'],
    ['web-2', { 'statefulset.kubernetes.io/pod-name': 'web-2' }, 'web'],
    ['backup-28f9x', { 'job-name': 'backup' }, 'backup'],
    ['plain-pod', {}, 'plain-pod'],
    // A hash label the name does not carry: the pod is its own workload.
    ['odd-name', { 'pod-template-hash': 'zzz' }, 'odd-name'],
  ];
  for (const [pod, labels, want] of cases) it(`${pod} -> ${want}`, () => assert.equal(workloadNameOf(pod, labels), want));
});

function endpoint(over: Partial<MeshEndpoint>): MeshEndpoint {
  return {
    hostname: 'helloworld.sample.svc.cluster.local', cluster: 'cluster-1', address: '127.10.0.5', ports: { http: 5000 }, labels: {}, locality: { region: 'local', zone: 'cluster-1' },
    ready: true, namespace: 'sample', hasSidecar: true, ...over,
  };
}

describe('the workload table', () => {
  const table = buildWorkloadTable({
    trustDomain: 'example.org',
    endpoints: [
      endpoint({ podName: 'helloworld-v2-6b7c-q1w2e', labels: { app: 'helloworld', version: 'v2', 'pod-template-hash': '6b7c' }, serviceAccount: 'default', cluster: 'cluster-2', address: '127.20.0.7' }),
      endpoint({ podName: 'helloworld-v2-6b7c-q1w2e', labels: { app: 'helloworld', version: 'v2', 'pod-template-hash': '6b7c' }, serviceAccount: 'default', cluster: 'cluster-2', address: '127.20.0.7', hostname: 'hw-alias.sample.svc.cluster.local', ports: { web: 8080 } }),
      endpoint({ podName: 'sleep-5c6d-abcde', labels: { app: 'sleep', 'pod-template-hash': '5c6d', 'service.istio.io/canonical-name': 'sleeper' }, serviceAccount: 'sleep', hostname: 'sleep.sample.svc.cluster.local', ports: { http: 80 }, address: '127.10.0.9' }),
      // A ServiceEntry address: no pod, no workload.
      endpoint({ address: '10.1.2.3', hostname: 'external.example.com', hasSidecar: false }),
      // No sidecar: no mesh identity to report.
      endpoint({ podName: 'legacy-1a2b-zzzzz', labels: { 'pod-template-hash': '1a2b' }, serviceAccount: 'legacy', hasSidecar: false, address: '127.10.0.11' }),
    ],
  });

  it('has one entry per pod IP, with Istio\'s labels and every service port it backs', () => {
    assert.deepEqual(Object.keys(table.workloads).sort(), ['127.10.0.11', '127.10.0.9', '127.20.0.7']);
    assert.deepEqual(table.workloads['127.20.0.7'], {
      name: 'helloworld-v2', namespace: 'sample', app: 'helloworld', version: 'v2', cluster: 'cluster-2', service_account: 'default',
      principal: 'spiffe://example.org/ns/sample/sa/default', canonical_service: 'helloworld', canonical_revision: 'v2',
      services: [{ host: 'helloworld.sample.svc.cluster.local', target_port: 5000 }, { host: 'hw-alias.sample.svc.cluster.local', target_port: 8080 }],
    });
    const sleep = table.workloads['127.10.0.9']!;
    assert.equal(sleep.name, 'sleep');
    assert.equal(sleep.canonical_service, 'sleeper');
    assert.equal(sleep.canonical_revision, 'latest');
    assert.equal(sleep.version, '');
    assert.equal(table.workloads['127.10.0.11']!.principal, '', 'a pod without a sidecar has no mesh principal');
  });

  it('goes through its proto (WDS) and back unchanged', () => {
    const any = packAny(TYPE_URLS.workloadTable, table);
    assert.deepEqual(toWorkloadTable(unpackAny(any).message), table);
  });

  it('refuses a malformed table by naming the entry', () => {
    assert.throws(() => toWorkloadTable({ workloads: { '1.2.3.4': { name: 7 } } }), /1\.2\.3\.4: name is not a string/);
    assert.throws(() => toWorkloadTable({ workloads: [] }), /not a map/);
  });
});
