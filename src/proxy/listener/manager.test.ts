// Listener warming, as Envoy does it: no listener takes a connection before the initial config is complete,
// and a listener whose RDS route configuration has not arrived takes none (a new one is not bound; an
// updated one keeps serving its previous version), so a proxy that (re)starts never answers 404 or 503 for
// routes and endpoints it has simply not received yet.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { systemClock } from '../../clock.js';
import { ProxyStats } from '../admin/stats.js';
import { ClusterManager } from '../cluster/manager.js';
import { ConfigStore, type Entry } from '../config/store.js';
import { decodeListener } from '../decode/listener.js';
import { decodeRouteTable } from '../decode/route.js';
import type { Listener } from '../model/listener.js';
import type { RouteTable } from '../model/route.js';
import { httpListener, routeConfig } from '../testutil/envoy.js';
import { freePort } from '../testutil/upstream.js';
import { SecretResolver } from '../tls/secrets.js';
import { ListenerManager } from './manager.js';

function entry<T>(value: T, raw: Record<string, unknown>): Entry<T> {
  return { value, raw, version: '1', lastUpdated: new Date() };
}

function listener(name: string, port: number, routeName: string): Entry<Listener> {
  const raw = httpListener(name, '127.0.0.1', port, routeName);
  const decoded = decodeListener(raw);
  assert.ok(decoded.ok, JSON.stringify(decoded));
  return entry(decoded.value, raw);
}

function routes(name: string, body: string): Entry<RouteTable> {
  const raw = routeConfig(name, [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: body } } }] }]);
  const decoded = decodeRouteTable(raw);
  assert.ok(decoded.ok, JSON.stringify(decoded));
  return entry(decoded.value, raw);
}

/** The status and body of GET / on the port, or the connection error's code. */
function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

test('a listener takes traffic only once its RDS route configuration is here; an update waits for its new routes', async (t) => {
  const store = new ConfigStore();
  const stats = new ProxyStats();
  const log = (): void => undefined;
  const clusters = new ClusterManager(store, { clock: systemClock, random: Math.random, log, onEjection: () => undefined });
  const manager = new ListenerManager(store, { clusters, clock: systemClock, random: Math.random, stats, accessLog: undefined, log }, { drainMs: 0, secrets: new SecretResolver(store, undefined) });
  t.after(() => manager.close());
  const port = await freePort();

  store.apply('listeners', '1', new Map([['l', listener('l', port, 'first')]]), []);
  store.apply('routes', '1', new Map([['first', routes('first', 'one')]]), []);
  await manager.settled();
  assert.equal(await get(port), 'ECONNREFUSED', 'not bound before the initial config is complete (no CDS yet)');

  store.apply('clusters', '1', new Map(), []);
  await manager.settled();
  assert.equal(await get(port), '200 one');

  // A new listener whose route configuration has not arrived is not bound; it is once it has.
  const second = await freePort();
  store.apply('listeners', '2', new Map([['l', listener('l', port, 'first')], ['m', listener('m', second, 'later')]]), []);
  await manager.settled();
  assert.equal(await get(second), 'ECONNREFUSED', 'warming: not bound before its routes arrive');
  store.apply('routes', '2', new Map([['later', routes('later', 'later')]]), []);
  await manager.settled();
  assert.equal(await get(second), '200 later');

  // An update naming a route configuration not received yet: the previous version keeps serving.
  store.apply('listeners', '3', new Map([['l', listener('l', port, 'second')]]), []);
  assert.equal(await get(port), '200 one');
  store.apply('routes', '3', new Map([['second', routes('second', 'two')]]), []);
  assert.equal(await get(port), '200 two');
});
