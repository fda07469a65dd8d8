import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredStatus, statusChanged } from './status.js';
import { parseVipRange, VipAllocator } from './vip.js';

test('VIPs: lowest free, stable per key, preferred when free and in range, exhaustion is an error', () => {
  const vips = new VipAllocator(parseVipRange('127.250.0.1-3'));
  assert.equal(vips.assign('ns/a'), '127.250.0.1');
  assert.equal(vips.assign('ns/a'), '127.250.0.1');
  assert.equal(vips.assign('ns/b', '127.250.0.3'), '127.250.0.3', 'the VIP already in the status is kept');
  assert.equal(vips.assign('ns/c', '127.250.0.1:10080'), '127.250.0.2', 'a taken preferred VIP is not shared');
  assert.throws(() => vips.assign('ns/d'), /no free VIP in 127\.250\.0\.1-3 \(3 in use\)/);
  vips.release('ns/a');
  assert.equal(vips.assign('ns/d', '10.0.0.1'), '127.250.0.1', 'an out-of-range preferred VIP is ignored');
  assert.throws(() => parseVipRange('10.0.0.1-5'), /expected 127\.A\.B\.FIRST-LAST/);
  assert.throws(() => parseVipRange('127.250.0.9-3'), /first <= last/);
});

test('status: Ready with VIP; errors keep the VIP and say the last good config is served; transition time kept while unchanged', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:01:00Z');
  const ok = desiredStatus({ ok: true, vip: '127.250.0.1', gateways: { 'cluster-1': '1/1 healthy' } }, {}, t0);
  assert.equal(ok.VIP, '127.250.0.1');
  assert.deepEqual(ok.conditions[0], { type: 'Ready', status: 'True', reason: 'EdgeServing', message: 'the edge serves http://127.250.0.1/ over the healthy gateways of every member cluster', lastTransitionTime: t0.toISOString() });
  const prev = JSON.parse(JSON.stringify(ok)) as Record<string, unknown>;
  const again = desiredStatus({ ok: true, vip: '127.250.0.1', gateways: { 'cluster-1': '1/1 healthy' } }, prev, t1);
  assert.equal(again.conditions[0]?.lastTransitionTime, t0.toISOString());
  assert.equal(statusChanged(prev, again), false, 'no patch when nothing changed');

  const bad = desiredStatus({ ok: false, reason: 'InvalidBackendConfig', message: 'BackendConfig x: spec.healthCheck.port 99999 is not a valid port', vip: '127.250.0.1', servingLastGoodConfig: true }, prev, t1);
  assert.equal(bad.VIP, '127.250.0.1');
  assert.equal(bad.conditions[0]?.status, 'False');
  assert.equal(bad.conditions[0]?.reason, 'InvalidBackendConfig');
  assert.match(bad.conditions[0]?.message ?? '', /port 99999 .*; the edge keeps serving its last good configuration$/);
  assert.equal(bad.conditions[0]?.lastTransitionTime, t1.toISOString());
  assert.equal(statusChanged(prev, bad), true);

  const never = desiredStatus({ ok: false, reason: 'BackendServiceNotFound', message: 'MultiClusterService ns/x does not exist', servingLastGoodConfig: false }, {}, t0);
  assert.equal(never.VIP, undefined);
  assert.equal(never.conditions[0]?.message, 'MultiClusterService ns/x does not exist');
});
