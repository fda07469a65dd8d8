// The real, unmodified @grpc/grpc-js-xds as an independent xDS client of our ADS server.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { chiSquareTest, SUITE_ALPHA } from '../stats/chisquare.js';
import { SnapshotCache } from './cache.js';
import { TYPE_URLS } from './protos.js';
import { startXdsServer, type RunningXdsServer } from './server.js';
import { waitFor } from './testdata/ads-client.js';
import { echoSnapshot, ECHO_TARGET, type Backend, type EchoSnapshotOptions } from './testdata/echo-snapshot.js';

const NODE_ID = 'proxyless~127.0.0.1~echo-client.test~test.svc.cluster.local';

interface WhichReply {
  backend: string;
}
type EchoClient = grpc.Client & {
  Which(request: object, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, reply?: WhichReply) => void): grpc.ClientUnaryCall;
};

function isEchoClient(c: grpc.Client): c is EchoClient {
  return 'Which' in c && typeof c.Which === 'function';
}

const packageDefinition = protoLoader.loadSync(fileURLToPath(new URL('./testdata/echo.proto', import.meta.url)), { keepCase: true });
const echoService = grpc.loadPackageDefinition(packageDefinition)['meshwork'];
function echoConstructor(): grpc.ServiceClientConstructor {
  const ns = echoService as grpc.GrpcObject;
  const testNs = ns['test'] as grpc.GrpcObject;
  const ctor = testNs['Echo'];
  if (typeof ctor !== 'function' || !('service' in ctor)) throw new Error('meshwork.test.Echo not loaded');
  return ctor;
}

const cache = new SnapshotCache();
const logs: string[] = [];
let xds: RunningXdsServer;
const backendServers: grpc.Server[] = [];
let backends: { a: Backend; b: Backend };
let client: EchoClient;

async function startBackend(name: string): Promise<number> {
  const server = new grpc.Server();
  server.addService(echoConstructor().service, {
    Which: (_call: grpc.ServerUnaryCall<object, WhichReply>, callback: grpc.sendUnaryData<WhichReply>) => callback(null, { backend: name }),
  });
  backendServers.push(server);
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

function snapshot(weights: [number, number], extra: Partial<EchoSnapshotOptions> = {}) {
  return echoSnapshot({ backends: [{ ...backends.a, weight: weights[0] }, { ...backends.b, weight: weights[1] }], ...extra });
}

before(async () => {
  backends = { a: { name: 'a', port: await startBackend('backend-a'), weight: 80 }, b: { name: 'b', port: await startBackend('backend-b'), weight: 20 } };
  xds = await startXdsServer({
    host: '127.0.0.1',
    port: 0,
    cache,
    log: (line) => logs.push(line),
    // As the control plane would: build the node's snapshot when its stream opens.
    onStreamOpen: (node) => {
      if (node.id === NODE_ID && !cache.getSnapshot(NODE_ID)) cache.setSnapshot(NODE_ID, snapshot([80, 20]));
    },
  });
  process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${xds.port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: NODE_ID, cluster: 'echo-client', metadata: { CLUSTER_ID: 'cluster-1' }, locality: { region: 'local', zone: 'cluster-1' } },
  });
  // Registered only now: grpc-js-xds reads the bootstrap when its first xds: channel resolves.
  const grpcXds = await import('@grpc/grpc-js-xds');
  grpcXds.register();
  const Ctor = echoConstructor();
  const created = new Ctor(`xds:///${ECHO_TARGET}`, grpc.credentials.createInsecure());
  if (!isEchoClient(created)) throw new Error('echo client lacks Which');
  client = created;
});

after(async () => {
  client?.close();
  await xds?.close();
  for (const s of backendServers) s.forceShutdown();
});

function callOnce(): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Which({}, { deadline: Date.now() + 5000 }, (err, reply) => (err ? reject(err) : resolve(reply?.backend ?? '?'))),
  );
}

async function split(calls: number): Promise<{ a: number; b: number }> {
  const counts = { a: 0, b: 0 };
  for (let done = 0; done < calls; done += 200) {
    const batch = await Promise.all(Array.from({ length: Math.min(200, calls - done) }, callOnce));
    for (const who of batch) {
      if (who === 'backend-a') counts.a++;
      else if (who === 'backend-b') counts.b++;
      else assert.fail(`unexpected backend ${who}`);
    }
  }
  return counts;
}

function rdsStatus() {
  const status = xds.xds.status().find((s) => s.nodeId === NODE_ID);
  assert.ok(status, 'grpc-js-xds stream not open');
  return status.types.RDS;
}

test('80/20 weighted clusters over 1000 calls, from a snapshot built at stream open', async () => {
  const counts = await split(1000);
  const result = chiSquareTest([counts.a, counts.b], [80, 20], SUITE_ALPHA);
  assert.ok(result.pass, `80/20 expected, got ${counts.a}/${counts.b} (p=${result.pValue})`);
  const status = xds.xds.status().find((s) => s.nodeId === NODE_ID);
  assert.equal(status?.cluster, 'echo-client');
  assert.equal(status?.metadata['CLUSTER_ID'], 'cluster-1');
  for (const type of ['LDS', 'RDS', 'CDS', 'EDS'] as const) assert.equal(status?.types[type]?.state, 'SYNCED', `${type} synced`);
});

test('weights changed to 50/50 by setSnapshot are applied within a second', async () => {
  const started = Date.now();
  cache.setSnapshot(NODE_ID, snapshot([50, 50]));
  const pushed = cache.getPrepared(NODE_ID)?.types.get(TYPE_URLS.route)?.version;
  await waitFor('50/50 ACKed', () => rdsStatus()?.ackedVersion !== undefined && rdsStatus()?.state === 'SYNCED' && rdsStatus()?.sentVersion === pushed, 1000);
  assert.ok(Date.now() - started < 1000);
  const counts = await split(1000);
  const even = chiSquareTest([counts.a, counts.b], [50, 50], SUITE_ALPHA);
  assert.ok(even.pass, `50/50 expected, got ${counts.a}/${counts.b} (p=${even.pValue})`);
  assert.equal(chiSquareTest([counts.a, counts.b], [80, 20], SUITE_ALPHA).pass, false, 'no longer 80/20');
});

test('an invalid RouteConfiguration is NACKed; the client keeps the last good (50/50)', async () => {
  // grpc-js-xds rejects weighted_clusters whose weights sum to 0.
  cache.setSnapshot(NODE_ID, snapshot([0, 0]));
  await waitFor('NACK recorded', () => rdsStatus()?.nack !== undefined, 3000);
  const rds = rdsStatus();
  assert.equal(rds?.state, 'STALE');
  assert.ok(logs.some((l) => l.includes('NACK') && l.includes(NODE_ID)), logs.join('\n'));
  const counts = await split(400);
  assert.ok(chiSquareTest([counts.a, counts.b], [50, 50], SUITE_ALPHA).pass, `last good 50/50 kept, got ${counts.a}/${counts.b}`);
  // Back to a valid config: accepted again.
  cache.setSnapshot(NODE_ID, snapshot([50, 50], { routeStamp: 'after-nack' }));
  await waitFor('SYNCED after NACK', () => rdsStatus()?.state === 'SYNCED', 3000);
});

// Reported: grpc-js-xds 1.14 skips an update whose RouteConfiguration content is unchanged even when
// the clusters behind it changed (hence G stamps a version into route metadata). Checked here with
// the route byte-for-byte unchanged: a CDS change (cluster a -> b's endpoints) and then an EDS change
// (a-cla -> b's port) are both applied. A stamp stays harmless: it changes only RDS.
test('cluster and endpoint changes behind an unchanged RouteConfiguration are applied', async () => {
  const base = snapshot([50, 50], { routeStamp: 'after-nack' });
  const routeVersion = cache.getPrepared(NODE_ID)?.types.get(TYPE_URLS.route)?.version;

  const viaCds = snapshot([50, 50], { routeStamp: 'after-nack' });
  const a = viaCds.resources[TYPE_URLS.cluster]?.get('a');
  viaCds.resources[TYPE_URLS.cluster]?.set('a', { ...a, eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'b-cla' } });
  cache.setSnapshot(NODE_ID, viaCds);
  assert.equal(cache.getPrepared(NODE_ID)?.types.get(TYPE_URLS.route)?.version, routeVersion, 'route unchanged');
  await waitFor('CDS ACKed', () => xds.xds.status().every((s) => s.types.CDS?.state === 'SYNCED' && s.types.EDS?.state === 'SYNCED'), 3000);
  await waitFor('calls follow the CDS change', async () => (await split(20)).a === 0, 1000);

  cache.setSnapshot(NODE_ID, base);
  await waitFor('back to 50/50', async () => (await split(40)).a > 0, 1000);
  const viaEds = snapshot([50, 50], { routeStamp: 'after-nack' });
  viaEds.resources[TYPE_URLS.endpoint]?.set('a-cla', { ...viaEds.resources[TYPE_URLS.endpoint]?.get('b-cla'), cluster_name: 'a-cla' });
  cache.setSnapshot(NODE_ID, viaEds);
  assert.equal(cache.getPrepared(NODE_ID)?.types.get(TYPE_URLS.route)?.version, routeVersion, 'route unchanged');
  await waitFor('calls follow the EDS change', async () => (await split(20)).a === 0, 1000);
  const counts = await split(200);
  assert.deepEqual(counts, { a: 0, b: 200 });
});

// What the translator sends for a canary to a subset no DestinationRule defines: the route keeps
// naming the cluster, no Cluster resource exists. grpc-js-xds accepts the RouteConfiguration (no NACK)
// and fails that share's calls with UNAVAILABLE, as Envoy answers it with 503.
test('a weighted cluster with no Cluster resource: no NACK; its share fails with UNAVAILABLE, the rest is served', async () => {
  const missing = snapshot([50, 50], { routeStamp: 'missing-b' });
  missing.resources[TYPE_URLS.cluster]?.delete('b');
  missing.resources[TYPE_URLS.endpoint]?.delete('b-cla');
  cache.setSnapshot(NODE_ID, missing);
  const pushed = cache.getPrepared(NODE_ID)?.types.get(TYPE_URLS.route)?.version;
  await waitFor('ACKed', () => rdsStatus()?.state === 'SYNCED' && rdsStatus()?.sentVersion === pushed && xds.xds.status().every((s) => s.types.CDS?.state === 'SYNCED'), 3000);
  assert.equal(rdsStatus()?.nack, undefined, 'the RouteConfiguration was not NACKed');
  const outcome = (): Promise<string> =>
    new Promise((resolve) => client.Which({}, { deadline: Date.now() + 5000 }, (err, reply) => resolve(err ? `error ${grpc.status[err.code]}` : (reply?.backend ?? '?'))));
  let results: string[] = [];
  await waitFor('no call reaches backend-b', async () => {
    results = await Promise.all(Array.from({ length: 400 }, outcome));
    return !results.includes('backend-b');
  }, 3000);
  const served = results.filter((r) => r === 'backend-a').length;
  const unavailable = results.filter((r) => r === 'error UNAVAILABLE').length;
  assert.equal(served + unavailable, results.length, `only backend-a or UNAVAILABLE: ${results.find((r) => r !== 'backend-a' && r !== 'error UNAVAILABLE')}`);
  assert.ok(chiSquareTest([served, unavailable], [50, 50], SUITE_ALPHA).pass, `50/50 expected, got ${served}/${unavailable}`);
  cache.setSnapshot(NODE_ID, snapshot([50, 50], { routeStamp: 'after-missing' }));
  await waitFor('SYNCED again', () => rdsStatus()?.state === 'SYNCED', 3000);
});
