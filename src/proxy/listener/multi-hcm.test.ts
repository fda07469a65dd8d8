// A listener whose filter chains carry different HTTP connection managers (Istio's gateway with several
// HTTPS servers on one port: a chain per server, matched by SNI, each with its own routes): each
// connection is served by the HCM of the chain it was matched to, over HTTP/1.1, h2 and CONNECT.
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { before, test } from 'node:test';
import { systemClock } from '../../clock.js';
import { makeTestPki, type TestPki } from '../../conformance/tls-pki.js';
import { ProxyStats } from '../admin/stats.js';
import { ClusterManager } from '../cluster/manager.js';
import { ConfigStore } from '../config/store.js';
import { decodeListener } from '../decode/listener.js';
import { decodeRouteTable } from '../decode/route.js';
import { HCM_TYPE, ROUTER_TYPE } from '../testutil/envoy.js';
import { freePort } from '../testutil/upstream.js';
import { SecretResolver } from '../tls/secrets.js';
import { ListenerManager } from './manager.js';

const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };
type Res = Record<string, unknown>;

let pki: TestPki;
before(async () => {
  pki = await makeTestPki();
});

const answering = (name: string, body: string): Res => ({
  name,
  virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: body } } }] }],
});

function hcm(routes: Res, extra: Res = {}): Res {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: { '@type': HCM_TYPE, stat_prefix: 'gw', ...routes, http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }], ...extra },
  };
}

/** A chain for `serverName` serving `cert` (inline) and ending in `manager`. */
function sniChain(serverName: string, cert: { certPem: string; keyPem: string }, manager: Res): Res {
  return {
    name: serverName,
    filter_chain_match: { server_names: [serverName] },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': DOWNSTREAM_TLS,
        common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: cert.certPem }, private_key: { inline_string: cert.keyPem } }], alpn_protocols: ['h2', 'http/1.1'] },
      },
    },
    filters: [manager],
  };
}

function gateway(port: number, chains: Res[]): Res {
  return { name: 'gw', address: { socket_address: { address: '127.0.0.1', port_value: port } }, listener_filters: [TLS_INSPECTOR], filter_chains: chains };
}

/** Chain a.test: inline routes answering 'from-a', CONNECT enabled; chain b.test: inline routes answering 'from-b'. */
const twoServers = (port: number): Res => gateway(port, [
  sniChain('a.test', pki.proxy, hcm({ route_config: answering('a', 'from-a') }, { upgrade_configs: [{ upgrade_type: 'CONNECT' }] })),
  sniChain('b.test', pki.upstream, hcm({ route_config: answering('b', 'from-b') })),
]);

test('decode: chains with different HCMs each carry their own; identical ones share one', () => {
  const r = decodeListener(twoServers(443));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const [a, b] = r.value.chains;
  assert.ok(a?.terminal.kind === 'http' && b?.terminal.kind === 'http');
  assert.notEqual(a.terminal.hcm, b.terminal.hcm);
  assert.deepEqual(r.value.hcms, [a.terminal.hcm, b.terminal.hcm]);
  assert.equal(a.terminal.hcm.connectEnabled, true);
  assert.equal(b.terminal.hcm.connectEnabled, false);

  const same = hcm({ rds: { route_config_name: 'https.443.web.gw.ns', config_source: { ads: {}, resource_api_version: 'V3' } } });
  const shared = decodeListener(gateway(443, [sniChain('a.test', pki.proxy, same), sniChain('b.test', pki.upstream, same)]));
  assert.ok(shared.ok, JSON.stringify(!shared.ok && shared.error));
  assert.equal(shared.value.hcms.length, 1);
  assert.equal(shared.value.chains[0]!.terminal.kind === 'http' && shared.value.chains[0]!.terminal.hcm, shared.value.hcms[0]);
  assert.equal(shared.value.chains[1]!.terminal.kind === 'http' && shared.value.chains[1]!.terminal.hcm, shared.value.hcms[0]);
});

test('decode: what a chain\'s HCM cannot do is still refused, naming the chain', () => {
  const r = decodeListener(gateway(443, [
    sniChain('a.test', pki.proxy, hcm({ route_config: answering('a', 'from-a') })),
    sniChain('b.test', pki.upstream, hcm({ route_config: answering('b', 'from-b') }, { via: 'gw' })),
  ]));
  assert.ok(!r.ok);
  assert.deepEqual(r.error, ['filter_chains[1].filters[0].typed_config.via: is not supported']);
});

function startManager(t: { after: (fn: () => Promise<void>) => void }): { store: ConfigStore; manager: ListenerManager } {
  const store = new ConfigStore();
  const log = (): void => undefined;
  const clusters = new ClusterManager(store, { clock: systemClock, random: Math.random, log, onEjection: () => undefined });
  const manager = new ListenerManager(store, { clusters, clock: systemClock, random: Math.random, stats: new ProxyStats(), accessLog: undefined, log }, { drainMs: 0, secrets: new SecretResolver(store, undefined) });
  t.after(() => manager.close());
  return { store, manager };
}

function applyListener(store: ConfigStore, raw: Res): void {
  const decoded = decodeListener(raw);
  assert.ok(decoded.ok, JSON.stringify(!decoded.ok && decoded.error));
  store.apply('listeners', '1', new Map([['gw', { value: decoded.value, raw, version: '1', lastUpdated: new Date() }]]), []);
}

function httpsGet(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', servername, ca: pki.root.certPem, checkServerIdentity: () => undefined, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

function h2Get(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { servername, ca: pki.root.certPem, checkServerIdentity: () => undefined });
    session.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    const stream = session.request({ ':path': '/', ':authority': 'example.test' });
    let status = 0;
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: Buffer) => (body += c.toString()));
    stream.on('end', () => {
      session.close();
      resolve(`${status} ${body}`);
    });
    stream.end();
  });
}

/** The status line of an HTTP/1.1 CONNECT over TLS with `servername`. */
function connectStatus(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca: pki.root.certPem, checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'] }, () => {
      s.write('CONNECT backend.test:9 HTTP/1.1\r\nhost: backend.test:9\r\n\r\n');
    });
    let seen = '';
    s.on('data', (c: Buffer) => {
      seen += c.toString();
      if (seen.includes('\r\n')) {
        s.destroy();
        resolve(seen.split('\r\n')[0]!);
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test('each connection is served by the HCM of the chain its SNI matched: HTTP/1.1, h2 and CONNECT', async (t) => {
  const { store, manager } = startManager(t);
  const port = await freePort();
  applyListener(store, twoServers(port));
  store.apply('clusters', '1', new Map(), []);
  await manager.settled();
  assert.equal(await httpsGet(port, 'a.test'), '200 from-a');
  assert.equal(await httpsGet(port, 'b.test'), '200 from-b');
  assert.equal(await h2Get(port, 'b.test'), '200 from-b');
  assert.equal(await h2Get(port, 'a.test'), '200 from-a');
  // CONNECT on a.test is routed (no connect route: 404); b.test's HCM has no CONNECT upgrade: 405.
  assert.equal(await connectStatus(port, 'a.test'), 'HTTP/1.1 404 Not Found');
  assert.equal(await connectStatus(port, 'b.test'), 'HTTP/1.1 405 Method Not Allowed');
  assert.equal(await httpsGet(port, 'c.test'), 'ECONNRESET', 'no chain for the name: the connection is closed');
});

test('a listener update reaches connections opened before it: the next request on an open h2 session gets the new HCM', async (t) => {
  const { store, manager } = startManager(t);
  const port = await freePort();
  applyListener(store, twoServers(port));
  store.apply('clusters', '1', new Map(), []);
  await manager.settled();
  const session = http2.connect(`https://127.0.0.1:${port}`, { servername: 'b.test', ca: pki.root.certPem, checkServerIdentity: () => undefined });
  t.after(() => session.close());
  const get = (): Promise<string> => new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/', ':authority': 'example.test' });
    let body = '';
    stream.on('data', (c: Buffer) => (body += c.toString()));
    stream.on('end', () => resolve(body));
    stream.on('error', reject);
    stream.end();
  });
  assert.equal(await get(), 'from-b');
  // As an AuthorizationPolicy changes a chain's HCM (an RBAC filter added): same chain, new manager.
  applyListener(store, gateway(port, [
    sniChain('a.test', pki.proxy, hcm({ route_config: answering('a', 'from-a') }, { upgrade_configs: [{ upgrade_type: 'CONNECT' }] })),
    sniChain('b.test', pki.upstream, hcm({ route_config: answering('b', 'from-b, updated') })),
  ]));
  await manager.settled();
  assert.equal(await get(), 'from-b, updated');
});

test('chains with RDS HCMs: each route configuration is subscribed, and the listener warms until all are here', async (t) => {
  const { store, manager } = startManager(t);
  const port = await freePort();
  const rds = (name: string): Res => ({ rds: { route_config_name: name, config_source: { ads: {}, resource_api_version: 'V3' } } });
  applyListener(store, gateway(port, [sniChain('a.test', pki.proxy, hcm(rds('https.443.a.gw.ns'))), sniChain('b.test', pki.upstream, hcm(rds('https.443.b.gw.ns')))]));
  assert.deepEqual(store.referencedRouteNames(), ['https.443.a.gw.ns', 'https.443.b.gw.ns']);
  const table = (name: string, body: string) => {
    const raw = answering(name, body);
    const decoded = decodeRouteTable(raw);
    assert.ok(decoded.ok);
    return { value: decoded.value, raw, version: '1', lastUpdated: new Date() };
  };
  store.apply('clusters', '1', new Map(), []);
  store.apply('routes', '1', new Map([['https.443.a.gw.ns', table('https.443.a.gw.ns', 'rds-a')]]), []);
  await manager.settled();
  assert.equal(await httpsGet(port, 'a.test'), 'ECONNREFUSED', 'not bound while one of its route configurations is missing');
  store.apply('routes', '2', new Map([['https.443.b.gw.ns', table('https.443.b.gw.ns', 'rds-b')]]), []);
  await manager.settled();
  assert.equal(await httpsGet(port, 'a.test'), '200 rds-a');
  assert.equal(await httpsGet(port, 'b.test'), '200 rds-b');
  // A route update reaches the chain's router (and only that chain's).
  store.apply('routes', '3', new Map([['https.443.b.gw.ns', table('https.443.b.gw.ns', 'rds-b2')]]), []);
  assert.equal(await h2Get(port, 'b.test'), '200 rds-b2');
  assert.equal(await h2Get(port, 'a.test'), '200 rds-a');
});
