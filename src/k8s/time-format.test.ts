import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { goDuration, rfc3339, rfc3339Micro } from './time-format.js';

describe('Kubernetes time formats', () => {
  test('metav1.Time and MicroTime', () => {
    assert.equal(rfc3339(1_714_557_600_999), '2024-05-01T10:00:00Z');
    assert.equal(rfc3339Micro(1_714_557_600, 123_456_789), '2024-05-01T10:00:00.123456Z');
    assert.equal(rfc3339Micro(1_714_557_600, 0), '2024-05-01T10:00:00.000000Z');
  });

  test("metav1.Duration prints as Go's time.Duration", () => {
    const cases: Array<[bigint, string]> = [
      [0n, '0s'],
      [1n, '1ns'],
      [1_100n, '1.1µs'],
      [2_000_000n, '2ms'],
      [1_500_000_000n, '1.5s'],
      [90_000_000_000n, '1m30s'],
      [3_600_000_000_000n, '1h0m0s'],
      [3_723_000_000_001n, '1h2m3.000000001s'],
      [-5_000_000_000n, '-5s'],
    ];
    for (const [nanos, text] of cases) assert.equal(goDuration(nanos), text, `${nanos}ns`);
  });
});
