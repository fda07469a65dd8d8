import test from 'node:test';
import assert from 'node:assert/strict';
import { PodIpAllocator, appIpOf, hostIpOf } from './ip-allocator.js';

test('first IPs follow the host IP and skip what other pods hold', () => {
  const a = new PodIpAllocator(201);
  assert.equal(a.hostIp, '127.201.0.1');
  assert.equal(hostIpOf(202), '127.202.0.1');
  assert.equal(a.allocate('u1', new Set()), '127.201.0.2');
  assert.equal(a.allocate('u2', new Set(['127.201.0.3'])), '127.201.0.4');
  assert.equal(a.allocate('u1', new Set()), '127.201.0.2', 'same pod keeps its IP');
});

test('released IPs are not reused at once (round robin)', () => {
  const a = new PodIpAllocator(201);
  const first = a.allocate('u1', new Set());
  a.release('u1');
  assert.notEqual(a.allocate('u2', new Set()), first);
});

test('a preferred IP is kept when free, refused when another pod holds it', () => {
  const a = new PodIpAllocator(201);
  assert.equal(a.allocate('u1', new Set(), '127.201.5.7'), '127.201.5.7');
  assert.notEqual(a.allocate('u2', new Set(), '127.201.5.7'), '127.201.5.7');
  assert.notEqual(a.allocate('u3', new Set(), '127.202.0.9'), '127.202.0.9', 'out of range preferred IPs are ignored');
});

test('range boundaries: .254 rolls to the next third octet, 127.s.127.254 is the last', () => {
  const a = new PodIpAllocator(201);
  assert.equal(a.inRange('127.201.0.254'), true);
  assert.equal(a.inRange('127.201.1.1'), true);
  assert.equal(a.inRange('127.201.127.254'), true);
  assert.equal(a.inRange('127.201.128.2'), false);
  assert.equal(a.inRange('127.201.0.1'), false);
  assert.equal(a.inRange('127.201.0.255'), false);
  const held = new Set<string>();
  for (let y = 2; y <= 254; y++) held.add(`127.201.0.${y}`);
  assert.equal(a.allocate('u', held), '127.201.1.1');
});

test('exhaustion is an error, not a duplicate', () => {
  const a = new PodIpAllocator(201);
  const held = new Set<string>();
  for (let x = 0; x < 128; x++) for (let y = 1; y <= 254; y++) held.add(`127.201.${x}.${y}`);
  assert.throws(() => a.allocate('u', held), /no free pod IP/);
});

test('app IP is the pod IP with third octet + 128', () => {
  assert.equal(appIpOf('127.201.0.2'), '127.201.128.2');
  assert.equal(appIpOf('127.201.3.9'), '127.201.131.9');
  assert.throws(() => appIpOf('127.201.200.1'));
});
