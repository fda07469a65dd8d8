import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeListener } from '../decode/listener.js';
import { FAULT_TYPE, httpListener } from '../testutil/envoy.js';
import { decideFault, effectiveFault } from './fault.js';
import { applyRequestMutations, forwardableHeaders, type HeaderRecord } from './headers.js';

test('fault: the most specific config wins; percentages use the injected random', () => {
  const listener = { delay: undefined, abort: { fraction: 1, status: 503, grpcStatus: undefined } };
  const route = { delay: { fraction: 0.25, delayMs: 100 }, abort: undefined };
  assert.equal(effectiveFault([listener, undefined, route]), route);
  assert.equal(effectiveFault([listener, undefined, undefined]), listener);
  assert.deepEqual(decideFault(route, () => 0.2), { delayMs: 100, abort: undefined });
  assert.deepEqual(decideFault(route, () => 0.3), { delayMs: 0, abort: undefined });
  assert.deepEqual(decideFault(listener, () => 0.99), { delayMs: 0, abort: { status: 503, grpcStatus: undefined } });
});

test("fault: the listener's own HTTPFault config is decoded from http_filters", () => {
  const l = httpListener('l', '127.0.0.1', 8080, 'r');
  const chain = (l['filter_chains'] as { filters: { typed_config: { http_filters: { typed_config: Record<string, unknown> }[] } }[] }[])[0];
  chain.filters[0].typed_config.http_filters[0].typed_config = { '@type': FAULT_TYPE, abort: { http_status: 429, percentage: { numerator: 10, denominator: 'HUNDRED' } } };
  const r = decodeListener(l);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(r.value.hcms[0]!.fault, { delay: undefined, abort: { fraction: 0.1, status: 429, grpcStatus: undefined } });
});

test('headers: hop-by-hop and Connection-listed headers are dropped; mutations apply most specific level first, as Envoy', () => {
  const h: HeaderRecord = forwardableHeaders({ connection: 'keep-alive, x-secret', 'keep-alive': 'timeout=5', 'x-secret': '1', 'x-keep': 'a', ':path': '/' });
  assert.deepEqual(h, { 'x-keep': 'a' });
  applyRequestMutations(h, [
    { requestToAdd: [{ name: 'x-keep', value: 'b', append: true, onlyIfAbsent: false }], requestToRemove: [], responseToAdd: [], responseToRemove: [] },
    { requestToAdd: [{ name: 'x-set', value: '1', append: false, onlyIfAbsent: false }, { name: 'x-keep', value: 'zzz', append: false, onlyIfAbsent: true }], requestToRemove: [], responseToAdd: [], responseToRemove: [] },
    { requestToAdd: [], requestToRemove: ['x-set'], responseToAdd: [], responseToRemove: [] },
  ]);
  // The most specific level (last) removes x-set before a less specific one sets it.
  assert.deepEqual(h, { 'x-keep': ['a', 'b'], 'x-set': '1' });
});
