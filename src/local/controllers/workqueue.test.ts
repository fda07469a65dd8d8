import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../clock.js';
import { resolveFenceposts, scaledValue } from './deployment-spec.js';
import { computePodTemplateHash, fnv1a32, safeEncodeString } from './pod-template-hash.js';
import { WorkQueue } from './workqueue.js';

describe('WorkQueue', () => {
  test('holds a key once, and re-queues a key added while it is processed', () => {
    const q = new WorkQueue({ clock: new ManualClock(Date.UTC(2024, 0, 1)) });
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.readyCount(), 2);
    const a = q.get();
    assert.equal(a, 'a');
    q.add('a');
    assert.equal(q.get(), 'b', 'a is being processed: not handed out twice');
    assert.equal(q.get(), undefined);
    q.done('a');
    assert.equal(q.get(), 'a', 'processed again after done');
    q.done('a');
    q.done('b');
    assert.ok(q.isIdle());
  });

  test('failures back off exponentially on the clock, and forget resets', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 1));
    const q = new WorkQueue({ clock, baseDelayMs: 10, maxDelayMs: 50 });
    assert.deepEqual([q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')], [10, 20, 40, 50]);
    assert.equal(q.readyCount(), 0);
    clock.advance(9);
    assert.equal(q.readyCount(), 0);
    clock.advance(1);
    assert.equal(q.get(), 'k', 'the earliest pending delay wins');
    q.done('k');
    q.forget('k');
    assert.equal(q.addRateLimited('k'), 10);
    q.shutDown();
    assert.equal(clock.pendingTimers, 0, 'shutDown clears its timers');
  });
});

describe('pod-template-hash', () => {
  test('FNV-1a and the safe alphabet', () => {
    assert.equal(fnv1a32(new TextEncoder().encode('')), 0x811c9dc5);
    assert.equal(fnv1a32(new TextEncoder().encode('a')), 0xe40c292c);
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
  });

  test('stable across key order, changed by content and by collisionCount', () => {
    const a = computePodTemplateHash({ metadata: { labels: { app: 'x', v: '1' } }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    const b = computePodTemplateHash({ spec: { containers: [{ image: 'i', name: 'c' }] }, metadata: { labels: { v: '1', app: 'x' } } });
    assert.equal(a, b);
    assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    assert.notEqual(computePodTemplateHash({ spec: { containers: [{ name: 'c', image: 'j' }] } }), computePodTemplateHash({ spec: { containers: [{ name: 'c', image: 'i' }] } }));
    assert.notEqual(computePodTemplateHash({ spec: {} }, 1), computePodTemplateHash({ spec: {} }));
  });
});

describe('rolling update fenceposts', () => {
  test('maxSurge rounds up, maxUnavailable rounds down, never both zero', () => {
    const rolling = (maxSurge: number | string, maxUnavailable: number | string) => ({ type: 'RollingUpdate' as const, maxSurge, maxUnavailable });
    assert.deepEqual(resolveFenceposts(rolling('25%', '25%'), 3), { maxSurge: 1, maxUnavailable: 0 });
    assert.deepEqual(resolveFenceposts(rolling('25%', '25%'), 10), { maxSurge: 3, maxUnavailable: 2 });
    assert.deepEqual(resolveFenceposts(rolling(0, 0), 5), { maxSurge: 0, maxUnavailable: 1 });
    assert.deepEqual(resolveFenceposts(rolling(2, '50%'), 5), { maxSurge: 2, maxUnavailable: 2 });
    assert.throws(() => scaledValue('abc', 4, true, 'spec.strategy.rollingUpdate.maxSurge'), /maxSurge: invalid value "abc"/);
  });
});
