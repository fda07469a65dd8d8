// Response bodies through the whole proxy: a large body to a slow reader arrives whole (backpressure on
// both sides), an upstream reset mid-body cuts the downstream response, and a client leaving mid-body
// does not stop the proxy from serving the next request.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { edsCluster, httpListener, loadAssignment, routeConfig } from './testutil/envoy.js';
import { proxyGet, startHarness, type Harness } from './testutil/harness.js';
import { freePort } from './testutil/upstream.js';

const BIG = Buffer.alloc(8 * 1024 * 1024, 'z');
let upstream: http.Server;
let port: number;
let h: Harness;

before(async () => {
  upstream = http.createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': String(BIG.length) });
      res.end(BIG);
    } else if (req.url === '/reset') {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(1000, 'y'));
      setTimeout(() => res.destroy(), 20);
    } else {
      res.end('small');
    }
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  port = await freePort();
  h = await startHarness({
    listeners: [httpListener('outbound', '127.0.0.1', port, 'routes')],
    routes: [routeConfig('routes', [{ name: 'stream', domains: ['stream.sample:80'], routes: [{ match: { prefix: '/' }, route: { cluster: 'stream' } }] }])],
    clusters: [edsCluster('stream')],
    endpoints: [loadAssignment('stream', [{ port: upstreamPort }])],
  });
});

after(async () => {
  await h.close();
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

/** GETs through the proxy, pausing `pauseMs` before reading; resolves with the bytes or the error. */
function fetchRaw(path: string, pauseMs: number): Promise<{ status: number; bytes: Buffer } | { error: Error }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: `http://stream.sample:80${path}`, headers: { host: 'stream.sample:80' }, agent: false }, (res) => {
      res.pause();
      const chunks: Buffer[] = [];
      setTimeout(() => {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.resume();
      }, pauseMs);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks) }));
      res.on('error', (error: Error) => resolve({ error }));
      res.on('aborted', () => resolve({ error: new Error('aborted') }));
    });
    req.on('error', (error: Error) => resolve({ error }));
    req.end();
  });
}

test('an 8 MiB body to a client that starts reading late arrives whole', { timeout: 15_000 }, async () => {
  const r = await fetchRaw('/big', 200);
  assert.ok('bytes' in r, `request failed: ${'error' in r ? r.error.message : ''}`);
  assert.equal(r.status, 200);
  assert.equal(r.bytes.length, BIG.length);
  assert.ok(r.bytes.equals(BIG));
});

test('an upstream reset mid-body cuts the downstream response short', { timeout: 15_000 }, async () => {
  const r = await fetchRaw('/reset', 0);
  // Either the client sees the reset, or the body ends short of its announced length: never a full success.
  if ('bytes' in r) assert.ok(r.bytes.length < 1_000_000, `got a complete ${r.bytes.length}-byte body`);
  else assert.ok(r.error instanceof Error);
});

test('a client leaving mid-body does not disturb the next request', { timeout: 15_000 }, async () => {
  await new Promise<void>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: 'http://stream.sample:80/big', headers: { host: 'stream.sample:80' }, agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined); // destroyed on purpose
    req.end();
  });
  await sleep(50);
  const next = await proxyGet(port, 'http://stream.sample:80/small');
  assert.equal(next.status, 200);
  assert.equal(next.body, 'small');
});
