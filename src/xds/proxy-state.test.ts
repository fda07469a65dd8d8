// What proxy-status reads from the xDS server beyond per-type sync: a connected proxy that has not taken
// the latest version for a while is STALE (with the version it has); a proxy that went away is
// DISCONNECTED, with when and why, for a bounded time and count. Real gRPC clients and a real Envoy.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NO_ENVOY, startTestEnvoy, testEnvoyPath, waitForEnvoySync } from '../envoy/testdata/live-envoy.js';
import { SnapshotCache } from './cache.js';
import { TYPE_URLS, type DiscoveryResponse } from './protos.js';
import { startXdsServer, type RunningXdsServer } from './server.js';
import { connectionState, nodeAnswers, type ProxyStatus } from './status.js';
import { adsClient, ResponseQueue, testNode, waitFor } from './testdata/ads-client.js';
import { ECHO_ROUTE, echoSnapshot } from './testdata/echo-snapshot.js';

const envoyPath = testEnvoyPath();
const backends = [{ name: 'a', port: 1001, weight: 100 }];

describe('connectionState (pure)', () => {
  const sentAt = new Date('2025-01-01T00:00:00Z');
  const base: ProxyStatus = { streamId: 1, protocol: 'SotW', nodeId: 'n', cluster: 'c', metadata: {}, connectedAt: sentAt, userAgent: '-', types: {} };
  const at = (ms: number) => new Date(sentAt.getTime() + ms);

  it('SYNCED and NOT SENT types are CONNECTED; an unanswered version is STALE only after a while', () => {
    const status: ProxyStatus = { ...base, types: { LDS: { state: 'SYNCED', sentVersion: 'v2', sentAt, ackedVersion: 'v2' }, RDS: { state: 'NOT SENT' }, CDS: { state: 'STALE', sentVersion: 'v2', sentAt, ackedVersion: 'v1' } } };
    assert.equal(connectionState(status, undefined, at(4_999)).state, 'CONNECTED');
    assert.deepEqual(connectionState(status, undefined, at(5_000)).stale, [{ type: 'CDS', has: 'v1', latest: 'v2', why: 'not-acked', since: sentAt }]);
    assert.equal(connectionState(status, undefined, at(20_000), 30_000).state, 'CONNECTED', 'the threshold is a parameter');
  });

  it('nodeAnswers: settled when every type sent on every stream is answered; a standing NACK is the refusal; an agent stream alone is not a proxy', () => {
    const synced = { state: 'SYNCED' as const, sentVersion: 'v2', sentAt, ackedVersion: 'v2' };
    const proxy: ProxyStatus = { ...base, types: { LDS: synced, CDS: { ...synced, sentAt: at(10) } } };
    const agent: ProxyStatus = { ...base, streamId: 2, types: { NDS: synced } };
    assert.deepEqual(nodeAnswers([{ status: proxy, agent: false }, { status: agent, agent: true }]), { settled: true, lastSentAt: at(10) });
    assert.equal(nodeAnswers([{ status: agent, agent: true }]).settled, false, 'the data plane has not connected yet');
    assert.equal(nodeAnswers([{ status: { ...base, types: {} }, agent: false }]).settled, false, 'a stream that asked for nothing yet');
    assert.equal(nodeAnswers([{ status: { ...proxy, types: { ...proxy.types, RDS: { state: 'NOT SENT' } } }, agent: false }]).settled, false, 'asked, not yet sent');
    assert.equal(nodeAnswers([{ status: { ...proxy, types: { ...proxy.types, EDS: { state: 'STALE', sentVersion: 'v3', sentAt, ackedVersion: 'v2' } } }, agent: false }]).settled, false, 'sent, not answered');
    const nacked: ProxyStatus = { ...proxy, types: { ...proxy.types, RDS: { state: 'STALE', sentVersion: 'v3', sentAt, ackedVersion: 'v2', nack: { version: 'v3', message: 'bad route', at: at(20) } } } };
    assert.deepEqual(nodeAnswers([{ status: nacked, agent: false }]), { settled: true, refusal: { message: 'RDS: bad route', at: at(20) }, lastSentAt: at(10) });
    const resent: ProxyStatus = { ...nacked, types: { ...nacked.types, RDS: { state: 'STALE', sentVersion: 'v4', sentAt: at(30), ackedVersion: 'v2', nack: { version: 'v3', message: 'bad route', at: at(20) } } } };
    assert.equal(nodeAnswers([{ status: resent, agent: false }]).settled, false, 'a newer version after the NACK is not answered yet');
  });

  it('a NACK and a held-back response are STALE at once; never ACKed has no version', () => {
    const nackAt = at(10);
    const nacked: ProxyStatus = { ...base, types: { LDS: { state: 'STALE', sentVersion: 'v2', sentAt, ackedVersion: 'v1', nack: { version: 'v2', message: 'bad', at: nackAt } } } };
    assert.deepEqual(connectionState(nacked, undefined, at(20)).stale, [{ type: 'LDS', has: 'v1', latest: 'v2', why: 'nacked', since: nackAt }]);
    const held: ProxyStatus = { ...base, types: { RDS: { state: 'STALE', sentVersion: 'v1', sentAt } } };
    assert.deepEqual(connectionState(held, 'RDS', at(1)).stale, [{ type: 'RDS', latest: 'v1', why: 'not-sent', since: sentAt }]);
  });
});

describe('disconnected proxies', () => {
  const cache = new SnapshotCache();
  let clock = Date.parse('2025-01-01T00:00:00Z');
  let running: RunningXdsServer;

  before(async () => {
    running = await startXdsServer({ host: '127.0.0.1', port: 0, cache, log: () => {}, now: () => new Date(clock), disconnected: { retentionMs: 60_000, max: 3 } });
  });
  after(() => running.close());

  const gone = (nodeId: string) => running.xds.disconnected().find((p) => p.nodeId === nodeId);

  /** A SotW stream of `nodeId` that received and ACKed its listeners. */
  async function connect(nodeId: string, opts: { ack?: boolean } = {}) {
    cache.setSnapshot(nodeId, echoSnapshot({ backends }));
    const client = adsClient(running.port);
    const stream = client.StreamAggregatedResources();
    const responses = new ResponseQueue<DiscoveryResponse>(stream);
    stream.write({ node: testNode(nodeId), type_url: TYPE_URLS.listener, resource_names: [] });
    const lds = await responses.next();
    if (opts.ack ?? true) {
      stream.write({ type_url: TYPE_URLS.listener, resource_names: [], version_info: lds.version_info, response_nonce: lds.nonce });
      await waitFor('LDS ACK', () => running.xds.status().some((s) => s.nodeId === nodeId && s.types.LDS?.state === 'SYNCED'));
    }
    return { client, stream, responses, lds };
  }

  it('closed by the proxy: listed as DISCONNECTED with when, why and its last sync state; no longer connected', async () => {
    const nodeId = 'sidecar~127.10.0.31~ended.test~test.svc.cluster.local';
    const { client, stream, lds } = await connect(nodeId);
    assert.equal(running.xds.status().find((s) => s.nodeId === nodeId)?.state, 'CONNECTED');
    const closedAt = (clock += 1000);
    stream.end();
    await waitFor('disconnected', () => gone(nodeId) !== undefined);
    const record = gone(nodeId)!;
    assert.equal(record.state, 'DISCONNECTED');
    assert.equal(record.reason, 'closed by the proxy');
    assert.equal(record.disconnectedAt.getTime(), closedAt);
    assert.equal(record.cluster, 'cluster-7');
    assert.equal(record.types.LDS?.ackedVersion, lds.version_info, 'what it had when it left');
    assert.equal(running.xds.status().some((s) => s.nodeId === nodeId), false);
    client.close();
  });

  it('a cancelled call (the proxy went away) says so; a reconnect takes the node off the list', async () => {
    const nodeId = 'sidecar~127.10.0.32~cancelled.test~test.svc.cluster.local';
    const first = await connect(nodeId);
    first.stream.cancel();
    await waitFor('disconnected', () => gone(nodeId) !== undefined);
    assert.equal(gone(nodeId)?.reason, 'cancelled by the proxy or connection lost');
    first.client.close();
    const again = await connect(nodeId);
    assert.equal(gone(nodeId), undefined, 'connected again: not disconnected');
    again.stream.end();
    await waitFor('disconnected again', () => gone(nodeId) !== undefined);
    again.client.close();
  });

  it('a node with a second stream open has not gone away when its first closes', async () => {
    const nodeId = 'sidecar~127.10.0.33~overlap.test~test.svc.cluster.local';
    const older = await connect(nodeId);
    const newer = await connect(nodeId);
    older.stream.end();
    await waitFor('one stream left', () => running.xds.status().filter((s) => s.nodeId === nodeId).length === 1);
    assert.equal(gone(nodeId), undefined);
    newer.stream.end();
    await waitFor('disconnected', () => gone(nodeId) !== undefined);
    older.client.close();
    newer.client.close();
  });

  it('bounded: the newest `max` are kept, each for the retention time', async () => {
    for (const i of [1, 2, 3, 4]) {
      const nodeId = `sidecar~127.10.0.4${i}~bounded-${i}.test~test.svc.cluster.local`;
      const { client, stream } = await connect(nodeId);
      clock += 1000;
      stream.end();
      await waitFor('disconnected', () => gone(nodeId) !== undefined);
      client.close();
    }
    assert.deepEqual(running.xds.disconnected().map((p) => p.nodeId.split('~')[2]), ['bounded-4.test', 'bounded-3.test', 'bounded-2.test'], 'most recent first, at most 3');
    clock += 58_500;
    assert.deepEqual(running.xds.disconnected().map((p) => p.nodeId.split('~')[2]), ['bounded-4.test', 'bounded-3.test']);
    clock += 60_000;
    assert.deepEqual(running.xds.disconnected(), []);
  });

  it('STALE: a version not ACKed for 5 s, with the version it has; an ACK makes it CONNECTED again', async () => {
    const nodeId = 'sidecar~127.10.0.34~slow.test~test.svc.cluster.local';
    const { client, stream, responses } = await connect(nodeId);
    stream.write({ type_url: TYPE_URLS.route, resource_names: [ECHO_ROUTE] });
    const rds = await responses.next();
    stream.write({ type_url: TYPE_URLS.route, resource_names: [ECHO_ROUTE], version_info: rds.version_info, response_nonce: rds.nonce });
    const state = () => running.xds.status().find((s) => s.nodeId === nodeId)!;
    await waitFor('RDS ACKed', () => state().types.RDS?.state === 'SYNCED');
    cache.setSnapshot(nodeId, echoSnapshot({ backends, routeStamp: 'second' }));
    const next = await responses.next();
    assert.equal(next.type_url, TYPE_URLS.route);
    assert.equal(state().state, 'CONNECTED', 'just sent');
    clock += 5_000;
    assert.equal(state().state, 'STALE');
    assert.deepEqual(state().stale?.map((s) => [s.type, s.has, s.latest, s.why]), [['RDS', rds.version_info, next.version_info, 'not-acked']]);
    stream.write({ type_url: TYPE_URLS.route, resource_names: [ECHO_ROUTE], version_info: next.version_info, response_nonce: next.nonce });
    await waitFor('CONNECTED after the ACK', () => state().state === 'CONNECTED');
    stream.end();
    client.close();
  });

  it('Envoy killed: DISCONNECTED, its connection lost, with its user agent', { skip: envoyPath ? false : NO_ENVOY }, async () => {
    const nodeId = 'sidecar~127.10.0.35~envoy.test~test.svc.cluster.local';
    cache.setSnapshot(nodeId, echoSnapshot({ backends }));
    const envoy = await startTestEnvoy({ binary: envoyPath!, xdsPort: running.port, nodeId });
    try {
      await waitForEnvoySync(envoy, () => running.xds.status(), nodeId);
    } finally {
      await envoy.stop();
    }
    await waitFor('Envoy disconnected', () => gone(nodeId) !== undefined, 5_000);
    assert.equal(gone(nodeId)?.reason, 'cancelled by the proxy or connection lost');
    assert.match(gone(nodeId)?.userAgent ?? '', /^envoy \d+\.\d+\.\d+$/);
    assert.equal(gone(nodeId)?.types.LDS?.state, 'SYNCED');
  });
});
