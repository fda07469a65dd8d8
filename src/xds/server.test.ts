import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { SnapshotCache } from './cache.js';
import { TYPE_URLS, unpackAny, type DeltaDiscoveryResponse, type DiscoveryResponse, type XdsNode } from './protos.js';
import { AGENT_USER_AGENT, startXdsServer, type RunningXdsServer } from './server.js';
import { SnapshotError } from './snapshot.js';
import { adsClient, ResponseQueue, testNode, waitFor } from './testdata/ads-client.js';
import { echoSnapshot, ECHO_ROUTE, ECHO_TARGET, type Backend } from './testdata/echo-snapshot.js';

const cache = new SnapshotCache();
const logs: string[] = [];
const opened: XdsNode[] = [];
const closed: XdsNode[] = [];
let running: RunningXdsServer;
let client: ReturnType<typeof adsClient>;

const base: Backend[] = [
  { name: 'a', port: 1001, weight: 80 },
  { name: 'b', port: 1002, weight: 20 },
];

before(async () => {
  running = await startXdsServer({
    host: '127.0.0.1',
    port: 0,
    cache,
    log: (line) => logs.push(line),
    onStreamOpen: (node) => opened.push(node),
    onStreamClosed: (node) => closed.push(node),
  });
  client = adsClient(running.port);
});

after(async () => {
  client.close();
  await running.close();
});

function names(response: DiscoveryResponse): string[] {
  return response.resources.map((r) => {
    const m = unpackAny(r).message;
    return String(m['name'] ?? m['cluster_name']);
  });
}

function statusOf(nodeId: string) {
  const s = running.xds.status().find((p) => p.nodeId === nodeId);
  assert.ok(s, `no status for ${nodeId}`);
  return s;
}

test('a request waits for the snapshot; setSnapshot answers it; ACK makes the type SYNCED', async () => {
  const node = testNode('sidecar~127.10.0.2~wait.test~test.svc.cluster.local');
  const stream = client.StreamAggregatedResources();
  const responses = new ResponseQueue<DiscoveryResponse>(stream);
  stream.write({ node, type_url: TYPE_URLS.listener, resource_names: [] });
  await waitFor('stream open', () => opened.some((n) => n.id === node.id));
  assert.equal(statusOf(node.id ?? '').types.LDS?.state, 'NOT SENT');
  assert.equal(responses.length, 0);
  const before = running.xds.counters().responses;

  cache.setSnapshot(node.id ?? '', echoSnapshot({ backends: base }));
  assert.equal(running.xds.counters().responses, before + 1, 'answered synchronously by setSnapshot');
  const lds = await responses.next();
  assert.equal(lds.type_url, TYPE_URLS.listener);
  assert.deepEqual(names(lds), [ECHO_TARGET]);
  assert.equal(statusOf(node.id ?? '').types.LDS?.state, 'STALE', 'sent, not ACKed yet');

  stream.write({ type_url: TYPE_URLS.listener, resource_names: [], version_info: lds.version_info, response_nonce: lds.nonce });
  await waitFor('LDS ACK', () => statusOf(node.id ?? '').types.LDS?.state === 'SYNCED');
  const status = statusOf(node.id ?? '');
  assert.equal(status.types.LDS?.ackedVersion, lds.version_info);
  assert.equal(status.cluster, 'cluster-7', 'cluster from metadata CLUSTER_ID');
  assert.deepEqual(status.metadata, { CLUSTER_ID: 'cluster-7', NAMESPACE: 'test' });
  assert.equal(status.protocol, 'SotW');

  stream.end();
  await waitFor('stream closed', () => closed.some((n) => n.id === node.id));
  assert.equal(running.xds.status().some((p) => p.nodeId === node.id), false);
  cache.clearSnapshot(node.id ?? '');
});

/** Opens a stream subscribed to CDS (wildcard), EDS a-cla/b-cla, LDS (wildcard), RDS echo-route, all ACKed. */
async function syncedStream(nodeId: string) {
  cache.setSnapshot(nodeId, echoSnapshot({ backends: base, extraRoutes: ['other-route'], extraClusters: [{ name: 'c', port: 1003, weight: 1 }] }));
  const stream = client.StreamAggregatedResources();
  const responses = new ResponseQueue<DiscoveryResponse>(stream);
  const last = new Map<string, DiscoveryResponse>();
  const subscribe = async (typeUrl: string, resourceNames: string[]): Promise<DiscoveryResponse> => {
    stream.write({ node: testNode(nodeId), type_url: typeUrl, resource_names: resourceNames });
    const response = await responses.next();
    assert.equal(response.type_url, typeUrl);
    stream.write({ type_url: typeUrl, resource_names: resourceNames, version_info: response.version_info, response_nonce: response.nonce });
    last.set(typeUrl, response);
    return response;
  };
  const cds = await subscribe(TYPE_URLS.cluster, []);
  const eds = await subscribe(TYPE_URLS.endpoint, ['a-cla', 'b-cla']);
  const lds = await subscribe(TYPE_URLS.listener, []);
  const rds = await subscribe(TYPE_URLS.route, [ECHO_ROUTE]);
  await waitFor('all ACKed', () => Object.values(statusOf(nodeId).types).every((t) => t.state === 'SYNCED'));
  return { stream, responses, cds, eds, lds, rds };
}

test('RDS and EDS are served by name, LDS and CDS as wildcards', async () => {
  const { stream, cds, eds, rds } = await syncedStream('by-name');
  assert.deepEqual(names(cds), ['a', 'b', 'c']);
  assert.deepEqual(names(eds), ['a-cla', 'b-cla'], 'c-cla not subscribed');
  assert.deepEqual(names(rds), [ECHO_ROUTE], 'other-route not subscribed');
  stream.end();
});

test('only changed types are pushed; unchanged content and unsubscribed names push nothing', async () => {
  const nodeId = 'changes';
  const { stream, responses, eds } = await syncedStream(nodeId);
  const count = () => running.xds.counters().responses;

  let n = count();
  cache.setSnapshot(nodeId, echoSnapshot({ backends: base, extraRoutes: ['other-route'], extraClusters: [{ name: 'c', port: 1003, weight: 1 }] }));
  assert.equal(count(), n, 'same content: nothing sent');

  n = count();
  cache.setSnapshot(nodeId, echoSnapshot({ backends: base, extraRoutes: ['other-route'], extraClusters: [{ name: 'c', port: 2003, weight: 1 }] }));
  assert.equal(count(), n, 'only c-cla changed, which this stream does not subscribe');

  n = count();
  const moved = [base[0] as Backend, { name: 'b', port: 2002, weight: 20 }];
  cache.setSnapshot(nodeId, echoSnapshot({ backends: moved, extraRoutes: ['other-route'], extraClusters: [{ name: 'c', port: 2003, weight: 1 }] }));
  assert.equal(count(), n + 1, 'only EDS pushed');
  const pushed = await responses.next();
  assert.equal(pushed.type_url, TYPE_URLS.endpoint);
  assert.notEqual(pushed.version_info, eds.version_info);
  assert.deepEqual(names(pushed), ['b-cla'], 'SotW EDS carries only the ClusterLoadAssignment that changed');
  stream.end();
});

test('NACK: logged with node and message, shown in status, same version never resent, next change is', async () => {
  const nodeId = 'nacker';
  const { stream, responses } = await syncedStream(nodeId);
  const moved = (port: number) => echoSnapshot({ backends: [base[0] as Backend, { name: 'b', port, weight: 20 }], extraRoutes: ['other-route'], extraClusters: [{ name: 'c', port: 1003, weight: 1 }] });
  cache.setSnapshot(nodeId, moved(3002));
  const bad = await responses.next();
  const acked = statusOf(nodeId).types.EDS?.ackedVersion;
  stream.write({ type_url: TYPE_URLS.endpoint, resource_names: ['a-cla', 'b-cla'], version_info: acked, response_nonce: bad.nonce, error_detail: { code: 3, message: 'port 3002 refused by policy' } });
  await waitFor('NACK recorded', () => statusOf(nodeId).types.EDS?.nack !== undefined);
  const eds = statusOf(nodeId).types.EDS;
  assert.equal(eds?.state, 'STALE');
  assert.equal(eds?.nack?.version, bad.version_info);
  assert.equal(eds?.nack?.message, 'port 3002 refused by policy');
  assert.equal(eds?.ackedVersion, acked, 'last good stays the acked version');
  assert.ok(logs.some((l) => l.includes('NACK') && l.includes(`node=${nodeId}`) && l.includes('port 3002 refused by policy')), logs.join('\n'));

  const n = running.xds.counters().responses;
  cache.setSnapshot(nodeId, moved(3002));
  assert.equal(running.xds.counters().responses, n, 'the NACKed version is not resent');

  cache.setSnapshot(nodeId, moved(4002));
  const fixed = await responses.next();
  assert.notEqual(fixed.version_info, bad.version_info);
  stream.write({ type_url: TYPE_URLS.endpoint, resource_names: ['a-cla', 'b-cla'], version_info: fixed.version_info, response_nonce: fixed.nonce });
  await waitFor('SYNCED again', () => statusOf(nodeId).types.EDS?.state === 'SYNCED');
  assert.equal(statusOf(nodeId).types.EDS?.nack, undefined);
  stream.end();
});

test('a stale nonce is ignored: neither ACK nor subscription change', async () => {
  const nodeId = 'stale';
  const { stream, responses, rds } = await syncedStream(nodeId);
  cache.setSnapshot(nodeId, echoSnapshot({ backends: base, routeStamp: 'v2', extraRoutes: ['other-route'], extraClusters: [{ name: 'c', port: 1003, weight: 1 }] }));
  const newer = await responses.next();
  assert.equal(newer.type_url, TYPE_URLS.route);
  const stale = running.xds.counters().staleNonces;
  // Crossed request: names change with the old nonce.
  stream.write({ type_url: TYPE_URLS.route, resource_names: [ECHO_ROUTE, 'other-route'], version_info: rds.version_info, response_nonce: rds.nonce });
  await waitFor('stale counted', () => running.xds.counters().staleNonces === stale + 1);
  assert.equal(statusOf(nodeId).types.RDS?.state, 'STALE', 'the old nonce did not ACK the newer response');
  assert.equal(responses.length, 0);
  stream.write({ type_url: TYPE_URLS.route, resource_names: [ECHO_ROUTE, 'other-route'], version_info: newer.version_info, response_nonce: newer.nonce });
  const added = await responses.next();
  assert.deepEqual(names(added), ['other-route'], 'the current nonce carries the new subscription; the unchanged echo-route is not resent');
  stream.end();
});

test('explicit LDS/CDS names (as proxyless gRPC sends) select only those', async () => {
  const nodeId = 'explicit';
  cache.setSnapshot(nodeId, echoSnapshot({ backends: base }));
  const stream = client.StreamAggregatedResources();
  const responses = new ResponseQueue<DiscoveryResponse>(stream);
  stream.write({ node: testNode(nodeId), type_url: TYPE_URLS.cluster, resource_names: ['b'] });
  assert.deepEqual(names(await responses.next()), ['b']);
  stream.end();
});

test('an inconsistent snapshot is rejected and the stream keeps the last good', async () => {
  const nodeId = 'inconsistent';
  const { stream } = await syncedStream(nodeId);
  const good = cache.getSnapshot(nodeId);
  const broken = echoSnapshot({ backends: [...base, { name: 'z', port: 9, weight: 1 }] });
  broken.resources[TYPE_URLS.endpoint]?.delete('z-cla');
  const n = running.xds.counters().responses;
  assert.throws(() => cache.setSnapshot(nodeId, broken), (err: unknown) => err instanceof SnapshotError && err.message.includes("ClusterLoadAssignment 'z-cla'"));
  assert.equal(cache.getSnapshot(nodeId), good);
  assert.equal(running.xds.counters().responses, n);
  stream.end();
});

test('a stream whose first request has no node id is refused with INVALID_ARGUMENT', async () => {
  const stream = client.StreamAggregatedResources();
  const err = await new Promise<grpc.ServiceError>((resolve) => {
    stream.on('error', resolve);
    stream.on('data', () => assert.fail('no response expected'));
    stream.write({ type_url: TYPE_URLS.listener, resource_names: [] });
  });
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  assert.match(err.details, /node\.id/);
});

test('delta: wildcard CDS, initial versions honoured, per-resource versions, removals, unsubscribe, ACK/NACK', async () => {
  const nodeId = 'delta';
  cache.setSnapshot(nodeId, echoSnapshot({ backends: base }));
  const stream = client.DeltaAggregatedResources();
  const responses = new ResponseQueue<DeltaDiscoveryResponse>(stream);

  stream.write({ node: testNode(nodeId), type_url: TYPE_URLS.cluster, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {} });
  const first = await responses.next();
  assert.deepEqual(first.resources.map((r) => r.name), ['a', 'b']);
  assert.ok(first.resources.every((r) => r.version.length === 16 && r.resource?.type_url === TYPE_URLS.cluster));
  stream.write({ type_url: TYPE_URLS.cluster, response_nonce: first.nonce, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {} });
  await waitFor('delta CDS SYNCED', () => statusOf(nodeId).types.CDS?.state === 'SYNCED');
  assert.equal(statusOf(nodeId).protocol, 'Delta');

  // EDS by name; the client already has a-cla at the current version, so only b-cla comes.
  const aVersion = cache.getPrepared(nodeId)?.types.get(TYPE_URLS.endpoint)?.get('a-cla')?.version ?? '';
  stream.write({ type_url: TYPE_URLS.endpoint, resource_names_subscribe: ['a-cla', 'b-cla'], resource_names_unsubscribe: [], initial_resource_versions: { 'a-cla': aVersion } });
  const eds = await responses.next();
  assert.deepEqual(eds.resources.map((r) => r.name), ['b-cla']);

  // A cluster removed from the snapshot comes back as removed_resources; unchanged ones are not resent.
  cache.setSnapshot(nodeId, echoSnapshot({ backends: [base[0] as Backend] }));
  const cdsRemoval = await responses.next();
  assert.equal(cdsRemoval.type_url, TYPE_URLS.cluster);
  assert.deepEqual(cdsRemoval.resources, []);
  assert.deepEqual(cdsRemoval.removed_resources, ['b']);
  const edsRemoval = await responses.next();
  assert.deepEqual(edsRemoval.removed_resources, ['b-cla']);

  // NACK by nonce, then unsubscribing a-cla means a change to it sends nothing.
  stream.write({ type_url: TYPE_URLS.endpoint, response_nonce: edsRemoval.nonce, error_detail: { code: 3, message: 'delta says no' }, resource_names_subscribe: [], resource_names_unsubscribe: ['a-cla'], initial_resource_versions: {} });
  await waitFor('delta NACK', () => statusOf(nodeId).types.EDS?.nack?.message === 'delta says no');
  const n = running.xds.counters().responses;
  cache.setSnapshot(nodeId, echoSnapshot({ backends: [{ name: 'a', port: 5555, weight: 1 }] }));
  assert.equal(running.xds.counters().responses, n, 'a-cla unsubscribed; cluster a unchanged');
  stream.end();
});

test('an agent\'s NDS stream gets the node\'s name table but is not a proxy: not in status, its end is no disconnect', async () => {
  const nodeId = 'sidecar~127.10.0.9~dns.test~test.svc.cluster.local';
  const table = { table: { 'helloworld.sample.svc.cluster.local': { ips: ['127.11.0.7'], registry: 'Kubernetes', shortname: 'helloworld', namespace: 'sample' } } };
  cache.setSnapshot(nodeId, { resources: { ...echoSnapshot({ backends: base }).resources, [TYPE_URLS.nameTable]: new Map([['name-table', table]]) } });
  const proxy = client.StreamAggregatedResources();
  const proxyResponses = new ResponseQueue<DiscoveryResponse>(proxy);
  proxy.write({ node: testNode(nodeId), type_url: TYPE_URLS.listener, resource_names: [] });
  await proxyResponses.next();
  const agent = client.StreamAggregatedResources();
  const agentResponses = new ResponseQueue<DiscoveryResponse>(agent);
  agent.write({ node: { ...testNode(nodeId), user_agent_name: AGENT_USER_AGENT }, type_url: TYPE_URLS.nameTable, resource_names: [] });
  const nds = await agentResponses.next();
  assert.equal(nds.type_url, TYPE_URLS.nameTable);
  assert.equal(nds.resources.length, 1);
  assert.deepEqual(unpackAny(nds.resources[0]).message, { table: { 'helloworld.sample.svc.cluster.local': { ...table.table['helloworld.sample.svc.cluster.local'], alt_hosts: [] } } });
  agent.write({ node: testNode(nodeId), type_url: TYPE_URLS.nameTable, resource_names: [], version_info: nds.version_info, response_nonce: nds.nonce });
  const listed = running.xds.status().filter((s) => s.nodeId === nodeId);
  assert.equal(listed.length, 1, 'one proxy, not two');
  assert.equal(listed[0].types.NDS, undefined);
  agent.cancel();
  await waitFor('agent stream closed', () => closed.some((n) => n.id === nodeId && n.user_agent_name === AGENT_USER_AGENT));
  assert.equal(running.xds.disconnected().some((d) => d.nodeId === nodeId), false, 'the proxy is still connected');
  proxy.cancel();
  await waitFor('proxy disconnected', () => running.xds.disconnected().some((d) => d.nodeId === nodeId));
});
