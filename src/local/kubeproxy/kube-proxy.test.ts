// kube-proxy with real sockets: ClusterIP listeners opened and closed with Services, connections
// spread over ready endpoints, and endpoint changes followed (fed from a store's watch here; the
// kube-proxy app feeds it from the API server's).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, createServer, type Server } from 'node:net';
import { findByKind, type ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { ObjectStore } from '../store/store.js';
import { startKubeProxy, type KubeProxy } from './kube-proxy.js';

function type(group: string, kind: string): ResourceType {
  const t = findByKind(group, kind);
  assert.ok(t);
  return t;
}
const SERVICES = type('', 'Service');
const SLICES = type('discovery.k8s.io', 'EndpointSlice');
const CLUSTER_IP = '127.237.0.10';
const POD_IPS = ['127.236.0.2', '127.236.0.3'];

/** A backend that answers every connection with its name and closes. */
function backend(name: string, host: string): Promise<Server> {
  const server = createServer((socket) => socket.end(name));
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)));
}

function portOf(server: Server): number {
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/** What a client connecting to host:port reads, or the error code. */
function call(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error:${err.code ?? err.message}`));
  });
}

function slice(endpoints: Array<{ ip: string; ready: boolean }>, targetPort: number): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-x1', namespace: 'sample', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: targetPort, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready } })),
  };
}

describe('startKubeProxy', () => {
  let store: ObjectStore;
  let proxy: KubeProxy;
  let backends: Server[];
  let targetPort: number;
  const logs: string[] = [];

  before(async () => {
    // Both backends on the same port number, as pods of one Deployment are.
    const first = await backend('a', POD_IPS[0]!);
    targetPort = portOf(first);
    const second = createServer((socket) => socket.end('b'));
    await new Promise<void>((resolve) => second.listen(targetPort, POD_IPS[1], resolve));
    backends = [first, second];
    store = openSqliteStore({ path: ':memory:', log: (l) => logs.push(l) });
    proxy = startKubeProxy({ log: (l) => logs.push(l) });
    // What the kube-proxy app's watches do: hand over the whole lists on every change.
    const feed = () => proxy.update(store.list(SERVICES).items, store.list(SLICES).items);
    store.watch(SERVICES, {}, feed);
    store.watch(SLICES, {}, feed);
  });

  after(async () => {
    await proxy.stop();
    await Promise.all(backends.map((b) => new Promise<void>((resolve) => b.close(() => resolve()))));
    store.close();
  });

  it('listens on a new Service ClusterIP:port and spreads connections round robin', async () => {
    store.create(SLICES, slice(POD_IPS.map((ip) => ({ ip, ready: true })), targetPort));
    store.create(SERVICES, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'sample' },
      spec: { clusterIP: CLUSTER_IP, ports: [{ name: 'http', port: 8080, targetPort, protocol: 'TCP' }] },
    });
    await proxy.settled();
    assert.deepEqual(proxy.listening(), [`${CLUSTER_IP}:8080`]);
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await call(CLUSTER_IP, 8080));
    assert.deepEqual(answers.sort(), ['a', 'a', 'a', 'b', 'b', 'b']);
  });

  it('stops sending to an endpoint that is no longer ready', async () => {
    const current = store.get(SLICES, 'sample', 'web-x1');
    assert.ok(current);
    store.update(SLICES, { ...slice([{ ip: POD_IPS[0]!, ready: false }, { ip: POD_IPS[1]!, ready: true }], targetPort), metadata: current.metadata });
    const answers = new Set<string>();
    for (let i = 0; i < 4; i++) answers.add(await call(CLUSTER_IP, 8080));
    assert.deepEqual([...answers], ['b']);
  });

  it('tries the next endpoint when one refuses', async () => {
    const current = store.get(SLICES, 'sample', 'web-x1');
    assert.ok(current);
    // 127.236.0.9 has nothing listening: its connection is refused and the next endpoint serves.
    store.update(SLICES, { ...slice([{ ip: '127.236.0.9', ready: true }, { ip: POD_IPS[0]!, ready: true }], targetPort), metadata: current.metadata });
    const answers = new Set<string>();
    for (let i = 0; i < 4; i++) answers.add(await call(CLUSTER_IP, 8080));
    assert.deepEqual([...answers], ['a']);
    assert.ok(proxy.stats.backendErrors >= 1);
  });

  it('resets connections to a service without endpoints', async () => {
    store.delete(SLICES, 'sample', 'web-x1');
    const answer = await call(CLUSTER_IP, 8080);
    assert.equal(answer, 'error:ECONNRESET');
    assert.ok(proxy.stats.rejectedNoEndpoints >= 1);
  });

  it('closes the listener when the Service goes away', async () => {
    store.delete(SERVICES, 'sample', 'web');
    await proxy.settled();
    assert.deepEqual(proxy.listening(), []);
    // Give the close a moment to release the socket: poll instead of a fixed sleep.
    let answer = '';
    for (let i = 0; i < 50; i++) {
      answer = await call(CLUSTER_IP, 8080);
      if (answer === 'error:ECONNREFUSED') break;
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(answer, 'error:ECONNREFUSED');
  });
});
