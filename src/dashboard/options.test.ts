import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDashboardFlags } from './options.js';

test('defaults: Kiali\'s port on loopback, a 30 s window, a 2 s refresh, every context', () => {
  assert.deepEqual(parseDashboardFlags({}), { port: 20001, address: '127.0.0.1', windowMs: 30_000, refreshMs: 2_000, contexts: [] });
});

test('values given', () => {
  const o = parseDashboardFlags({ port: '0', address: '127.0.0.5', window: '1m', refresh: '500ms', prometheus: 'http://127.0.0.1:9090/', context: ['cluster-1'] });
  assert.deepEqual([o.port, o.address, o.windowMs, o.refreshMs, o.prometheus, o.contexts], [0, '127.0.0.5', 60_000, 500, 'http://127.0.0.1:9090', ['cluster-1']]);
  assert.equal(o.warning, undefined);
});

test('bad values are named with the fix', () => {
  assert.throws(() => parseDashboardFlags({ port: '70000' }), /--port "70000": expected a TCP port/);
  assert.throws(() => parseDashboardFlags({ port: 'http' }), /--port "http"/);
  assert.throws(() => parseDashboardFlags({ address: 'my-host' }), /--address "my-host": expected an IP address/);
  assert.throws(() => parseDashboardFlags({ window: '30' }), /--window: "30" is not a duration/);
  assert.throws(() => parseDashboardFlags({ window: '1s' }), /--window 1s: must be from 2s/);
  assert.throws(() => parseDashboardFlags({ window: '3s', refresh: '2s' }), /must hold at least two refreshes/);
  assert.throws(() => parseDashboardFlags({ prometheus: '127.0.0.1:9090' }), /--prometheus "127.0.0.1:9090"/);
});

test('an address beyond loopback is allowed, with a warning', () => {
  assert.match(parseDashboardFlags({ address: '0.0.0.0' }).warning ?? '', /not a loopback address/);
});
