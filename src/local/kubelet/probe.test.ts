import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReadinessState, probeTiming, runProbe } from './probe.js';

test('Kubernetes defaults', () => {
  assert.deepEqual(probeTiming({}), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
});

test('readiness flips after the thresholds', () => {
  const s = new ReadinessState({ successThreshold: 2, failureThreshold: 2 });
  assert.equal(s.ready, false);
  assert.equal(s.record(true), false);
  assert.equal(s.record(true), true);
  assert.equal(s.ready, true);
  assert.equal(s.record(false), false);
  assert.equal(s.record(true), false, 'a success resets the failure count');
  assert.equal(s.record(false), false);
  assert.equal(s.record(false), true);
  assert.equal(s.ready, false);
});

const container = { name: 'c', ports: [{ containerPort: 1, name: 'http' }] };

test('httpGet, tcpSocket and exec probes against real peers', async (t) => {
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/ok' ? 200 : 503;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const target = { host: '127.0.0.1', container: { ...container, ports: [{ containerPort: port, name: 'http' }] }, env: { PATH: process.env.PATH ?? '' }, cwd: '/' };
  assert.deepEqual(await runProbe({ httpGet: { path: '/ok', port: 'http' } }, target, 1000), { ok: true, message: '' });
  const bad = await runProbe({ httpGet: { path: '/no', port } }, target, 1000);
  assert.equal(bad.ok, false);
  assert.match(bad.message, /statuscode: 503/);
  assert.equal((await runProbe({ tcpSocket: { port } }, target, 1000)).ok, true);
  const closed = await runProbe({ tcpSocket: { port: 1 } }, target, 1000);
  assert.match(closed.message, /dial tcp 127\.0\.0\.1:1: .*ECONNREFUSED/);
  assert.equal((await runProbe({ exec: { command: ['sh', '-c', 'exit 0'] } }, target, 1000)).ok, true);
  const failed = await runProbe({ exec: { command: ['sh', '-c', 'echo not yet; exit 1'] } }, target, 1000);
  assert.deepEqual(failed, { ok: false, message: 'not yet' });
  const slow = await runProbe({ exec: { command: ['sleep', '5'] } }, target, 100);
  assert.match(slow.message, /timed out/);
  assert.match((await runProbe({ httpGet: { port: 'nope' } }, target, 100)).message, /not a port/);
});
