import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCache } from '../../xds/cache.js';
import { TYPE_URLS } from '../../xds/protos.js';
import { startXdsServer } from '../../xds/server.js';
import { ManualClock } from '../../clock.js';
import { ConfigStore } from '../config/store.js';
import { edsCluster, httpListener, loadAssignment, routeConfig } from '../testutil/envoy.js';
import { waitUntil } from '../testutil/harness.js';
import { freePort } from '../testutil/upstream.js';
import { Backoff } from './backoff.js';
import { XdsClient, type XdsEvent } from './client.js';

test('back-off grows by the multiplier up to the cap and resets', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000]);
  b.reset();
  assert.equal(b.next(), 100);
  const jittered = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0.5 }, () => 1);
  assert.equal(jittered.next(), 50);
});

const NODE = 'sidecar~127.0.0.1~c.test~test.svc.cluster.local';

function snapshot(routeName: string): Parameters<SnapshotCache['setSnapshot']>[1] {
  return {
    resources: {
      [TYPE_URLS.listener]: new Map([['l', httpListener('l', '127.0.0.1', 1, routeName)]]),
      [TYPE_URLS.route]: new Map([[routeName, routeConfig(routeName, [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }])]]),
      [TYPE_URLS.cluster]: new Map([['c', edsCluster('c')]]),
      [TYPE_URLS.endpoint]: new Map([['c', loadAssignment('c', [{ port: 2 }])]]),
    },
  };
}

test('reconnects only when the injected clock says so, then subscribes RDS/EDS by reference', async () => {
  const port = await freePort();
  const clock = new ManualClock();
  const store = new ConfigStore();
  const events: XdsEvent[] = [];
  const client = new XdsClient({
    server: `127.0.0.1:${port}`,
    nodeId: NODE,
    cluster: 'test',
    metadata: { CLUSTER_ID: 'cluster-9' },
    store,
    clock,
    log: () => undefined,
    backoff: { initialMs: 1000, maxMs: 8000, multiplier: 2, jitter: 0 },
  });
  client.onEvent((e) => events.push(e));
  client.start();
  const cache = new SnapshotCache();
  cache.setSnapshot(NODE, snapshot('r1'));
  let server: Awaited<ReturnType<typeof startXdsServer>> | undefined;
  try {
    await waitUntil('first failure', () => events.some((e) => e.kind === 'disconnected'));
    const first = events.find((e) => e.kind === 'disconnected');
    assert.equal(first?.kind === 'disconnected' && first.retryInMs, 1000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.filter((e) => e.kind === 'disconnected').length, 1, 'no attempt before the clock moves');
    assert.equal(clock.pendingTimers, 1);

    server = await startXdsServer({ host: '127.0.0.1', port, cache, log: () => undefined });
    for (let i = 0; i < 50 && !client.connected; i++) {
      clock.advance(10_000);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitUntil('config received', () => store.ready());
    assert.equal(store.get('routes').has('r1'), true);
    assert.deepEqual(client.status().get(TYPE_URLS.route)?.names, ['r1']);
    assert.deepEqual(client.status().get(TYPE_URLS.endpoint)?.names, ['c']);
    const status = server.xds.status().find((s) => s.nodeId === NODE);
    assert.deepEqual(status?.metadata, { CLUSTER_ID: 'cluster-9' });

    // The listener now refers to another route config: the RDS subscription follows, the old one is dropped.
    cache.setSnapshot(NODE, snapshot('r2'));
    await waitUntil('r2 received', () => store.get('routes').has('r2') && !store.get('routes').has('r1'));
    assert.deepEqual(client.status().get(TYPE_URLS.route)?.names, ['r2']);
    assert.ok(events.filter((e) => e.kind === 'ack').length >= 5);
    assert.equal(events.filter((e) => e.kind === 'nack').length, 0);
  } finally {
    client.stop();
    await server?.close();
  }
});
