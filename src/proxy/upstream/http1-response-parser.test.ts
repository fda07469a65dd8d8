// Http1ResponseParser on byte streams split at every position: framing, trailers, 1xx, leftovers, and
// the malformed inputs it must refuse (smuggling material, bad lengths, oversized heads).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderRecord } from '../filters/headers.js';
import { Http1ResponseParser, HttpParseError, type ResponseHead } from './http1-response-parser.js';

interface Parsed {
  head?: ResponseHead;
  body: string;
  trailers?: HeaderRecord;
  consumed: number;
}

/** Feeds `raw` in pieces cut at `cuts` and collects what the parser reported. */
function parse(raw: string, cuts: number[] = [], method = 'GET', maxHeaderBytes = 1024): Parsed {
  const out: Parsed = { body: '', consumed: 0 };
  const parser = new Http1ResponseParser(
    {
      onResponseHead: (h) => (out.head = h),
      onResponseBody: (c) => (out.body += c.toString('latin1')),
      onResponseEnd: (t) => (out.trailers = t),
    },
    maxHeaderBytes,
  );
  parser.expect(method);
  const bytes = Buffer.from(raw, 'latin1');
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    out.consumed += parser.execute(bytes.subarray(from, at));
    from = at;
    if (parser.done) break;
  }
  return out;
}

const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Checksum: abc\r\n\r\n';

test('a chunked response with trailers parses the same at every split point', () => {
  for (let i = 1; i < CHUNKED.length; i++) {
    for (const j of [i + 1, i + 7]) {
      const cuts = j < CHUNKED.length ? [i, j] : [i];
      const got = parse(CHUNKED, cuts);
      assert.equal(got.head?.status, 200, `cuts ${cuts}`);
      assert.deepEqual(got.head?.headers['x-a'], ['1', '2']);
      assert.equal(got.body, 'Wikipedia', `cuts ${cuts}`);
      assert.deepEqual(got.trailers, { 'x-checksum': 'abc' }, `cuts ${cuts}`);
      assert.equal(got.consumed, CHUNKED.length);
    }
  }
});

test('content-length framing stops at the end of the body and reports leftover bytes', () => {
  const raw = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA';
  const got = parse(raw);
  assert.equal(got.body, 'abc');
  assert.equal(got.consumed, raw.length - 'EXTRA'.length);
  assert.equal(got.head?.keepAlive, true);
});

test('1xx responses are skipped; HEAD, 204 and 304 have no body; connection close and HTTP/1.0 turn keep-alive off', () => {
  const got = parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok', [10, 30]);
  assert.equal(got.head?.status, 200);
  assert.equal(got.body, 'ok');
  assert.equal(parse('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n', [], 'HEAD').trailers !== undefined, true);
  assert.equal(parse('HTTP/1.1 204 No Content\r\n\r\n').trailers !== undefined, true);
  assert.equal(parse('HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n').trailers !== undefined, true);
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\ncontent-length: 0\r\n\r\n').head?.keepAlive, false);
  assert.equal(parse('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n').head?.keepAlive, false);
});

test('no length and no chunking: the body runs until the connection closes', () => {
  const out: string[] = [];
  let ended = false;
  const parser = new Http1ResponseParser({ onResponseHead: () => undefined, onResponseBody: (c) => out.push(c.toString()), onResponseEnd: () => (ended = true) }, 1024);
  parser.expect('GET');
  parser.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\npart1'));
  parser.execute(Buffer.from('part2'));
  assert.equal(parser.closeDelimited, true);
  assert.equal(ended, false);
  assert.equal(parser.finish(), true);
  assert.equal(ended, true);
  assert.equal(out.join(''), 'part1part2');
});

test('malformed or dangerous responses are refused', () => {
  const bad = [
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n',
    'HTTP/1.1 200 OK\r\n folded: x\r\n\r\n',
    'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n',
    'HTTP/2 200\r\n\r\n',
    'HTTP/1.1 101 Switching Protocols\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n',
    `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(2000)}\r\n\r\n`,
  ];
  for (const raw of bad) assert.throws(() => parse(raw), HttpParseError, JSON.stringify(raw.slice(0, 60)));
});

test('Transfer-Encoding with Content-Length: chunked wins and the connection is not kept', () => {
  const got = parse('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n');
  assert.equal(got.body, 'z');
  assert.equal(got.head?.keepAlive, false);
});
