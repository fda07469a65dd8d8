import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock.js';
import { chiSquareTest, SUITE_ALPHA } from '../../stats/chisquare.js';
import { DEFAULT_MAGLEV_TABLE_SIZE, DEFAULT_MAX_RING_SIZE, type Cluster, type Endpoint } from '../model/cluster.js';
import { ClusterRuntime } from './cluster.js';
import { xxHash64 } from './xxhash64.js';

test('xxHash64 gives XXH64\'s reference values (short, 4/8-byte tails, 32-byte stripes, seeds)', () => {
  assert.equal(xxHash64('').toString(16), 'ef46db3751d8e999');
  assert.equal(xxHash64('a').toString(16), 'd24ec4f1a98c6e5b');
  assert.equal(xxHash64('abc').toString(16), '44bc2cf5ad770999');
  assert.equal(xxHash64('Nobody inspects the spammish repetition').toString(16), 'fbcea83c8a378bf1');
});

function ep(port: number, weight = 1): Endpoint {
  return { host: '127.0.0.1', port, weight, health: 'HEALTHY', priority: 0, locality: { region: '', zone: '', subZone: '' }, localityWeight: 1 };
}

function runtime(lbPolicy: Cluster['lbPolicy'], hashLb: Partial<Cluster['hashLb']> = {}): ClusterRuntime {
  const spec: Cluster = {
    name: 'c', discovery: { kind: 'eds', serviceName: 'c' }, lbPolicy, connectTimeoutMs: 1000, http2: false, outlier: undefined, panicThresholdPercent: 50, localityWeighted: false, choiceCount: 2,
    hashLb: { minimumRingSize: 1024, maximumRingSize: DEFAULT_MAX_RING_SIZE, tableSize: DEFAULT_MAGLEV_TABLE_SIZE, ...hashLb },
    limits: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }, maxRequestsPerConnection: undefined, idleTimeoutMs: undefined, unenforced: [],
  };
  return new ClusterRuntime(spec, { clock: new ManualClock(), random: Math.random, log: () => undefined });
}

for (const policy of ['ring_hash', 'maglev'] as const) {
  test(`${policy}: one key always picks one host, many keys spread evenly (chi-square), weights count`, () => {
    // A ring of 1024 entries gives hosts arcs a few percent apart (Envoy's too): a large one spreads evenly.
    const c = runtime(policy, policy === 'ring_hash' ? { minimumRingSize: 65536 } : {});
    c.updateEndpoints([ep(1001), ep(1002), ep(1003)]);
    const key = xxHash64('user-42');
    const first = c.pick(undefined, 0, key)!.endpoint.port;
    for (let i = 0; i < 20; i++) assert.equal(c.pick(undefined, 0, key)!.endpoint.port, first);
    const counts = new Map<number, number>();
    for (let i = 0; i < 3000; i++) {
      const port = c.pick(undefined, 0, xxHash64(`user-${i}`))!.endpoint.port;
      counts.set(port, (counts.get(port) ?? 0) + 1);
    }
    assert.ok(chiSquareTest([1001, 1002, 1003].map((p) => counts.get(p) ?? 0), [1, 1, 1], SUITE_ALPHA).pass, JSON.stringify([...counts]));
    c.updateEndpoints([ep(1001, 3), ep(1002, 1)]);
    const weighted = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      const port = c.pick(undefined, 0, xxHash64(`w-${i}`))!.endpoint.port;
      weighted.set(port, (weighted.get(port) ?? 0) + 1);
    }
    assert.ok(chiSquareTest([weighted.get(1001) ?? 0, weighted.get(1002) ?? 0], [3, 1], SUITE_ALPHA).pass, JSON.stringify([...weighted]));
    c.destroy();
  });

  test(`${policy}: removing a host moves its keys and few others (consistency)`, () => {
    const c = runtime(policy);
    c.updateEndpoints([ep(1001), ep(1002), ep(1003), ep(1004)]);
    const before = Array.from({ length: 400 }, (_, i) => c.pick(undefined, 0, xxHash64(`k${i}`))!.endpoint.port);
    c.updateEndpoints([ep(1001), ep(1002), ep(1003)]);
    const after = Array.from({ length: 400 }, (_, i) => c.pick(undefined, 0, xxHash64(`k${i}`))!.endpoint.port);
    const kept = before.filter((p) => p !== 1004).length;
    const moved = before.filter((p, i) => p !== 1004 && after[i] !== p).length;
    // The ring is re-scaled (each host gets more entries) and Maglev re-fills its table: a few keys of
    // the remaining hosts move, most stay, unlike a modulo spread where three in four would move.
    assert.ok(moved < kept * 0.2, `${moved} of ${kept} keys moved between remaining hosts`);
    assert.ok(before.every((p, i) => p !== 1004 || after[i] !== 1004));
    c.destroy();
  });
}

test('ring_hash: the ring is sized from minimum_ring_size (a small ring still maps every key to a host)', () => {
  const c = runtime('ring_hash', { minimumRingSize: 3 });
  c.updateEndpoints([ep(1001), ep(1002), ep(1003)]);
  const seen = new Set(Array.from({ length: 200 }, (_, i) => c.pick(undefined, 0, xxHash64(`k${i}`))?.endpoint.port));
  assert.ok(!seen.has(undefined));
  c.destroy();
});
