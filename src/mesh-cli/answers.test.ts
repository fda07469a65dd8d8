import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { describe, it } from 'node:test';
import { CurlOutputParser, outcomeOf, parseBody, writeOutFormat, type Answer } from './answers.js';
import { curlCommand, curlConfig, requestOf } from './traffic.js';

const M = '@@meshwork-test';

describe('curl output parser', () => {
  it('splits bodies at the marker lines, whatever the chunk boundaries', () => {
    const stream = `Hello version: v1, instance: helloworld-v1-abc\n\n${M} 200 0\nHello version: v2, instance: helloworld-v2-x\n\n${M} 200 0\nupstream connect error\n${M} 503 0\n\n${M} 000 7\n`;
    for (const size of [1, 3, 7, stream.length]) {
      const parser = new CurlOutputParser(M);
      const answers: Answer[] = [];
      for (let i = 0; i < stream.length; i += size) answers.push(...parser.push(stream.slice(i, i + size)));
      assert.deepEqual(answers, [
        { status: 200, curlExit: 0, body: 'Hello version: v1, instance: helloworld-v1-abc', version: 'v1', instance: 'helloworld-v1-abc' },
        { status: 200, curlExit: 0, body: 'Hello version: v2, instance: helloworld-v2-x', version: 'v2', instance: 'helloworld-v2-x' },
        { status: 503, curlExit: 0, body: 'upstream connect error' },
        { status: 0, curlExit: 7, body: '' },
      ], `chunk size ${size}`);
      assert.equal(parser.leftover(), '');
    }
  });

  it('keeps a cut-off transfer as leftover; a marker-like line with another tag is body', () => {
    const parser = new CurlOutputParser(M);
    assert.deepEqual(parser.push('@@meshwork-other 200 0\nHello ver'), []);
    assert.equal(parser.leftover(), '@@meshwork-other 200 0\nHello ver');
  });

  it('outcomes: transport errors, HTTP errors, answers without a version', () => {
    assert.deepEqual(outcomeOf({ status: 200, curlExit: 0, body: '', version: 'v1' }), { ok: true, version: 'v1' });
    assert.deepEqual(outcomeOf({ status: 0, curlExit: 28, body: '' }), { ok: false, reason: 'curl exit 28' });
    assert.deepEqual(outcomeOf({ status: 503, curlExit: 0, body: 'x' }), { ok: false, reason: 'HTTP 503' });
    assert.deepEqual(outcomeOf({ status: 200, curlExit: 0, body: 'hi' }), { ok: false, reason: 'answer names no version' });
    assert.deepEqual(parseBody('Hello version: v2, instance: hw-2\n'), { version: 'v2', instance: 'hw-2' });
  });

  it('the URL as curl sends it through an HTTP proxy: Host with a non-default port', () => {
    assert.deepEqual(requestOf('http://helloworld.sample:5000/hello?x=1'), { host: 'helloworld.sample:5000', path: '/hello?x=1' });
    assert.deepEqual(requestOf('http://helloworld.sample:80/'), { host: 'helloworld.sample', path: '/' });
    assert.throws(() => requestOf('https://a/'), /only http:\/\//);
    assert.equal(curlConfig('http://a/"q"', 2), 'url = "http://a/\\"q\\""\nurl = "http://a/\\"q\\""\n');
  });

  it('real curl: one run, many URLs from stdin, one marker per transfer, failures included', async () => {
    const server: Server = createServer((req, res) => {
      if (req.url === '/hello') res.end('Hello version: v9, instance: local-1\n');
      else {
        res.statusCode = 404;
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const [cmd, ...args] = curlCommand(M, 5);
      const config = curlConfig(`http://127.0.0.1:${port}/hello`, 3) + curlConfig(`http://127.0.0.1:${port}/nope`, 1) + curlConfig('http://127.0.0.1:1/', 1);
      // curl exits non-zero (its last transfer failed): its stdout is what matters.
      const stdout = await new Promise<string>((resolve, reject) => {
        const c = execFile(cmd, args, { timeout: 10_000 }, (err, out) => (typeof out === 'string' ? resolve(out) : reject(err)));
        c.stdin?.end(config);
      });
      const parser = new CurlOutputParser(M);
      const answers = parser.push(stdout);
      assert.deepEqual(answers.map((a) => outcomeOf(a)), [
        { ok: true, version: 'v9', instance: 'local-1' },
        { ok: true, version: 'v9', instance: 'local-1' },
        { ok: true, version: 'v9', instance: 'local-1' },
        { ok: false, reason: 'HTTP 404' },
        { ok: false, reason: 'curl exit 7' },
      ]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('the write-out format is curl\'s escape, not a raw newline', () => {
    assert.equal(writeOutFormat(M), `\\n${M} %{http_code} %{exitcode}\\n`);
  });
});
