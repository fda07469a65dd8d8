import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sample } from '../telemetry/prom-text.js';
import { SampleWindow } from './sample-window.js';

const req = (value: number, version = 'v1'): Sample => ({ name: 'istio_requests_total', labels: { destination_version: version }, value });
const total = (samples: readonly Sample[], version = 'v1') => samples.filter((s) => s.labels.destination_version === version).reduce((a, s) => a + s.value, 0);

test('increase over the window: the rises between scrapes, the scrape before the start as baseline', () => {
  const w = new SampleWindow(10_000);
  w.add('a', 0, [req(100)]);
  w.add('a', 5_000, [req(110)]);
  w.add('a', 10_000, [req(130)]);
  w.add('a', 15_000, [req(160)]);
  // Window 10 s ending at 15 s: from the scrape at 5 s (at the start) to 15 s.
  const r = w.increases(15_000, 10_000);
  assert.equal(total(r.samples), 50);
  assert.equal(r.coveredMs, 10_000);
});

test('a counter that went down restarted: its new value is all increase (Prometheus\' reset rule)', () => {
  const w = new SampleWindow(60_000);
  w.add('a', 0, [req(100)]);
  w.add('a', 2_000, [req(120)]);
  w.add('a', 4_000, [req(7)]);
  w.add('a', 6_000, [req(10)]);
  assert.equal(total(w.increases(6_000, 60_000).samples), 20 + 7 + 3);
});

test('a series born since the previous scrape counts whole; one in the first scrape has no known history', () => {
  const w = new SampleWindow(60_000);
  w.add('a', 0, [req(500, 'v1')]);
  w.add('a', 2_000, [req(510, 'v1'), req(4, 'v2')]);
  const r = w.increases(2_000, 60_000);
  assert.equal(total(r.samples, 'v1'), 10);
  assert.equal(total(r.samples, 'v2'), 4);
});

test('targets add up; a target that went away is forgotten; old scrapes leave the window', () => {
  const w = new SampleWindow(4_000);
  for (const [at, a, b] of [[0, 0, 0], [2_000, 10, 1], [4_000, 20, 2], [6_000, 30, 3]] as const) {
    w.add('a', at, [req(a)]);
    w.add('b', at, [req(b)]);
  }
  assert.equal(total(w.increases(6_000, 4_000).samples), 20 + 2);
  w.retain(new Set(['a']));
  assert.equal(total(w.increases(6_000, 4_000).samples), 20);
  // Nothing scraped after the start: no increase.
  assert.equal(total(w.increases(20_000, 4_000).samples), 0);
});

test('since: only what rose after a later start (new weights)', () => {
  const w = new SampleWindow(30_000);
  w.add('a', 0, [req(0)]);
  w.add('a', 2_000, [req(40)]);
  w.add('a', 4_000, [req(45)]);
  w.add('a', 6_000, [req(55)]);
  assert.equal(total(w.increases(6_000, 30_000, 4_000).samples), 10);
  assert.equal(w.increases(6_000, 30_000, 4_000).coveredMs, 2_000);
});

test('the window covers only the time scraped so far while it fills', () => {
  const w = new SampleWindow(30_000);
  w.add('a', 1_000, [req(0)]);
  w.add('a', 3_000, [req(10)]);
  assert.equal(w.increases(3_000, 30_000).coveredMs, 2_000);
});

test('series not kept are dropped on arrival', () => {
  const w = new SampleWindow(30_000, (name) => name === 'istio_requests_total');
  w.add('a', 0, [req(0), { name: 'envoy_other', labels: {}, value: 1 }]);
  w.add('a', 2_000, [req(3), { name: 'envoy_other', labels: {}, value: 9 }]);
  assert.deepEqual(w.increases(2_000, 30_000).samples.map((s) => s.name), ['istio_requests_total']);
});
