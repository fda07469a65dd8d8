// Http1Pool against real node:http servers: responses and their bodies (large ones with backpressure),
// request bodies, trailers, aborts before and after the headers, connect failures and mid-body resets.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { Cancel } from './cancel.js';
import { Http1Pool } from './http1-pool.js';
import { UpstreamFailure } from './types.js';
import { freePort } from '../testutil/upstream.js';

const BIG = Buffer.alloc(4 * 1024 * 1024, 'x');
let server: http.Server;
let origin: string;
const pools: Http1Pool[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/big') {
        res.writeHead(200, { 'content-length': String(BIG.length) });
        res.end(BIG);
      } else if (req.url === '/reset') {
        res.writeHead(200, { 'content-length': '1000000' });
        res.write(Buffer.alloc(1000, 'y'));
        setTimeout(() => res.destroy(), 20);
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2000).unref();
      } else {
        res.writeHead(201, { 'x-host': req.headers.host ?? '', 'x-echo-length': String(body.length) });
        res.end(`hello ${req.method} ${body.toString()}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const p of pools) p.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function pool(o = origin): Http1Pool {
  const p = new Http1Pool(o, 1000);
  pools.push(p);
  return p;
}

function readAll(body: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (c: Buffer) => chunks.push(c));
    body.once('end', () => resolve(Buffer.concat(chunks)));
    body.once('error', reject);
  });
}

test('a request gets status, lower-case headers, body and empty trailers; Host is the authority', async () => {
  const res = await pool().request({ method: 'POST', path: '/x', authority: 'svc.sample:80', headers: { 'x-a': '1' }, body: Buffer.from('payload'), signal: new Cancel() });
  assert.equal(res.status, 201);
  assert.equal(res.headers['x-host'], 'svc.sample:80');
  assert.equal(res.headers['x-echo-length'], '7');
  assert.equal((await readAll(res.body)).toString(), 'hello POST payload');
  assert.deepEqual(await res.trailers(), {});
});

test('a 4 MiB body read slowly arrives whole (backpressure pauses, reading resumes)', { timeout: 10_000 }, async () => {
  const res = await pool().request({ method: 'GET', path: '/big', authority: 'a', headers: {}, body: null, signal: new Cancel() });
  await sleep(50); // let the socket fill while nobody reads
  const got = await readAll(res.body);
  assert.equal(got.length, BIG.length);
  assert.ok(got.equals(BIG));
});

test('an upstream reset mid-body errors the body stream', { timeout: 10_000 }, async () => {
  const res = await pool().request({ method: 'GET', path: '/reset', authority: 'a', headers: {}, body: null, signal: new Cancel() });
  await assert.rejects(readAll(res.body));
});

test('aborting before the response headers rejects with an aborted UpstreamFailure', async () => {
  const cancel = new Cancel();
  const pending = pool().request({ method: 'GET', path: '/slow', authority: 'a', headers: {}, body: null, signal: cancel });
  setTimeout(() => cancel.abort(), 30);
  await assert.rejects(pending, (e: unknown) => e instanceof UpstreamFailure && e.kind === 'aborted');
});

test('an already aborted token rejects at once as aborted', async () => {
  const cancel = new Cancel();
  cancel.abort();
  await assert.rejects(
    pool().request({ method: 'GET', path: '/x', authority: 'a', headers: {}, body: null, signal: cancel }),
    (e: unknown) => e instanceof UpstreamFailure && e.kind === 'aborted',
  );
});

test('destroying the body before its end lets the pool serve the next request', { timeout: 10_000 }, async () => {
  const p = pool();
  const res = await p.request({ method: 'GET', path: '/big', authority: 'a', headers: {}, body: null, signal: new Cancel() });
  res.body.destroy();
  const next = await p.request({ method: 'GET', path: '/x', authority: 'a', headers: {}, body: null, signal: new Cancel() });
  assert.equal((await readAll(next.body)).toString(), 'hello GET ');
});

test('nothing listening: connect-failure', async () => {
  const port = await freePort();
  await assert.rejects(
    pool(`http://127.0.0.1:${port}`).request({ method: 'GET', path: '/', authority: 'a', headers: {}, body: null, signal: new Cancel() }),
    (e: unknown) => e instanceof UpstreamFailure && e.kind === 'connect-failure',
  );
});
