import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cancel } from '../upstream/cancel.js';
import { CircuitBreakers } from './circuit-breakers.js';

const limits = (l: Partial<CircuitBreakers['limits']>) => ({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, ...l });

test('HTTP/1.1: beyond max_connections a request waits as pending; beyond max_pending_requests it overflows; a finished request hands its connection over', async () => {
  const cb = new CircuitBreakers(limits({ maxConnections: 1, maxPendingRequests: 1 }));
  const a = await cb.admit(true, new Cancel());
  assert.equal(a.kind, 'admitted');
  let bDone = false;
  const b = Promise.resolve(cb.admit(true, new Cancel())).then((r) => ((bDone = true), r));
  await new Promise((r) => setImmediate(r));
  assert.equal(cb.pending, 1);
  assert.equal((await cb.admit(true, new Cancel())).kind, 'overflow');
  assert.equal(bDone, false);
  if (a.kind === 'admitted') a.release();
  const admittedB = await b;
  assert.equal(admittedB.kind, 'admitted');
  assert.equal(cb.busyConnections, 1);
  if (admittedB.kind === 'admitted') admittedB.release();
  assert.equal(cb.busyConnections, 0);
  assert.deepEqual(cb.overflows, { requests: 0, pending: 1, retries: 0 });
});

test('max_requests overflows the request beyond it (HTTP/2: no connection limit); a pending request whose downstream left is dropped', async () => {
  const cb = new CircuitBreakers(limits({ maxRequests: 2 }));
  const r1 = await cb.admit(false, new Cancel());
  await cb.admit(false, new Cancel());
  assert.equal((await cb.admit(false, new Cancel())).kind, 'overflow');
  if (r1.kind === 'admitted') r1.release();
  assert.equal((await cb.admit(false, new Cancel())).kind, 'admitted');

  const one = new CircuitBreakers(limits({ maxConnections: 1 }));
  await one.admit(true, new Cancel());
  const gone = new Cancel();
  const waiting = one.admit(true, gone);
  gone.abort();
  assert.equal((await waiting).kind, 'aborted');
  assert.equal(one.pending, 0);
});

test('max_retries: retries in progress are counted; one beyond the limit is refused', () => {
  const cb = new CircuitBreakers(limits({ maxRetries: 1 }));
  assert.equal(cb.tryRetry(), true);
  assert.equal(cb.tryRetry(), false);
  cb.retryEnded();
  assert.equal(cb.tryRetry(), true);
});
