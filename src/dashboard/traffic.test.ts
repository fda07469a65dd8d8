import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sample } from '../telemetry/prom-text.js';
import { edgeTraffic, p99Of } from './traffic.js';

const HW = 'helloworld.sample.svc.cluster.local';

function series(reporter: string, dst: { workload: string; version: string; cluster: string } | undefined, value: number, extra: Record<string, string> = {}): Sample {
  return {
    name: 'istio_requests_total',
    labels: {
      reporter, source_workload: 'sleep', source_workload_namespace: 'sample', source_app: 'sleep', source_version: 'unknown', source_cluster: 'cluster-1',
      destination_workload: dst?.workload ?? 'unknown', destination_workload_namespace: dst ? 'sample' : 'unknown', destination_app: dst ? 'helloworld' : 'unknown',
      destination_version: dst?.version ?? 'unknown', destination_cluster: dst?.cluster ?? 'unknown', destination_service: HW, response_code: '200',
      connection_security_policy: reporter === 'destination' ? 'mutual_tls' : 'unknown', ...extra,
    },
    value,
  };
}

const v1 = { workload: 'helloworld-v1', version: 'v1', cluster: 'cluster-1' };
const v2 = { workload: 'helloworld-v2', version: 'v2', cluster: 'cluster-2' };

test("Kiali's rule: the destination's count for workloads with a sidecar, the source's otherwise", () => {
  const sidecars = new Set(['cluster-1/sample/helloworld-v1']);
  const edges = edgeTraffic(
    [
      series('source', v1, 80), series('destination', v1, 79),
      // v2 runs no sidecar: only its caller counted it.
      series('source', v2, 20), series('destination', v2, 999),
      // No healthy upstream: only the source saw it, with no destination workload.
      series('source', undefined, 3, { response_code: '503' }),
    ],
    (key) => sidecars.has(key),
  );
  const byDst = new Map(edges.map((e) => [e.destination?.workload ?? 'none', e]));
  assert.equal(byDst.get('helloworld-v1')?.requests, 79);
  assert.equal(byDst.get('helloworld-v1')?.security, 'mutual_tls');
  assert.equal(byDst.get('helloworld-v2')?.requests, 20 + 999, 'reporter=destination is always counted (it exists only where a proxy received the request)');
  assert.equal(byDst.get('none')?.requests, 3);
  assert.equal(byDst.get('none')?.errors, 3);
  assert.equal(byDst.get('none')?.service, HW);
  assert.equal(byDst.get('none')?.destinationCluster, undefined, 'destination_cluster="unknown"');
  assert.equal(byDst.get('helloworld-v2')?.destinationCluster, 'cluster-2');
});

test('destination_cluster is kept when the workload is unknown, and separates the edges', () => {
  const edges = edgeTraffic(
    [series('source', undefined, 4, { destination_cluster: 'cluster-2', response_code: '503' }), series('source', undefined, 3, { response_code: '503' })],
    () => true,
  );
  assert.deepEqual(edges.map((e) => [e.destination, e.destinationCluster ?? 'none', e.requests]).sort(), [[undefined, 'cluster-2', 4], [undefined, 'none', 3]]);
});

test('5xx are errors, other codes are not; p99 from the summed buckets', () => {
  const edges = edgeTraffic(
    [
      series('destination', v1, 90), series('destination', v1, 10, { response_code: '503' }), series('destination', v1, 5, { response_code: '404' }),
      ...[[1, 0], [5, 50], [10, 100], [Infinity, 105]].map(([le, count]) => ({ ...series('destination', v1, count!), name: 'istio_request_duration_milliseconds_bucket', labels: { ...series('destination', v1, 0).labels, le: le === Infinity ? '+Inf' : String(le) } })),
    ],
    () => true,
  );
  assert.equal(edges.length, 1);
  assert.equal(edges[0]!.requests, 105);
  assert.equal(edges[0]!.errors, 10);
  const p99 = p99Of(edges[0]!.buckets);
  assert.ok(p99 !== undefined && p99 === 10, `p99 ${p99}`);
});
