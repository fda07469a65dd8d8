import test from 'node:test';
import assert from 'node:assert/strict';
import { KUBELET_BACKOFF, RestartBackoff } from './backoff.js';

test('10 s doubling to 5 min', () => {
  const b = new RestartBackoff(KUBELET_BACKOFF);
  const delays = Array.from({ length: 8 }, () => b.next(100));
  assert.deepEqual(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
});

test('a long healthy run resets the back-off', () => {
  const b = new RestartBackoff({ initialMs: 10, maxMs: 100 });
  b.next(1);
  b.next(1);
  assert.equal(b.next(1), 40);
  assert.equal(b.next(200), 10);
});

test('a crash-loop back-off restarts the first crash at once, then 10 s doubling', () => {
  const b = new RestartBackoff(KUBELET_BACKOFF, true);
  assert.deepEqual(Array.from({ length: 4 }, () => b.next(100)), [0, 10_000, 20_000, 40_000]);
  assert.equal(b.next(10 * 60_000), 0, 'forgotten after a long healthy run');
});
