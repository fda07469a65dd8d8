import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from './istio-types.js';

describe('parseDuration', () => {
  it('reads Istio/Go duration strings exactly', () => {
    assert.deepEqual(parseDuration('1.5s'), { ok: true, duration: { seconds: 1, nanos: 500_000_000 }, millis: 1500 });
    assert.deepEqual(parseDuration('250ms'), { ok: true, duration: { seconds: 0, nanos: 250_000_000 }, millis: 250 });
    assert.deepEqual(parseDuration('1h30m'), { ok: true, duration: { seconds: 5400, nanos: 0 }, millis: 5_400_000 });
    assert.deepEqual(parseDuration('0'), { ok: true, duration: { seconds: 0, nanos: 0 }, millis: 0 });
    assert.deepEqual(parseDuration('10us'), { ok: true, duration: { seconds: 0, nanos: 10_000 }, millis: 0 });
  });

  it('rejects what Istio rejects, saying how to write it', () => {
    for (const bad of ['', '5', '5 seconds', '-1s', '1.5', 's']) {
      const r = parseDuration(bad);
      assert.equal(r.ok, false, bad);
      if (!r.ok) assert.match(r.error, /1\.5s/);
    }
  });

  it('a number from YAML (`timeout: 10`) is an error, not an exception', () => {
    const r = parseDuration(10 as unknown as string);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /invalid duration 10: a duration is a string with a unit/);
  });
});
