import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Debouncer } from './debounce.js';
import { ManualClock } from '../clock.js';


function setup(quietMs = 100, maxDelayMs = 1000) {
  const clock = new ManualClock();
  const fired: { at: number; events: string[] }[] = [];
  const debouncer = new Debouncer<string>({ quietMs, maxDelayMs, clock, fire: (events) => void fired.push({ at: clock.now(), events }) });
  return { clock, fired, debouncer };
}

test('fires once after the quiet period, with all coalesced events', () => {
  const { clock, fired, debouncer } = setup();
  debouncer.push('a');
  clock.advance(50);
  debouncer.push('b');
  clock.advance(99);
  assert.equal(fired.length, 0, 'quiet period restarts with every event');
  clock.advance(1);
  assert.deepEqual(fired, [{ at: 150, events: ['a', 'b'] }]);
  assert.equal(clock.pendingTimers, 0);
});

test('a steady stream of events still fires at maxDelayMs after the first', () => {
  const { clock, fired, debouncer } = setup(100, 1000);
  for (let t = 0; t < 1500; t += 50) {
    debouncer.push(`e${t}`);
    clock.advance(50);
  }
  assert.equal(fired[0]?.at, 1000);
  assert.equal(fired[0]?.events.length, 20);
  // The next batch starts with the event at t=1000 and gets its own max window.
  clock.advance(100);
  assert.equal(fired.length, 2);
  assert.deepEqual(fired[1]?.events[0], 'e1000');
});

test('defaults are Istio-like 100 ms quiet / 1 s max', () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const debouncer = new Debouncer({ clock, fire: () => void fired.push(clock.now()) });
  debouncer.push();
  clock.advance(99);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, [100]);
});

test('flush fires at once; stop drops pending events and rejects pushes', () => {
  const { clock, fired, debouncer } = setup();
  debouncer.push('x');
  debouncer.flush();
  assert.deepEqual(fired, [{ at: 0, events: ['x'] }]);
  debouncer.push('y');
  debouncer.stop();
  clock.advance(5000);
  assert.equal(fired.length, 1);
  assert.throws(() => debouncer.push('z'), /push after stop/);
});

test('events during an asynchronous fire wait for it, then debounce normally', async () => {
  const clock = new ManualClock();
  const batches: string[][] = [];
  let release: () => void = () => assert.fail('fire not started');
  const debouncer = new Debouncer<string>({
    clock,
    fire: (events) => {
      batches.push(events);
      return new Promise<void>((resolve) => (release = resolve));
    },
  });
  debouncer.push('a');
  clock.advance(100);
  assert.deepEqual(batches, [['a']]);
  debouncer.push('b');
  clock.advance(2000);
  assert.equal(batches.length, 1, 'no second fire while the first runs');
  release();
  await Promise.resolve();
  await Promise.resolve();
  clock.advance(0);
  assert.deepEqual(batches, [['a'], ['b']], 'overdue batch fires right after the running one settles');
});

test('a throwing fire is reported, not swallowed, and does not block later batches', () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  let calls = 0;
  const debouncer = new Debouncer<number>({
    clock,
    onError: (err) => errors.push(err),
    fire: () => {
      calls++;
      if (calls === 1) throw new Error('boom');
    },
  });
  debouncer.push(1);
  clock.advance(100);
  debouncer.push(2);
  clock.advance(100);
  assert.equal(calls, 2);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /boom/);
});

test('rejects maxDelayMs below quietMs', () => {
  assert.throws(() => new Debouncer({ quietMs: 200, maxDelayMs: 100, fire: () => undefined }), /quietMs/);
});
