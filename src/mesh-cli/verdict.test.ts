import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Answer } from './answers.js';
import { formatTrafficReport, trafficReportDocument, type TrafficReport } from './traffic-report.js';
import { judge, parseExpect, tally } from './verdict.js';

function answers(counts: Record<string, number>, failures: Array<[number, number]> = []): Answer[] {
  const out: Answer[] = [];
  for (const [version, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++) out.push({ status: 200, curlExit: 0, body: '', version, instance: `helloworld-${version}-0` });
  }
  for (const [status, n] of failures) for (let i = 0; i < n; i++) out.push({ status, curlExit: status === 0 ? 7 : 0, body: '' });
  return out;
}

const clusterOf = (pod: string): string | undefined => ({ 'helloworld-v1-0': 'cluster-1', 'helloworld-v2-0': 'cluster-2' })[pod];
const split8020 = new Map([['v1', 0.8], ['v2', 0.2]]);

describe('verdict', () => {
  it('table: the chi-square decides, at alpha 0.001', () => {
    const cases: Array<[string, Record<string, number>, Map<string, number>, boolean]> = [
      ['803/197 vs 80/20', { v1: 803, v2: 197 }, split8020, true],
      ['500/500 vs 80/20', { v1: 500, v2: 500 }, split8020, false],
      ['8/2 of ten is no evidence either way', { v1: 8, v2: 2 }, split8020, true],
      ['505/495 vs 50/50', { v1: 505, v2: 495 }, new Map([['v1', 0.5], ['v2', 0.5]]), true],
      ['all v1 vs 100% v1', { v1: 1000 }, new Map([['v1', 1]]), true],
      ['a version that should get nothing', { v1: 999, v3: 1 }, new Map([['v1', 1]]), false],
    ];
    for (const [name, counts, expected, pass] of cases) {
      const v = judge(tally(answers(counts), clusterOf), expected, 'version');
      assert.equal(v.pass, pass, `${name}: ${v.reasons.join('; ')} p=${v.chiSquare?.pValue}`);
    }
  });

  it('failed requests fail the run unless tolerated, and are counted by reason', () => {
    const t = tally(answers({ v1: 80, v2: 20 }, [[503, 2], [0, 1]]), clusterOf);
    assert.equal(t.failed, 3);
    assert.deepEqual([...t.failures], [['HTTP 503', 2], ['curl exit 7', 1]]);
    assert.deepEqual([...t.byCluster], [['cluster-1', 80], ['cluster-2', 20]]);
    assert.equal(judge(t, split8020, 'version').pass, false);
    assert.match(judge(t, split8020, 'version').reasons.join(), /3 failed request\(s\) \(allowed: 0\)/);
    assert.equal(judge(t, split8020, 'version', { maxFailures: 3 }).pass, true);
  });

  it('nothing succeeded: FAIL without a statistic', () => {
    const v = judge(tally(answers({}, [[503, 5]]), clusterOf), split8020, 'version', { maxFailures: 10 });
    assert.equal(v.pass, false);
    assert.equal(v.chiSquare, undefined);
  });

  it('--expect parsing', () => {
    assert.deepEqual([...parseExpect('v1=80,v2=20')], [['v1', 0.8], ['v2', 0.2]]);
    assert.deepEqual([...parseExpect('cluster-1=1, cluster-2=3')], [['cluster-1', 0.25], ['cluster-2', 0.75]]);
    assert.deepEqual([...parseExpect('v1=100%')], [['v1', 1]]);
    assert.throws(() => parseExpect('v1'), /not NAME=WEIGHT/);
    assert.throws(() => parseExpect('v1=0'), /no positive weight/);
    assert.throws(() => parseExpect('v1=1,v1=2'), /given twice/);
  });
});

describe('traffic report', () => {
  const t = tally(answers({ v1: 790, v2: 210 }, [[503, 1]]), clusterOf);
  const report: TrafficReport = {
    from: { pod: 'sleep-abc', namespace: 'sample', context: 'cluster-1', sidecar: true },
    url: 'http://helloworld.sample:5000/hello',
    requests: 1001,
    basis: 'expect',
    expectedFrom: '--expect',
    expected: split8020,
    tally: t,
    verdict: judge(t, split8020, 'version', { maxFailures: 1 }),
  };

  it('tables by version, cluster and instance, the statistic and PASS', () => {
    const text = formatTrafficReport(report);
    assert.match(text, /^1001 requests from sample\/sleep-abc \(context cluster-1\) to http:\/\/helloworld\.sample:5000\/hello, through its sidecar$/m);
    assert.match(text, /^VERSION {3}COUNT {3}SHARE {3}EXPECTED\nv1 {8}790 {5}79\.0% {3}80\.0%\nv2 {8}210 {5}21\.0% {3}20\.0%$/m);
    assert.match(text, /^cluster-1 {3}790 {5}79\.0% {3}-$/m);
    assert.match(text, /^failed requests: 1 \(HTTP 503: 1\)$/m);
    assert.match(text, /^chi-square by version: statistic 0\.625, 1 degree\(s\) of freedom, p-value 0\.4292, alpha 0\.001$/m);
    assert.match(text, /\nPASS$/);
  });

  it('as a document for -o json', () => {
    const doc = trafficReportDocument(report) as { counts: unknown; verdict: { pass: boolean; pValue: number }; expected: unknown };
    assert.deepEqual(doc.counts, { version: { v1: 790, v2: 210 }, cluster: { 'cluster-1': 790, 'cluster-2': 210 }, instance: { 'helloworld-v1-0': 790, 'helloworld-v2-0': 210 } });
    assert.deepEqual(doc.expected, { version: { v1: 0.8, v2: 0.2 } });
    assert.equal(doc.verdict.pass, true);
    assert.ok(doc.verdict.pValue > 0.4 && doc.verdict.pValue < 0.45);
  });
});
