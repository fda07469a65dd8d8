import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chiSquareTest, upperRegularizedGamma } from './chisquare.js';

// Reference values: R's pchisq(x, df, lower.tail = FALSE).
test('p-values match the chi-square distribution', () => {
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6 * Math.max(1, b), `${a} vs ${b}`);
  close(upperRegularizedGamma(0.5, 3.841458820694124 / 2), 0.05);
  close(upperRegularizedGamma(1, 5.991464547107979 / 2), 0.05);
  close(upperRegularizedGamma(0.5, 10.827566170662733 / 2), 0.001);
  close(upperRegularizedGamma(5, 20 / 2), 0.02925269807);
});

test('an 80/20 split of 1000 requests near 800/200 passes, 700/300 fails', () => {
  const good = chiSquareTest([790, 210], [80, 20]);
  assert.equal(good.degreesOfFreedom, 1);
  assert.ok(good.pass, `p=${good.pValue}`);
  const bad = chiSquareTest([700, 300], [80, 20]);
  assert.ok(!bad.pass, `p=${bad.pValue}`);
  assert.ok(bad.pValue < 1e-10);
});

test('observations in a zero-weight category fail; none pass', () => {
  assert.equal(chiSquareTest([1000, 0], [100, 0]).pass, true);
  assert.equal(chiSquareTest([999, 1], [100, 0]).pass, false);
});

test('mismatched lengths and zero weights are errors', () => {
  assert.throws(() => chiSquareTest([1, 2], [1]), /2 observed counts for 1 weights/);
  assert.throws(() => chiSquareTest([1], [0]), /weights sum to 0/);
});
