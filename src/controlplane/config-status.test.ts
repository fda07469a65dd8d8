// Findings -> an Istio config object's status, in Istio's IstioStatus shape: written only when it
// changes, other controllers' parts kept, taken away when the findings are fixed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Problem } from '../config/problems.js';
import { ANALYSIS_CONDITION, analysisStatus } from './config-status.js';

const subset: Problem = {
  severity: 'error',
  code: 'unknown-subset',
  kind: 'VirtualService',
  name: 'helloworld',
  namespace: 'sample',
  field: 'spec.http[0].route[1].destination.subset',
  message: 'subset "v3" is not defined by any DestinationRule for helloworld.sample.svc.cluster.local',
};
const locality: Problem = {
  severity: 'warning',
  code: 'unsupported',
  kind: 'DestinationRule',
  name: 'helloworld',
  namespace: 'sample',
  field: 'spec.trafficPolicy.loadBalancer.localityLbSetting',
  message: 'localityLbSetting is not acted on',
};
const T0 = new Date('2025-03-01T10:00:00.400Z');
const T1 = new Date('2025-03-01T10:05:00Z');

function written(update: ReturnType<typeof analysisStatus>): Record<string, unknown> | undefined {
  assert.equal(update.changed, true, 'a write is due');
  return update.changed ? update.status : undefined;
}

describe('analysisStatus', () => {
  it('findings become validationMessages with Istio\'s code, name, level and page, the text in one condition', () => {
    const status = written(analysisStatus(undefined, [subset, { ...locality, kind: 'VirtualService' }], 3, T0));
    assert.deepEqual(status, {
      conditions: [{
        type: ANALYSIS_CONDITION,
        status: 'True',
        lastTransitionTime: '2025-03-01T10:00:00Z',
        reason: 'ReferencedResourceNotFound',
        message:
          'Error [IST0101] subset "v3" is not defined by any DestinationRule for helloworld.sample.svc.cluster.local (at spec.http[0].route[1].destination.subset)\n' +
          'Warning [MW0001] localityLbSetting is not acted on (at spec.trafficPolicy.loadBalancer.localityLbSetting)',
      }],
      validationMessages: [
        { type: { name: 'ReferencedResourceNotFound', code: 'IST0101' }, level: 'ERROR', documentationUrl: 'https://istio.io/latest/docs/reference/config/analysis/ist0101/' },
        // No istio.io page for a meshwork-only code.
        { type: { name: 'UnsupportedField', code: 'MW0001' }, level: 'WARNING' },
      ],
      observedGeneration: 3,
    });
  });

  it('the same findings again: no write, even later (the transition time is kept)', () => {
    const status = written(analysisStatus(undefined, [subset], 3, T0));
    assert.deepEqual(analysisStatus(status, [subset], 3, T1), { changed: false });
    // A new generation with the same finding: observedGeneration moves, the transition time stays.
    const next = written(analysisStatus(status, [subset], 4, T1));
    assert.equal(next?.observedGeneration, 4);
    assert.equal((next?.conditions as Array<{ lastTransitionTime: string }>)[0].lastTransitionTime, '2025-03-01T10:00:00Z');
  });

  it('a changed finding text is a write', () => {
    const status = written(analysisStatus(undefined, [subset], 3, T0));
    const other = written(analysisStatus(status, [{ ...subset, message: 'subset "v4" is not defined' }], 3, T1));
    assert.match(String((other?.conditions as Array<{ message: string }>)[0].message), /v4/);
  });

  it('fixed: messages, condition and observedGeneration go; no status left', () => {
    const status = written(analysisStatus(undefined, [subset], 3, T0));
    const update = analysisStatus(status, [], 4, T1);
    assert.deepEqual(update, { changed: true, status: undefined });
  });

  it('another controller\'s condition and fields are kept, with findings and after them', () => {
    const reconciled = { type: 'Reconciled', status: 'True', message: '2/2 proxies up to date.' };
    const current = { conditions: [reconciled], observedGeneration: 2, addresses: [{ value: '240.240.0.1' }] };
    const status = written(analysisStatus(current, [locality], 2, T0));
    assert.deepEqual((status?.conditions as Array<{ type: string }>).map((c) => c.type), ['Reconciled', ANALYSIS_CONDITION]);
    assert.deepEqual(status?.addresses, current.addresses);
    const cleared = written(analysisStatus(status, [], 2, T1));
    assert.deepEqual(cleared, current, 'their condition and the observedGeneration it refers to stay');
  });

  it('an object without findings and nothing of ours in its status is left alone', () => {
    assert.deepEqual(analysisStatus(undefined, [], 1, T0), { changed: false });
    assert.deepEqual(analysisStatus({}, [], 1, T0), { changed: false });
    // Even a status shape we would not write ourselves (an empty conditions list) is not ours to fix.
    assert.deepEqual(analysisStatus({ conditions: [] }, [], 1, T0), { changed: false });
  });
});
