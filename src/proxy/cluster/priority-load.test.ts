// Envoy's priority levels doc tables (arch_overview/upstream/load_balancing/priority) and panic tables.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choosePriority, effectiveLocalityWeight, excludePriorities, priorityLoad } from './priority-load.js';

const pct = (healthyPercent: number) => ({ hosts: 100, healthy: healthyPercent });

test('spill-over follows health x 1.4 (Envoy docs: priority levels table)', () => {
  assert.deepEqual(priorityLoad([pct(100), pct(100)]).load, [100, 0]);
  assert.deepEqual(priorityLoad([pct(72), pct(100)]).load, [100, 0]);
  assert.deepEqual(priorityLoad([pct(71), pct(100)]).load, [99, 1]);
  assert.deepEqual(priorityLoad([pct(50), pct(100)]).load, [70, 30]);
  assert.deepEqual(priorityLoad([pct(25), pct(100)]).load, [35, 65]);
  assert.deepEqual(priorityLoad([pct(0), pct(100)]).load, [0, 100]);
  assert.deepEqual(priorityLoad([pct(20), pct(20), pct(100)]).load, [28, 28, 44]);
});

test('health below 100 % in total is normalised; panic applies per priority under the threshold', () => {
  // Envoy docs: P0 20 %, P1 20 %: total 56 -> loads 50/50, both in panic (under 50 %) -> load by host count.
  const both = priorityLoad([pct(20), pct(20)]);
  assert.deepEqual(both.panic, [true, true]);
  assert.deepEqual(both.load, [50, 50]);
  // P0 60 % (84), P1 0 %: total 84 -> P0 all the load; P1 in panic but gets nothing.
  const p0 = priorityLoad([pct(60), pct(0)]);
  assert.deepEqual(p0.load, [100, 0]);
  assert.deepEqual(p0.panic, [false, true]);
  // Panic off (threshold 0): nothing healthy sends to priority 0's healthy (empty) set.
  assert.deepEqual(priorityLoad([pct(0), pct(0)], 0), { load: [100, 0], panic: [false, false] });
  assert.deepEqual(priorityLoad([{ hosts: 1, healthy: 0 }, { hosts: 3, healthy: 0 }]).load, [25, 75]);
});

test('choosePriority walks the cumulative load; locality weight scales by 1.4 x healthy share', () => {
  assert.equal(choosePriority([70, 30], 0), 0);
  assert.equal(choosePriority([70, 30], 0.699), 0);
  assert.equal(choosePriority([70, 30], 0.7), 1);
  assert.equal(choosePriority([0, 100], 0), 1);
  assert.equal(effectiveLocalityWeight(10, 4, 2), 7);
  assert.equal(effectiveLocalityWeight(10, 4, 3), 10);
  assert.equal(effectiveLocalityWeight(10, 0, 0), 0);
});

test('previous_priorities: a retry\'s load leaves the tried priorities; none healthy left -> all eligible again', () => {
  const levels = [pct(100), pct(50), pct(100)];
  const original = priorityLoad(levels).load;
  assert.deepEqual(original, [100, 0, 0]);
  assert.deepEqual(excludePriorities(levels, original, new Set([0])), [0, 70, 30]);
  assert.deepEqual(excludePriorities(levels, original, new Set([0, 1])), [0, 0, 100]);
  assert.deepEqual(excludePriorities([pct(100), pct(0)], [100, 0], new Set([0])), [100, 0]);
  assert.deepEqual(excludePriorities([pct(0), pct(0)], [100, 0], new Set([0])), [100, 0]);
});
