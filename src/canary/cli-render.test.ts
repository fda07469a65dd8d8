import test from 'node:test';
import assert from 'node:assert/strict';
import { renderStatus, stepText, stepWeightsOf } from './cli-render.js';
import type { Canary } from '../config/canary/types.js';

const NOW = Date.parse('2026-12-03T15:00:00Z');
const at = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();

function canary(status?: Canary['status']): Canary {
  return {
    apiVersion: 'rollouts.meshwork.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'helloworld', namespace: 'sample' },
    spec: { host: 'helloworld', baseline: { subset: 'cluster-1' }, canary: { subset: 'cluster-2' }, analysis: { interval: '8s', stepWeights: [10, 25, 50], metrics: [] } },
    ...(status ? { status } : {}),
  };
}

test('steps: stepWeights, or stepWeight up to maxWeight; k/n counts the promotion', () => {
  assert.deepEqual(stepWeightsOf({ interval: '1m', stepWeight: 20, metrics: [] }), [20, 40]);
  assert.deepEqual(stepWeightsOf({ interval: '1m', stepWeight: 25, maxWeight: 75, metrics: [] }), [25, 50, 75]);
  assert.equal(stepText(canary()), '0/4');
  const s = { phase: 'Progressing' as const, currentStep: 1, canaryWeight: 25, failedChecks: 0, routes: [], conditions: [] };
  assert.equal(stepText(canary(s)), '2/4');
  assert.equal(stepText(canary({ ...s, phase: 'Succeeded', currentStep: 3, canaryWeight: 100 })), '4/4');
  assert.equal(stepText(canary({ ...s, phase: 'RolledBack', currentStep: 1, canaryWeight: 0 })), '2/4');
});

test('status table: phase, step, weights, each side\'s measurements, verdict with reasons, conditions', () => {
  const text = renderStatus(
    canary({
      phase: 'Progressing',
      currentStep: 1,
      canaryWeight: 25,
      failedChecks: 1,
      routes: [],
      lastStepTime: at(5),
      lastAnalysis: {
        time: at(2), canaryWeight: 25, source: 'proxies', verdict: 'fail', reasons: ['request-success-rate 79.2 % < min 99 %'],
        canary: { requests: 120, successRate: 79.16, p99Ms: 4.5 }, baseline: { requests: 360, successRate: 100, p99Ms: 12.25 },
      },
      conditions: [{ type: 'AnalysisFailed', status: 'True', reason: 'MetricBelowThreshold', message: 'request-success-rate 79.2 % < min 99 %', lastTransitionTime: at(130) }],
    }),
    NOW,
  );
  assert.equal(
    text,
    [
      'Canary sample/helloworld: host helloworld, cluster-1 -> cluster-2, steps 10,25,50 then 100, every 8s',
      '',
      'PHASE         STEP   WEIGHTS (BASELINE/CANARY)   FAILED CHECKS   LAST STEP   SPEC',
      'Progressing   2/4    75/25                       1/2             5s          -',
      '',
      'SIDE       SUBSET      WEIGHT   REQUESTS   SUCCESS RATE   P99',
      'baseline   cluster-1   75       360        100%           12.3ms',
      'canary     cluster-2   25       120        79.2%          4.50ms',
      'Verdict: fail (at 25%, from proxies, 2s ago)',
      '  request-success-rate 79.2 % < min 99 %',
      '',
      'CONDITION        STATUS   REASON                 AGE     MESSAGE',
      'AnalysisFailed   True     MetricBelowThreshold   2m10s   request-success-rate 79.2 % < min 99 %',
    ].join('\n'),
  );
});

test('a Canary the controller has not seen yet shows Pending and no analysis', () => {
  const text = renderStatus({ ...canary(), spec: { ...canary().spec, paused: true } }, NOW);
  assert.match(text, /^Pending\s+0\/4\s+-\s+-\s+-\s+paused$/m);
  assert.match(text, /^canary\s+cluster-2\s+-\s+-\s+-\s+-$/m);
  assert.match(text, /^Verdict: no analysis yet$/m);
});
