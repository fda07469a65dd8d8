import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { rateLimitedLog } from './rate-limited.js';

describe('rateLimitedLog', () => {
  it('passes a burst per key and window, counts the rest, and says how many were held back', () => {
    const lines: string[] = [];
    const clock = new ManualClock();
    const log = rateLimitedLog((l) => lines.push(l), { burst: 2, windowMs: 1000, clock });
    for (let i = 0; i < 1000; i++) log('nack LDS', `NACK ${i}`);
    log('nack CDS', 'other key');
    assert.deepEqual(lines, ['NACK 0', 'NACK 1', 'NACK 2 [further "nack LDS" lines are held back for up to 1 s and counted]', 'other key']);
    assert.equal(log.suppressed(), 998);
    clock.advance(1000);
    log('nack LDS', 'NACK again');
    assert.equal(lines.at(-1), 'NACK again [and 998 more "nack LDS" lines held back in the previous 1 s]');
  });
});
