import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CANARY_API_VERSION, CANARY_KIND, type Canary } from '../config/canary/types.js';
import { canaryView } from './canaries.js';

const base: Canary = {
  apiVersion: CANARY_API_VERSION,
  kind: CANARY_KIND,
  metadata: { name: 'helloworld', namespace: 'sample' },
  spec: {
    host: 'helloworld',
    baseline: { subset: 'v1' },
    canary: { subset: 'v2' },
    analysis: { interval: '30s', stepWeight: 20, maxWeight: 60, metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }, { name: 'request-duration', thresholdRange: { max: 500 } }] },
  },
};

test('a Canary the controller has not taken up: Pending, before the first step, its steps ending in promotion', () => {
  const v = canaryView(base, 'cluster-1');
  assert.equal(v.phase, 'Pending');
  assert.deepEqual(v.steps, [20, 40, 60, 100]);
  assert.equal(v.stepIndex, -1);
  assert.equal(v.canaryWeight, 0);
  assert.equal(v.lastAnalysis, undefined);
  assert.equal(v.cluster, 'cluster-1');
  assert.deepEqual([v.host, v.baselineSubset, v.canarySubset], ['helloworld', 'v1', 'v2']);
});

test('a progressing Canary: weight, step, each metric against its threshold, the verdict, conditions', () => {
  const v = canaryView(
    {
      ...base,
      status: {
        phase: 'Progressing',
        currentStep: 1,
        canaryWeight: 40,
        failedChecks: 1,
        routes: [],
        lastStepTime: '2026-12-03T18:00:00Z',
        lastAnalysis: {
          time: '2026-12-03T18:00:30Z', canaryWeight: 40, source: 'proxies',
          canary: { requests: 120, successRate: 95, p99Ms: 12.5 }, baseline: { requests: 180, successRate: 100, p99Ms: 9 },
          verdict: 'fail', reasons: ['request-success-rate 95 % < min 99 %'],
        },
        conditions: [{ type: 'AnalysisFailed', status: 'True', reason: 'ThresholdCrossed', message: '1 of 2', lastTransitionTime: '2026-12-03T18:00:30Z' }],
      },
    },
    'cluster-1',
  );
  assert.equal(v.phase, 'Progressing');
  assert.equal(v.canaryWeight, 40);
  assert.equal(v.stepIndex, 1);
  assert.equal(v.failedChecks, 1);
  assert.deepEqual(v.lastAnalysis?.map((r) => [r.metric, r.value, r.threshold, r.passed]), [['request-success-rate', 95, 99, false], ['request-duration', 12.5, 500, true]]);
  assert.equal(v.lastVerdict, 'fail');
  assert.deepEqual(v.lastReasons, ['request-success-rate 95 % < min 99 %']);
  assert.equal(v.updatedAt, '2026-12-03T18:00:30Z');
  assert.deepEqual(v.conditions, [{ type: 'AnalysisFailed', status: 'True', reason: 'ThresholdCrossed', message: '1 of 2' }]);
});
