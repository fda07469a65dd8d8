import assert from 'node:assert/strict';
import { test } from 'node:test';
import { histogramQuantile, measureDelta, promQueries, sideSelector, verdict } from './analysis.js';
import type { Sample } from '../telemetry/prom-text.js';

const quantileCases: Array<[string, number, Array<[number, number]>, number | undefined]> = [
  ['interpolated within the bucket', 0.99, [[0.5, 0], [1, 0], [5, 50], [10, 100], [Infinity, 100]], 9.9],
  ['median on a bucket edge', 0.5, [[5, 50], [10, 100], [Infinity, 100]], 5],
  ['in the first bucket, from 0', 0.99, [[0.5, 100], [Infinity, 100]], 0.495],
  ['in +Inf: the highest finite bound', 0.99, [[10, 90], [Infinity, 100]], 10],
  ['no observations', 0.99, [[10, 0], [Infinity, 0]], undefined],
  ['no +Inf bucket', 0.99, [[10, 5]], undefined],
];
for (const [name, q, buckets, expected] of quantileCases) {
  test(`histogramQuantile: ${name}`, () => {
    const got = histogramQuantile(q, buckets.map(([le, count]) => ({ le, count })));
    if (expected === undefined) assert.equal(got, undefined);
    else assert.ok(got !== undefined && Math.abs(got - expected) < 1e-9, `${got} != ${expected}`);
  });
}

test('side selectors: version -> destination_version, topology.istio.io/cluster -> destination_cluster, reporter destination', () => {
  assert.deepEqual(sideSelector('v2', { version: 'v2' }, 'helloworld', 'sample').labels, { reporter: 'destination', destination_service_name: 'helloworld', destination_service_namespace: 'sample', destination_version: 'v2' });
  const both = sideSelector('c2', { version: 'v2', 'topology.istio.io/cluster': 'cluster-2', track: 'x' }, 'helloworld', 'sample');
  assert.equal(both.labels.destination_cluster, 'cluster-2');
  assert.equal(both.labels.destination_version, 'v2');
  assert.deepEqual(both.ignored, ['track']);
  assert.throws(() => sideSelector('c', { track: 'x' }, 'helloworld', 'sample'), /subset c selects track: Istio's metrics tell subsets apart only by version or topology.istio.io\/cluster/);
});

test('PromQL: success rate counts and histogram_quantile over the interval', () => {
  const q = promQueries(sideSelector('v2', { version: 'v2' }, 'helloworld', 'sample'), 30_000);
  const sel = 'reporter="destination",destination_service_name="helloworld",destination_service_namespace="sample",destination_version="v2"';
  assert.equal(q.requests, `sum(increase(istio_requests_total{${sel}}[30s]))`);
  assert.equal(q.errors, `sum(increase(istio_requests_total{${sel},response_code=~"5.."}[30s]))`);
  assert.equal(q.p99, `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${sel}}[30s])))`);
});

function series(version: string, code: string, count: number, buckets: Array<[string, number]>, extra: Record<string, string> = {}): Sample[] {
  const labels = { reporter: 'destination', destination_service_name: 'helloworld', destination_service_namespace: 'sample', destination_version: version, response_code: code, ...extra };
  return [{ name: 'istio_requests_total', labels, value: count }, ...buckets.map(([le, v]) => ({ name: 'istio_request_duration_milliseconds_bucket', labels: { ...labels, le }, value: v }))];
}

test('measureDelta: counter deltas per side, 5xx share, p99 from bucket deltas; a reset series counts from zero; the other side and reporter=source are left out', () => {
  const v2 = sideSelector('v2', { version: 'v2' }, 'helloworld', 'sample');
  const before = [...series('v2', '200', 100, [['5', 100], ['10', 100], ['+Inf', 100]]), ...series('v2', '500', 10, [['5', 10], ['10', 10], ['+Inf', 10]]), ...series('v1', '200', 1000, [['+Inf', 1000]])];
  const after = [
    ...series('v2', '200', 180, [['5', 140], ['10', 180], ['+Inf', 180]]),
    ...series('v2', '500', 30, [['5', 30], ['10', 30], ['+Inf', 30]]),
    ...series('v1', '200', 5000, [['+Inf', 5000]]),
    ...series('v2', '200', 999, [['+Inf', 999]], { reporter: 'source' }),
    // A pod restarted: its counter went down, so its whole value is the increase.
    ...series('v2', '503', 4, [['5', 4], ['10', 4], ['+Inf', 4]], { pod_restarted: 'yes' }),
  ];
  before.push(...series('v2', '503', 50, [['5', 50], ['10', 50], ['+Inf', 50]], { pod_restarted: 'yes' }));
  const m = measureDelta(before, after, v2);
  assert.equal(m.requests, 80 + 20 + 4);
  assert.ok(Math.abs(m.successRate! - (100 * 80) / 104) < 1e-9);
  // Bucket deltas: le=5: 40+20+4=64, le=10: 104, +Inf: 104; rank 0.99*104=102.96 in (5,10]: 5 + 5*(102.96-64)/40.
  assert.ok(Math.abs(m.p99Ms! - (5 + (5 * (102.96 - 64)) / 40)) < 1e-9);
  assert.deepEqual(measureDelta(after, after, v2), { requests: 0 });
});

test('verdict: inconclusive under minRequests, reasons name metric, value and threshold', () => {
  const metrics = [
    { name: 'request-success-rate' as const, thresholdRange: { min: 99 } },
    { name: 'request-duration' as const, thresholdRange: { max: 500 } },
  ];
  assert.deepEqual(verdict({ requests: 5, successRate: 50, p99Ms: 1 }, metrics, 20), { verdict: 'inconclusive', reasons: ['canary served 5 requests < minRequests 20'] });
  assert.deepEqual(verdict({ requests: 125, successRate: 79.2, p99Ms: 612.34 }, metrics, 20), { verdict: 'fail', reasons: ['request-success-rate 79.2 % < min 99 %', 'request-duration p99 612.3 ms > max 500 ms'] });
  assert.deepEqual(verdict({ requests: 125, successRate: 99.5, p99Ms: 20 }, metrics, 20), { verdict: 'pass', reasons: [] });
  assert.equal(verdict({ requests: 125, successRate: 100 }, metrics, 20).verdict, 'inconclusive');
});
