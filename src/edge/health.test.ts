import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL_HEALTH, nextHealth, type ProbeOutcome } from './health.js';

const ok: ProbeOutcome = { ok: true };
const fail: ProbeOutcome = { ok: false, reason: 'HTTP 503' };
const thresholds = { healthyThreshold: 2, unhealthyThreshold: 2 };

const run = (outcomes: ProbeOutcome[]): boolean[] => {
  let state = INITIAL_HEALTH;
  return outcomes.map((o) => (state = nextHealth(state, o, thresholds)).healthy);
};

test('GCLB thresholds: healthy after 2 passes, unhealthy after 2 failures, streaks reset', () => {
  const table: { name: string; outcomes: ProbeOutcome[]; expect: boolean[] }[] = [
    { name: 'new backend waits for healthyThreshold', outcomes: [ok, ok, ok], expect: [false, true, true] },
    { name: 'one failure does not eject', outcomes: [ok, ok, fail, ok], expect: [false, true, true, true] },
    { name: 'two failures eject', outcomes: [ok, ok, fail, fail], expect: [false, true, true, false] },
    { name: 'rejoin needs two passes again', outcomes: [ok, ok, fail, fail, ok, ok], expect: [false, true, true, false, false, true] },
    { name: 'a failure resets the pass streak', outcomes: [ok, fail, ok, ok], expect: [false, false, false, true] },
    { name: 'never passing stays out', outcomes: [fail, fail, fail], expect: [false, false, false] },
  ];
  for (const row of table) assert.deepEqual(run(row.outcomes), row.expect, row.name);
});

test('the last failure reason is kept for the admin page', () => {
  const s = nextHealth(nextHealth(INITIAL_HEALTH, fail, thresholds), ok, thresholds);
  assert.equal(s.lastFailure, 'HTTP 503');
  assert.equal(s.consecutiveSuccesses, 1);
  assert.equal(s.consecutiveFailures, 0);
});

test('thresholds of 1 switch on every probe', () => {
  let s = nextHealth(INITIAL_HEALTH, ok, { healthyThreshold: 1, unhealthyThreshold: 1 });
  assert.equal(s.healthy, true);
  s = nextHealth(s, fail, { healthyThreshold: 1, unhealthyThreshold: 1 });
  assert.equal(s.healthy, false);
});
