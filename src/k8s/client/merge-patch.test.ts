import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threeWayMergePatch } from './merge-patch.js';

test('unchanged configuration gives no patch even when the live object has more', () => {
  const cfg = { spec: { hosts: ['a'], http: [{ route: [{ weight: 80 }] }] } };
  const live = { ...cfg, status: { x: 1 }, metadata: { uid: 'u' } };
  assert.equal(threeWayMergePatch(cfg, cfg, live), undefined);
});

test('a changed list is replaced; a removed field is deleted; others\' fields stay', () => {
  const last = { spec: { a: 1, b: 2, list: [1, 2] } };
  const next = { spec: { a: 1, list: [3] } };
  const live = { spec: { a: 1, b: 2, list: [1, 2], defaulted: true } };
  assert.deepEqual(threeWayMergePatch(last, next, live), { spec: { b: null, list: [3] } });
});

test('a field set by the user for the first time is added', () => {
  assert.deepEqual(threeWayMergePatch({}, { metadata: { labels: { x: 'y' } } }, { metadata: { name: 'n' } }), { metadata: { labels: { x: 'y' } } });
});

test('key order of the live object does not count as a change', () => {
  const cfg = { spec: { ports: [{ port: 80, name: 'http' }] } };
  const live = { spec: { ports: [{ name: 'http', port: 80 }] } };
  assert.equal(threeWayMergePatch(cfg, cfg, live), undefined);
});
