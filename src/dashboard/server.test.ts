// The dashboard server on loopback with a fixture source: the state as JSON and as Server-Sent Events from
// one collect loop however many pages listen, the page's files with their content types, paths that try to
// leave the bundle directory refused, other methods and foreign Host headers refused, a failing collect
// shown as a problem on the last good state, and close ending every stream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDashboardServer, type DashboardServer } from './server.js';
import type { DashboardSource, DashboardState } from './model.js';
import { FixtureSource } from '../../test/helpers/dashboard-fixture.js';
import { until } from '../../test/helpers/until.js';

const HOST = '127.241.0.1';

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A raw request: the path goes on the wire exactly as given (fetch would normalise `..` away). */
function get(port: number, path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path, method: opts.method ?? 'GET', headers: { host: opts.host ?? `${HOST}:${port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Follows GET /api/events, parsing frames; `ended` resolves when the server ends the stream. */
function follow(port: number) {
  const states: DashboardState[] = [];
  const comments: string[] = [];
  let contentType = '';
  let buffer = '';
  let response: IncomingMessage | undefined;
  const ended = new Promise<void>((resolve, reject) => {
    const req = request({ host: HOST, port, path: '/api/events', headers: { host: `${HOST}:${port}` } }, (res) => {
      response = res;
      contentType = String(res.headers['content-type']);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = frame.split('\n');
          for (const line of lines) if (line.startsWith(':')) comments.push(line);
          if (lines.includes('event: state')) {
            const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            states.push(JSON.parse(data) as DashboardState);
          }
        }
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  return { states, comments, ended, contentType: () => contentType, destroy: () => response?.destroy() };
}

describe('dashboard server', () => {
  let staticDir: string;
  let outside: string;

  before(async () => {
    outside = await mkdtemp(join(tmpdir(), 'meshwork-dashboard-'));
    staticDir = join(outside, 'ui');
    await mkdir(join(staticDir, 'assets'), { recursive: true });
    await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>dashboard</title>');
    await writeFile(join(staticDir, 'assets', 'index-abc.js'), 'console.log("page")');
    await writeFile(join(staticDir, 'assets', 'index-abc.css'), 'body{}');
    await writeFile(join(outside, 'secret.txt'), 'SECRET');
  });
  after(() => rm(outside, { recursive: true, force: true }));

  async function withServer(fn: (server: DashboardServer, source: FixtureSource, log: string[]) => Promise<void>, refreshMs = 100, heartbeatMs?: number): Promise<void> {
    const source = new FixtureSource();
    const log: string[] = [];
    const server = await startDashboardServer({ host: HOST, port: 0, source, refreshMs, staticDir, log: (l) => log.push(l), ...(heartbeatMs ? { heartbeatMs } : {}) });
    try {
      await fn(server, source, log);
    } finally {
      await server.close();
    }
  }

  test('GET /api/state is the latest state as JSON; /healthz answers', async () => {
    await withServer(async (server, source) => {
      assert.equal(server.url, `http://${HOST}:${server.port}/`);
      const first = await get(server.port, '/api/state');
      assert.equal(first.status, 200);
      assert.match(String(first.headers['content-type']), /^application\/json/);
      assert.equal(first.headers['cache-control'], 'no-store');
      const state = JSON.parse(first.body) as DashboardState;
      assert.deepEqual(state.clusters.map((c) => c.name), ['cluster-1', 'cluster-2']);
      await until('two more collect rounds', 5000, async () => (source.rounds >= 3 ? true : undefined));
      const later = JSON.parse((await get(server.port, '/api/state')).body) as DashboardState;
      assert.ok(later.collectedAt > state.collectedAt, `${later.collectedAt} after ${state.collectedAt}`);
      const health = await get(server.port, '/healthz');
      assert.equal(health.status, 200);
      assert.equal(health.body, 'ok\n');
    });
  });

  test('SSE delivers the current state at once, then every refresh, from one collect loop for all pages', async () => {
    await withServer(async (server, source) => {
      const pages = [follow(server.port), follow(server.port), follow(server.port)];
      const roundsAtStart = source.rounds;
      await until('five states on every page', 10_000, async () => (pages.every((p) => p.states.length >= 5) ? true : undefined));
      const rounds = source.rounds - roundsAtStart;
      for (const page of pages) {
        assert.match(page.contentType(), /^text\/event-stream/);
        const times = page.states.map((s) => s.collectedAt);
        assert.deepEqual([...times].sort(), times, 'states arrive in order');
        assert.equal(new Set(times).size, times.length, 'each refresh once');
      }
      // Three pages, one loop: about one collect per state a page received, not three.
      assert.ok(rounds <= pages[0]!.states.length + 1, `${rounds} collects for ${pages[0]!.states.length} states per page`);
      pages.forEach((p) => p.destroy());
    });
  });

  test('idle streams get heartbeat comments', async () => {
    await withServer(async (server) => {
      const page = follow(server.port);
      await until('two heartbeats', 5000, async () => (page.comments.filter((c) => c.startsWith(': heartbeat')).length >= 2 ? true : undefined));
      page.destroy();
    }, 60_000, 100);
  });

  test('close ends every event stream and stops collecting', async () => {
    const source = new FixtureSource();
    const server = await startDashboardServer({ host: HOST, port: 0, source, refreshMs: 50, staticDir });
    const page = follow(server.port);
    await until('a state', 5000, async () => (page.states.length > 0 ? true : undefined));
    await server.close();
    await page.ended; // the stream ended cleanly (an error would reject)
    const rounds = source.rounds;
    await sleep(200);
    assert.equal(source.rounds, rounds, 'no collect after close');
    assert.equal(source.closed, false, 'the source belongs to its owner, who closes it');
    await assert.rejects(get(server.port, '/healthz'), /ECONNREFUSED/);
  });

  test('static files with their content types; index.html at /', async () => {
    await withServer(async (server) => {
      const index = await get(server.port, '/');
      assert.equal(index.status, 200);
      assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(index.body, /<title>dashboard<\/title>/);
      assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
      assert.equal(index.headers['x-content-type-options'], 'nosniff');
      const js = await get(server.port, '/assets/index-abc.js?v=1');
      assert.equal(js.status, 200);
      assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.match(String(js.headers['cache-control']), /immutable/);
      const css = await get(server.port, '/assets/index-abc.css');
      assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
      assert.equal((await get(server.port, '/assets/missing.js')).status, 404);
      assert.equal((await get(server.port, '/assets')).status, 404, 'a directory is not a file');
    });
  });

  test('paths that leave the bundle directory are refused', async () => {
    await withServer(async (server) => {
      const attempts = [
        '/../secret.txt',
        '/assets/../../secret.txt',
        '/%2e%2e/secret.txt',
        '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
        '/..%2fsecret.txt',
        '/..%5csecret.txt',
        '/%2e%2e%5csecret.txt',
        '//' + join(outside, 'secret.txt'),
        '/' + encodeURIComponent(join(outside, 'secret.txt')),
        '/index.html%00.js',
        '/%E0%A4%A',
      ];
      for (const path of attempts) {
        const reply = await get(server.port, path);
        assert.ok([400, 403, 404].includes(reply.status), `${path}: ${reply.status}`);
        assert.doesNotMatch(reply.body, /SECRET/, path);
      }
    });
  });

  test('only GET, and only to an IP address or localhost', async () => {
    await withServer(async (server) => {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const reply = await get(server.port, '/api/state', { method });
        assert.equal(reply.status, 405, method);
        assert.equal(reply.headers.allow, 'GET');
      }
      assert.equal((await get(server.port, '/api/state', { host: 'attacker.example:80' })).status, 421);
      assert.equal((await get(server.port, '/healthz', { host: `localhost:${server.port}` })).status, 200);
    });
  });

  test('a failing collect keeps the last state, shows the failure as a problem, logs it once, and recovers', async () => {
    await withServer(async (server, source, log) => {
      const page = follow(server.port);
      await until('a good state', 5000, async () => (page.states.length > 0 ? true : undefined));
      source.failWith = 'cluster-2: connect ECONNREFUSED 127.56.0.1:15014';
      const failed = await until('a state with the failure', 5000, async () => page.states.find((s) => s.problems.some((p) => p.includes('ECONNREFUSED'))));
      assert.match(failed.problems.at(-1)!, /^collect failed at .*: cluster-2: connect ECONNREFUSED/);
      assert.equal(failed.topology.nodes.length, page.states[0]!.topology.nodes.length, 'the last good topology is kept');
      await sleep(350); // more failing rounds
      assert.equal(log.filter((l) => l.includes('collect failed')).length, 1, log.join('\n'));
      const viaApi = JSON.parse((await get(server.port, '/api/state')).body) as DashboardState;
      assert.equal(viaApi.problems.filter((p) => p.includes('ECONNREFUSED')).length, 1, 'problems do not pile up round after round');
      source.failWith = undefined;
      await until('a state without problems', 5000, async () => (page.states.at(-1)!.problems.length === 0 ? true : undefined));
      assert.ok(log.some((l) => l.includes('collect recovered')), log.join('\n'));
      page.destroy();
    });
  });

  test('a collect that fails before any success still serves a state naming the failure', async () => {
    const source = new FixtureSource();
    source.failWith = 'no kubeconfig context reachable';
    const server = await startDashboardServer({ host: HOST, port: 0, source, refreshMs: 100, staticDir, log: () => {} });
    try {
      const state = JSON.parse((await get(server.port, '/api/state')).body) as DashboardState;
      assert.equal(state.clusters.length, 0);
      assert.match(state.problems[0]!, /no kubeconfig context reachable/);
    } finally {
      await server.close();
    }
  });

  test('the port in use is a clear error', async () => {
    await withServer(async (server) => {
      await assert.rejects(startDashboardServer({ host: HOST, port: server.port, source: new FixtureSource(), staticDir }), /EADDRINUSE/);
    });
  });

  test('without a built page, / says how to build it', async () => {
    const source = new FixtureSource();
    const server = await startDashboardServer({ host: HOST, port: 0, source, staticDir: join(outside, 'not-built') });
    try {
      const reply = await get(server.port, '/');
      assert.equal(reply.status, 500);
      assert.match(reply.body, /not built .* run npm run build/);
    } finally {
      await server.close();
    }
  });
});

describe('dashboard server: a collect that never ends', () => {
  test('close still ends; a page waiting for the first state is answered', async () => {
    const never: DashboardSource = { collect: () => new Promise<DashboardState>(() => {}), close: async () => {} };
    const server = await startDashboardServer({ host: HOST, port: 0, source: never, staticDir: tmpdir() });
    const waiting = get(server.port, '/api/state');
    await sleep(100);
    const closing = server.close();
    // The collect in flight never settles: close must not wait on it forever.
    const outcome = await Promise.race([closing.then(() => 'closed'), sleep(5000).then(() => 'hung')]);
    assert.equal(outcome, 'closed');
    const reply = await waiting;
    assert.equal(reply.status, 200);
    assert.match((JSON.parse(reply.body) as DashboardState).problems[0]!, /stopped before its first collect/);
  });
});
