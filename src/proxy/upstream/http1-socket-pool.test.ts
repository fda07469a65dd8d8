// Http1SocketPool against real node:http (and raw TCP) servers on 127.0.0.1: framing (content-length,
// chunked, trailers, close-delimited, HEAD, 204/304, 1xx), keep-alive reuse and its limits (connection:
// close, HTTP/1.0, server closing idle connections, stale-connection replay), request bodies, aborts,
// backpressure, failures (refused, reset mid-body, oversized head) and the idle timeout.

import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough, Readable } from 'node:stream';
import { ManualClock } from '../../clock.js';
import { Cancel } from './cancel.js';
import { Http1SocketPool } from './http1-socket-pool.js';
import { UpstreamFailure, type UpstreamRequest } from './types.js';
import { freePort } from '../testutil/upstream.js';

const BIG = Buffer.alloc(4 * 1024 * 1024, 'x');
let server: http.Server;
let origin: string;
const pools: Http1SocketPool[] = [];
const rawServers: net.Server[] = [];
/** Sockets the node:http server accepted, in order. */
const accepted: net.Socket[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    if (req.url === '/early') {
      // Answers before reading the request body (as a server refusing an upload does).
      res.writeHead(413, { 'content-length': '4' });
      res.end('nope');
      return;
    }
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = req.url ?? '/';
      if (url === '/big') {
        res.writeHead(200, { 'content-length': String(BIG.length) });
        res.end(BIG);
      } else if (url === '/reset') {
        res.writeHead(200, { 'content-length': '1000000' });
        res.write(Buffer.alloc(1000, 'y'));
        setTimeout(() => res.destroy(), 20);
      } else if (url === '/slow') {
        setTimeout(() => res.end('late'), 2000).unref();
      } else if (url === '/delay') {
        setTimeout(() => res.end(`delayed ${req.socket.remotePort}`), 30);
      } else if (url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('one,');
        setTimeout(() => res.end('two'), 10);
      } else if (url === '/trailers') {
        res.writeHead(200, { trailer: 'x-checksum, x-other' });
        res.write('data');
        res.addTrailers({ 'x-checksum': 'abc', 'X-Other': '1' });
        res.end();
      } else if (url === '/no-content') {
        res.writeHead(204, { 'x-kind': 'none' });
        res.end();
      } else if (url === '/not-modified') {
        res.writeHead(304, { etag: '"v1"' });
        res.end();
      } else if (url === '/early-hints') {
        res.writeEarlyHints({ link: '</style.css>; rel=preload' });
        res.writeContinue();
        setTimeout(() => res.end('final'), 10);
      } else if (url === '/multi') {
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.setHeader('x-multi', ['p', 'q']);
        res.end('multi');
      } else if (url === '/close') {
        res.writeHead(200, { connection: 'close', 'content-length': '5' });
        res.end('bye!!');
      } else if (url === '/huge-head') {
        res.writeHead(200, { 'x-huge': 'h'.repeat(100 * 1024), 'content-length': '0' });
        res.end();
      } else if (url === '/echo-framing') {
        res.end(JSON.stringify({ te: req.headers['transfer-encoding'] ?? null, cl: req.headers['content-length'] ?? null, expect: req.headers['expect'] ?? null, body: body.toString() }));
      } else {
        res.writeHead(201, { 'x-host': req.headers.host ?? '', 'x-echo-length': String(body.length) });
        res.end(`hello ${req.method} ${body.toString()}`);
      }
    });
  });
  server.on('connection', (s: net.Socket) => accepted.push(s));
  // node:http would otherwise answer "Expect: 100-continue" itself; the pool strips Expect anyway.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const p of pools) p.destroy();
  for (const s of rawServers) s.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function pool(o = origin, options: ConstructorParameters<typeof Http1SocketPool>[2] = {}): Http1SocketPool {
  const p = new Http1SocketPool(o, 1000, options);
  pools.push(p);
  return p;
}

function get(path: string, extra: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return { method: 'GET', path, authority: 'svc.sample:80', headers: {}, body: null, signal: new Cancel(), ...extra };
}

function readAll(body: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (c: Buffer) => chunks.push(c));
    body.once('end', () => resolve(Buffer.concat(chunks)));
    body.once('error', reject);
  });
}

/** A raw TCP server: `onRequest(socket, n)` runs for the n-th request head (1-based, per connection). */
async function rawServer(onRequest: (socket: net.Socket, n: number, head: string) => void): Promise<string> {
  const srv = net.createServer((socket) => {
    let n = 0;
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        onRequest(socket, ++n, head);
      }
    });
    socket.on('error', () => undefined);
  });
  rawServers.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

const isFailure = (kind: string) => (e: unknown) => e instanceof UpstreamFailure && e.kind === kind;

test('content-length response: status, lower-case headers, body, empty trailers; Host is the authority; connection reused', async () => {
  const p = pool();
  const res = await p.request(get('/x', { method: 'POST', headers: { 'x-a': '1' }, body: Buffer.from('payload') }));
  assert.equal(res.status, 201);
  assert.equal(res.headers['x-host'], 'svc.sample:80');
  assert.equal(res.headers['x-echo-length'], '7');
  assert.equal((await readAll(res.body)).toString(), 'hello POST payload');
  assert.deepEqual(await res.trailers(), {});
  const again = await p.request(get('/x'));
  assert.equal((await readAll(again.body)).toString(), 'hello GET ');
  assert.equal(p.size, 1, 'the second request reused the first connection');
});

test('chunked response bodies arrive whole', async () => {
  const res = await pool().request(get('/chunked'));
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  assert.equal((await readAll(res.body)).toString(), 'one,two');
});

test('trailers of a chunked response come out of trailers(), lower-cased', async () => {
  const p = pool();
  const res = await p.request(get('/trailers'));
  assert.equal((await readAll(res.body)).toString(), 'data');
  assert.deepEqual(await res.trailers(), { 'x-checksum': 'abc', 'x-other': '1' });
  const next = await p.request(get('/x'));
  assert.equal(next.status, 201);
  await readAll(next.body);
  assert.equal(p.size, 1);
});

test('repeated response headers become arrays', async () => {
  const res = await pool().request(get('/multi'));
  assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
  assert.deepEqual(res.headers['x-multi'], ['p', 'q']);
  await readAll(res.body);
});

test('HEAD, 204 and 304 responses have no body and keep the connection', async () => {
  const p = pool();
  const head = await p.request(get('/x', { method: 'HEAD' }));
  assert.equal(head.status, 201);
  assert.equal((await readAll(head.body)).length, 0);
  const none = await p.request(get('/no-content'));
  assert.equal(none.status, 204);
  assert.equal(none.headers['x-kind'], 'none');
  assert.equal((await readAll(none.body)).length, 0);
  const nm = await p.request(get('/not-modified'));
  assert.equal(nm.status, 304);
  assert.equal((await readAll(nm.body)).length, 0);
  const last = await p.request(get('/x'));
  assert.equal((await readAll(last.body)).toString(), 'hello GET ');
  assert.equal(p.size, 1);
});

test('1xx interim responses (103, 100) are skipped: the final response is the one returned', async () => {
  const res = await pool().request(get('/early-hints'));
  assert.equal(res.status, 200);
  assert.equal((await readAll(res.body)).toString(), 'final');
});

test('a close-delimited body (no length, no chunking) ends with the connection, which is not reused', async () => {
  const o = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end'));
  const p = pool(o);
  const res = await p.request(get('/'));
  assert.equal((await readAll(res.body)).toString(), 'until the end');
  const again = await p.request(get('/'));
  assert.equal((await readAll(again.body)).toString(), 'until the end');
});

test('connection: close and HTTP/1.0 responses are not reused', async () => {
  const p = pool();
  const res = await p.request(get('/close'));
  assert.equal((await readAll(res.body)).toString(), 'bye!!');
  await sleep(20);
  assert.equal(p.size, 0);
  const o = await rawServer((socket) => socket.write('HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok'));
  const p10 = pool(o);
  const r10 = await p10.request(get('/'));
  assert.equal((await readAll(r10.body)).toString(), 'ok');
  await sleep(20);
  assert.equal(p10.size, 0, 'the HTTP/1.0 connection was closed, not kept');
});

test('the server closing an idle keep-alive connection: the next request opens a new one', async () => {
  const p = pool();
  const first = await p.request(get('/x'));
  await readAll(first.body);
  const before = accepted.length;
  accepted[accepted.length - 1].destroy(); // what a server's keep-alive timeout does
  await sleep(20);
  assert.equal(p.size, 0);
  const second = await p.request(get('/x'));
  assert.equal((await readAll(second.body)).toString(), 'hello GET ');
  assert.equal(accepted.length, before + 1);
});

test('a reused connection closed before any response byte: the request is replayed once on a new connection', async () => {
  let connections = 0;
  const o = await rawServer((socket, n) => {
    if (n === 1) {
      connections++;
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${connections}`);
    } else socket.destroy(); // the keep-alive race: the server had given up on this connection
  });
  const p = pool(o);
  assert.equal((await readAll((await p.request(get('/'))).body)).toString(), '1');
  const res = await p.request(get('/', { method: 'POST', body: Buffer.from('again') }));
  assert.equal((await readAll(res.body)).toString(), '2');
});

test('a fresh connection closed before any response byte is a reset, not replayed', async () => {
  let heads = 0;
  const o = await rawServer((socket) => {
    heads++;
    socket.destroy();
  });
  await assert.rejects(pool(o).request(get('/')), isFailure('reset'));
  assert.equal(heads, 1);
});

test('nothing listening: connect-failure', async () => {
  const port = await freePort();
  await assert.rejects(pool(`http://127.0.0.1:${port}`).request(get('/')), isFailure('connect-failure'));
});

test('an upstream reset mid-body errors the body stream', { timeout: 10_000 }, async () => {
  const res = await pool().request(get('/reset'));
  await assert.rejects(readAll(res.body));
});

test('aborting before the response headers rejects with an aborted UpstreamFailure and frees the pool', async () => {
  const p = pool();
  const cancel = new Cancel();
  const pending = p.request(get('/slow', { signal: cancel }));
  setTimeout(() => cancel.abort(), 30);
  await assert.rejects(pending, isFailure('aborted'));
  await sleep(20);
  assert.equal(p.size, 0, 'the connection with an unanswered request was closed');
});

test('aborting mid-body errors the body and closes the connection', { timeout: 10_000 }, async () => {
  const p = pool();
  const cancel = new Cancel();
  const res = await p.request(get('/big', { signal: cancel }));
  const read = readAll(res.body);
  cancel.abort();
  await assert.rejects(read, isFailure('aborted'));
  await sleep(20);
  assert.equal(p.size, 0);
});

test('an already aborted token rejects at once as aborted', async () => {
  const cancel = new Cancel();
  cancel.abort();
  await assert.rejects(pool().request(get('/x', { signal: cancel })), isFailure('aborted'));
});

test('a 4 MiB body read slowly arrives whole (backpressure pauses the socket, reading resumes it)', { timeout: 10_000 }, async () => {
  const p = pool();
  const res = await p.request(get('/big'));
  await sleep(50); // let the socket fill while nobody reads
  assert.ok(res.body.readableLength <= 256 * 1024, `buffered ${res.body.readableLength} bytes: backpressure did not pause the socket`);
  const got = await readAll(res.body);
  assert.equal(got.length, BIG.length);
  assert.ok(got.equals(BIG));
});

test('destroying the body before its end lets the pool serve the next request', { timeout: 10_000 }, async () => {
  const p = pool();
  const res = await p.request(get('/big'));
  res.body.destroy();
  const next = await p.request(get('/x'));
  assert.equal((await readAll(next.body)).toString(), 'hello GET ');
});

test('request bodies: Buffer with content-length, Readable chunked, Readable with its content-length; Expect is not forwarded', async () => {
  const p = pool();
  const framing = async (req: UpstreamRequest): Promise<{ te: string | null; cl: string | null; expect: string | null; body: string }> =>
    JSON.parse((await readAll((await p.request(req)).body)).toString()) as { te: string | null; cl: string | null; expect: string | null; body: string };
  assert.deepEqual(await framing(get('/echo-framing', { method: 'POST', body: Buffer.from('abc'), headers: { expect: '100-continue' } })), { te: null, cl: '3', expect: null, body: 'abc' });
  assert.deepEqual(await framing(get('/echo-framing', { method: 'POST', body: Readable.from([Buffer.from('x'), Buffer.from('yz')]) })), { te: 'chunked', cl: null, expect: null, body: 'xyz' });
  assert.deepEqual(await framing(get('/echo-framing', { method: 'PUT', headers: { 'content-length': '4' }, body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]) })), {
    te: null,
    cl: '4',
    expect: null,
    body: 'abcd',
  });
  assert.deepEqual(await framing(get('/echo-framing', { method: 'POST' })), { te: null, cl: '0', expect: null, body: '' });
  assert.equal(p.size, 1, 'all on one keep-alive connection');
});

test('a large streamed request body goes through with backpressure', { timeout: 10_000 }, async () => {
  const parts = Array.from({ length: 64 }, () => Buffer.alloc(64 * 1024, 'z'));
  const res = await pool().request(get('/x', { method: 'POST', body: Readable.from(parts) }));
  assert.equal(res.headers['x-echo-length'], String(64 * 64 * 1024));
  await readAll(res.body);
});

test('concurrent requests use one connection each: no pipelining', async () => {
  const p = pool();
  const results = await Promise.all(Array.from({ length: 5 }, () => p.request(get('/delay')).then((r) => readAll(r.body))));
  const ports = new Set(results.map((b) => b.toString()));
  assert.equal(ports.size, 5, 'five requests in flight took five connections');
  assert.equal(p.size, 5);
});

test('requests beyond maxConnections wait for a free connection', async () => {
  const p = pool(origin, { maxConnections: 2 });
  const results = await Promise.all(Array.from({ length: 6 }, () => p.request(get('/delay')).then((r) => readAll(r.body))));
  assert.equal(results.length, 6);
  assert.equal(new Set(results.map((b) => b.toString())).size, 2);
});

test('a response head over the size limit is a reset with a clear message', async () => {
  await assert.rejects(pool().request(get('/huge-head')), (e: unknown) => e instanceof UpstreamFailure && e.kind === 'reset' && /larger than 81920 bytes/.test(e.message));
});

test('a malformed response is a reset; a header value with CR/LF is refused before anything is written', async () => {
  const o = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nbad header line\r\n\r\n'));
  await assert.rejects(pool(o).request(get('/')), (e: unknown) => e instanceof UpstreamFailure && e.kind === 'reset' && /malformed/.test(e.message));
  await assert.rejects(pool().request(get('/x', { headers: { 'x-evil': 'a\r\nx-injected: 1' } })), isFailure('reset'));
});

test('idle connections are closed after the idle timeout (injected clock)', async () => {
  const clock = new ManualClock(1000);
  const p = pool(origin, { clock, idleTimeoutMs: 60_000 });
  await readAll((await p.request(get('/x'))).body);
  assert.equal(p.idleCount, 1);
  clock.advance(59_000);
  assert.equal(p.idleCount, 1);
  clock.advance(7_000);
  assert.equal(p.idleCount, 0);
  await sleep(20);
  assert.equal(p.size, 0);
});

test('close() waits for in-flight requests, then closes every connection', async () => {
  const p = pool();
  const inFlight = p.request(get('/delay'));
  const closed = p.close();
  await assert.rejects(p.request(get('/x')), isFailure('reset'));
  const res = await inFlight;
  assert.match((await readAll(res.body)).toString(), /^delayed /);
  await closed;
  assert.equal(p.size, 0);
});

test('takeWholeBody: the body of a response that arrived whole, once; undefined while a body is still coming', { timeout: 10_000 }, async () => {
  const p = pool();
  const small = await p.request(get('/x'));
  await sleep(10);
  const whole = small.takeWholeBody?.();
  assert.equal(whole?.toString(), 'hello GET ');
  assert.equal(small.takeWholeBody?.(), undefined, 'taken once');
  assert.deepEqual(await small.trailers(), {});
  const big = await p.request(get('/big'));
  assert.equal(big.takeWholeBody?.(), undefined, '4 MiB do not arrive with the headers');
  assert.equal((await readAll(big.body)).length, BIG.length);
  const next = await p.request(get('/x'));
  assert.equal((await readAll(next.body)).toString(), 'hello GET ');
  assert.equal(p.size, 1, 'the connection was reused after each');
});

test('a response that ends before its streamed request body: delivered, and the connection is not kept waiting', async () => {
  const p = pool();
  const upload = new PassThrough();
  upload.write(Buffer.alloc(1024, 'u'));
  const res = await p.request(get('/early', { method: 'POST', body: upload }));
  assert.equal(res.status, 413);
  assert.equal((await readAll(res.body)).toString(), 'nope');
  await sleep(20);
  assert.equal(p.size, 0, 'closed rather than left waiting for the rest of the upload');
  assert.equal(upload.listenerCount('data'), 0, 'the pool let go of the request body');
  upload.destroy();
});
