import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock.js';
import type { Cluster, Endpoint } from '../model/cluster.js';
import { ClusterRuntime } from './cluster.js';

function ep(port: number, extra: Partial<Endpoint> = {}): Endpoint {
  return { host: '127.0.0.1', port, weight: 1, health: 'UNKNOWN', priority: 0, locality: { region: '', zone: '', subZone: '' }, localityWeight: 1, ...extra };
}

function cluster(extra: Partial<Cluster> = {}): Cluster {
  return { name: 'c', discovery: { kind: 'eds', serviceName: 'c' }, lbPolicy: 'round_robin', connectTimeoutMs: 1000, http2: false, outlier: undefined, panicThresholdPercent: 50, localityWeighted: false, choiceCount: 2, hashLb: { minimumRingSize: 1024, maximumRingSize: 8388608, tableSize: 65537 }, limits: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }, maxRequestsPerConnection: undefined, idleTimeoutMs: undefined, unenforced: [], ...extra };
}

function picks(c: ClusterRuntime, n: number): number[] {
  return Array.from({ length: n }, () => c.pick()?.endpoint.port ?? 0);
}

const quiet = (): void => undefined;

test('weighted round robin spreads picks by load_balancing_weight, smoothly', () => {
  const c = new ClusterRuntime(cluster(), { clock: new ManualClock(), random: Math.random, log: quiet });
  c.updateEndpoints([ep(1, { weight: 3 }), ep(2, { weight: 1 })]);
  const seq = picks(c, 8);
  assert.deepEqual(seq, [1, 1, 2, 1, 1, 1, 2, 1]);
  c.destroy();
});

test('only HEALTHY and UNKNOWN endpoints are picked while at least the panic threshold of them is healthy', () => {
  const c = new ClusterRuntime(cluster(), { clock: new ManualClock(), random: Math.random, log: quiet });
  c.updateEndpoints([ep(1, { health: 'UNHEALTHY' }), ep(2, { health: 'HEALTHY' }), ep(4, { health: 'HEALTHY' }), ep(3, { health: 'DRAINING' })]);
  assert.deepEqual(new Set(picks(c, 12)), new Set([2, 4]));
  c.destroy();
});

test('panic: under the threshold (default 50 %) every host of the priority takes traffic; threshold 0 turns it off', () => {
  const c = new ClusterRuntime(cluster(), { clock: new ManualClock(), random: Math.random, log: quiet });
  c.updateEndpoints([ep(1, { health: 'UNHEALTHY' }), ep(2, { health: 'HEALTHY' }), ep(3, { health: 'DRAINING' })]);
  assert.deepEqual(new Set(picks(c, 12)), new Set([1, 2, 3]));
  c.updateEndpoints([ep(1, { health: 'UNHEALTHY' })]);
  assert.equal(c.pick()?.endpoint.port, 1);
  const off = new ClusterRuntime(cluster({ panicThresholdPercent: 0 }), { clock: new ManualClock(), random: Math.random, log: quiet });
  off.updateEndpoints([ep(1, { health: 'UNHEALTHY' })]);
  assert.equal(off.pick(), undefined);
  c.destroy();
  off.destroy();
});

test('priorities: load spills over by health times 1.4', () => {
  let roll = 0;
  const c = new ClusterRuntime(cluster(), { clock: new ManualClock(), random: () => roll, log: quiet });
  c.updateEndpoints([ep(1), ep(2, { priority: 1 })]);
  roll = 0.99;
  assert.equal(c.pick()?.endpoint.port, 1, 'a healthy priority 0 takes everything');
  // Priority 0: 2 of 5 healthy -> health 56 %; priority 1 gets the other 44 %.
  c.updateEndpoints([ep(1), ep(3), ep(4, { health: 'UNHEALTHY' }), ep(5, { health: 'UNHEALTHY' }), ep(6, { health: 'UNHEALTHY' }), ep(2, { priority: 1 })]);
  roll = 0.55;
  assert.notEqual(c.pick()?.endpoint.port, 2);
  roll = 0.56;
  assert.equal(c.pick()?.endpoint.port, 2);
  c.updateEndpoints([ep(1, { health: 'UNHEALTHY' }), ep(2, { priority: 1 })]);
  roll = 0;
  assert.equal(c.pick()?.endpoint.port, 2, 'an unhealthy priority 0 spills everything');
  c.destroy();
});

test('a retry re-selects away from tried hosts up to `reselections` times, then takes the last pick (previous_hosts)', () => {
  let i = 0;
  const draws = [0.1, 0.2, 0.3, 0.9];
  const c = new ClusterRuntime(cluster({ lbPolicy: 'random' }), { clock: new ManualClock(), random: () => draws[i++ % draws.length]!, log: quiet });
  c.updateEndpoints([ep(1), ep(2)]);
  const tried = new Set(['127.0.0.1:1']);
  assert.equal(c.pick(tried, 5)?.endpoint.port, 2, 'the fourth draw lands on the untried host');
  i = 0;
  assert.equal(c.pick(tried, 1)?.endpoint.port, 1, 'one re-selection, both draws on the tried host: it stands');
  i = 0;
  assert.equal(c.pick(tried, 0)?.endpoint.port, 1, 'no predicate: the first draw stands');
  c.destroy();
});

test('random and least-request use the injected random source', () => {
  const c = new ClusterRuntime(cluster({ lbPolicy: 'random' }), { clock: new ManualClock(), random: () => 0.9, log: quiet });
  c.updateEndpoints([ep(1), ep(2)]);
  assert.equal(c.pick()?.endpoint.port, 2);
  const lr = new ClusterRuntime(cluster({ lbPolicy: 'least_request' }), { clock: new ManualClock(), random: (() => { let i = 0; return () => [0.1, 0.9][i++ % 2]; })(), log: quiet });
  lr.updateEndpoints([ep(1), ep(2)]);
  const busy = lr.hosts.find((h) => h.endpoint.port === 1);
  assert.ok(busy);
  busy.active = 5;
  assert.equal(lr.pick(new Set())?.endpoint.port, 2, 'the less loaded of the two choices');
  c.destroy();
  lr.destroy();
});

test('outlier detection: consecutive 5xx eject for base_ejection_time on the injected clock', () => {
  const clock = new ManualClock(1000);
  const ejected: string[] = [];
  const c = new ClusterRuntime(
    cluster({ outlier: { consecutive5xx: 3, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50, enforcingConsecutive5xx: 100, alwaysEjectOneHost: false, consecutiveGatewayFailure: 5, enforcingConsecutiveGatewayFailure: 0, splitExternalLocalOriginErrors: false, consecutiveLocalOriginFailure: 5, enforcingConsecutiveLocalOriginFailure: 100 } }),
    { clock, random: () => 0, log: quiet, onEjection: (_c, h) => ejected.push(h.key) },
  );
  c.updateEndpoints([ep(1), ep(2), ep(3), ep(4)]);
  const [h1, h2] = c.hosts;
  c.recordResult(h1, { status: 500 });
  c.recordResult(h1, { status: 500 });
  c.recordResult(h1, { status: 200 });
  c.recordResult(h1, { status: 500 });
  c.recordResult(h1, { status: 500 });
  assert.deepEqual(ejected, [], 'a success resets the count');
  c.recordResult(h1, { status: 500 });
  assert.deepEqual(ejected, ['127.0.0.1:1']);
  assert.ok(!picks(c, 12).includes(1));
  // max_ejection_percent 50 of 4 hosts: a second ejection is allowed, a third is not.
  for (let i = 0; i < 3; i++) c.recordResult(h2, { status: 500 });
  assert.equal(ejected.length, 2);
  for (let i = 0; i < 3; i++) c.recordResult(c.hosts[2], { status: 500 });
  assert.equal(ejected.length, 2);
  clock.advance(29_999);
  assert.ok(!picks(c, 12).includes(1));
  clock.advance(1);
  assert.ok(picks(c, 12).includes(1), 'back after base_ejection_time');
  // A second ejection lasts twice as long.
  for (let i = 0; i < 3; i++) c.recordResult(h1, { status: 500 });
  clock.advance(59_999);
  assert.ok(!picks(c, 12).includes(1));
  clock.advance(1);
  assert.ok(picks(c, 12).includes(1));
  c.destroy();
});

test('an endpoint update keeps the state of hosts that stay', () => {
  const c = new ClusterRuntime(cluster(), { clock: new ManualClock(), random: Math.random, log: quiet });
  c.updateEndpoints([ep(1), ep(2)]);
  const h1 = c.hosts[0];
  h1.total = 7;
  c.updateEndpoints([ep(1, { weight: 2 }), ep(3)]);
  assert.equal(c.hosts[0], h1);
  assert.equal(c.hosts[0].total, 7);
  assert.equal(c.hosts[0].endpoint.weight, 2);
  assert.deepEqual(c.hosts.map((h) => h.endpoint.port), [1, 3]);
  c.destroy();
});

test('outlier detection: gateway errors (502-504) and, with the local-origin split, connect failures count on their own', () => {
  const base = { consecutive5xx: 0, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100, enforcingConsecutive5xx: 0, alwaysEjectOneHost: false, consecutiveGatewayFailure: 2, enforcingConsecutiveGatewayFailure: 100, splitExternalLocalOriginErrors: false, consecutiveLocalOriginFailure: 2, enforcingConsecutiveLocalOriginFailure: 100 };
  const gw = new ClusterRuntime(cluster({ outlier: base }), { clock: new ManualClock(), random: () => 0, log: quiet });
  gw.updateEndpoints([ep(1), ep(2)]);
  const h = gw.hosts[0]!;
  gw.recordResult(h, { status: 500 });
  gw.recordResult(h, { status: 500 });
  assert.equal(h.outlier.ejectedUntil, 0, '500 is no gateway error');
  gw.recordResult(h, { status: 502 });
  gw.recordResult(h, { status: 200 });
  gw.recordResult(h, { status: 503 });
  assert.equal(h.outlier.ejectedUntil, 0, 'an answer in between restarts the count');
  gw.recordResult(h, { local: 'connect-failure' });
  assert.ok(h.outlier.ejectedUntil > 0, 'without the split a connect failure counts as a 503');
  gw.destroy();

  const split = new ClusterRuntime(cluster({ outlier: { ...base, splitExternalLocalOriginErrors: true } }), { clock: new ManualClock(), random: () => 0, log: quiet });
  split.updateEndpoints([ep(1), ep(2)]);
  const s = split.hosts[0]!;
  split.recordResult(s, { status: 503 });
  split.recordResult(s, { local: 'reset' });
  split.recordResult(s, { status: 200 });
  split.recordResult(s, { local: 'connect-failure' });
  assert.equal(s.outlier.ejectedUntil, 0, 'split: neither streak reached 2');
  split.recordResult(s, { local: 'connect-failure' });
  assert.ok(s.outlier.ejectedUntil > 0, 'two local-origin failures in a row eject');
  split.destroy();
});
