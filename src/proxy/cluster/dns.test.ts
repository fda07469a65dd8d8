// DNS clusters' endpoints (STRICT_DNS, LOGICAL_DNS) with a resolver under the test's control, the system
// resolver on a name /etc/hosts gives every machine, and retry priorities (previous_priorities).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../clock.js';
import type { DnsDiscovery, Endpoint } from '../model/cluster.js';
import { PreviousPriorities } from '../upstream/forward.js';
import { ClusterRuntime } from './cluster.js';
import { DnsEndpoints, systemResolve } from './dns.js';

function ep(host: string, port: number, extra: Partial<Endpoint> = {}): Endpoint {
  return { host, port, weight: 1, health: 'UNKNOWN', priority: 0, locality: { region: '', zone: '', subZone: '' }, localityWeight: 1, ...extra };
}

function discovery(logical: boolean, endpoints: Endpoint[]): DnsDiscovery {
  return { kind: 'dns', logical, endpoints: { clusterName: 'c', endpoints }, family: 4, refreshMs: 20 };
}

function updates(spec: DnsDiscovery, resolve: (name: string) => Promise<string[]>, count: number): Promise<{ seen: Endpoint[][]; errors: string[] }> {
  return new Promise((done) => {
    const seen: Endpoint[][] = [];
    const errors: string[] = [];
    // The refresh timer does not keep a process alive (the proxy's listeners do): the test does.
    const keepAlive = setInterval(() => undefined, 1000);
    const d = new DnsEndpoints(spec, (e) => {
      seen.push(e);
      if (seen.length === count) {
        d.stop();
        clearInterval(keepAlive);
        done({ seen, errors });
      }
    }, (name) => errors.push(name), resolve);
  });
}

test('STRICT_DNS keeps every address of every name, LOGICAL_DNS the first; addresses pass as they are', async () => {
  const answers: Record<string, string[]> = { 'a.test': ['192.0.2.1', '192.0.2.2'], 'b.test': ['192.0.2.3'] };
  const strict = await updates(discovery(false, [ep('a.test', 80), ep('b.test', 81), ep('192.0.2.9', 82)]), async (n) => answers[n]!, 1);
  assert.deepEqual(strict.seen[0]!.map((e) => `${e.host}:${e.port}`), ['192.0.2.1:80', '192.0.2.2:80', '192.0.2.3:81', '192.0.2.9:82']);
  const logical = await updates(discovery(true, [ep('a.test', 80)]), async (n) => answers[n]!, 1);
  assert.deepEqual(logical.seen[0]!.map((e) => e.host), ['192.0.2.1']);
});

test('names are re-resolved every refresh; a failed lookup keeps the last addresses and is reported', async () => {
  let call = 0;
  const result = await updates(discovery(false, [ep('a.test', 80)]), async () => {
    call++;
    if (call === 2) throw new Error('SERVFAIL');
    return call === 1 ? ['192.0.2.1'] : ['192.0.2.7'];
  }, 3);
  assert.deepEqual(result.seen.map((s) => s.map((e) => e.host)), [['192.0.2.1'], ['192.0.2.1'], ['192.0.2.7']]);
  assert.deepEqual(result.errors, ['a.test']);
});

test('the system resolver reads /etc/hosts: localhost is 127.0.0.1 with family 4', async () => {
  assert.deepEqual(await systemResolve('localhost', 4), ['127.0.0.1']);
});

test('previous_priorities: after update_frequency attempts the tried priorities are left out; all tried: none is', () => {
  const c = new ClusterRuntime(
    { name: 'c', discovery: { kind: 'eds', serviceName: 'c' }, lbPolicy: 'round_robin', connectTimeoutMs: 1000, http2: false, outlier: undefined, unenforced: [], panicThresholdPercent: 50, localityWeighted: false, choiceCount: 2, hashLb: { minimumRingSize: 1024, maximumRingSize: 8388608, tableSize: 65537 }, limits: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }, maxRequestsPerConnection: undefined, idleTimeoutMs: undefined },
    { clock: new ManualClock(), random: Math.random, log: () => undefined },
  );
  c.updateEndpoints([ep('127.0.0.1', 1), ep('127.0.0.1', 2, { priority: 1 }), ep('127.0.0.1', 3, { priority: 2 })]);
  const p = new PreviousPriorities(2);
  p.attempted(0);
  assert.equal(p.excluded(), undefined, 'one attempt: not yet updated');
  assert.equal(c.pick(undefined, 0, undefined, p.excluded())?.endpoint.port, 1);
  p.attempted(0);
  assert.deepEqual([...p.excluded()!], [0]);
  assert.equal(c.pick(undefined, 0, undefined, p.excluded())?.endpoint.port, 2, 'priority 0 tried: the next one');
  assert.equal(c.pick(undefined, 0, undefined, new Set([0, 1]))?.endpoint.port, 3);
  assert.equal(c.pick(undefined, 0, undefined, new Set([0, 1, 2]))?.endpoint.port, 1, 'every priority tried: back to the best');
  c.destroy();
});
