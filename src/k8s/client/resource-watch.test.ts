import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { CoreV1Api, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { startResourceWatch } from './resource-watch.js';
import { ManualClock } from '../../clock.js';

/** A plain-HTTP stand-in for an API server that fails the first `failures` lists, then serves one Service. */
async function flakyApiServer(failures: number) {
  let lists = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('watch') === 'true') {
      // A watch that stays open with no events.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('');
      return;
    }
    lists++;
    if (lists <= failures) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', message: 'etcd is down', code: 503 }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: [{ metadata: { name: 'web', namespace: 'ns', resourceVersion: '7' }, spec: { ports: [{ port: 80 }] } }] }));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return {
    port,
    lists: () => lists,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function until(check: () => boolean): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > 5000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a failed list is retried with back-off; the watch syncs once the server answers', async () => {
  const api = await flakyApiServer(2);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${api.port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  const clock = new ManualClock();
  const logs: string[] = [];
  let changes = 0;
  const core = kc.makeApiClient(CoreV1Api);
  const watch = startResourceWatch<V1Service>({
    kubeConfig: kc,
    path: '/api/v1/services',
    list: () => core.listServiceForAllNamespaces(),
    what: 'test services',
    onChange: () => changes++,
    log: (l) => logs.push(l),
    clock,
    retry: { initialMs: 100, maxMs: 1000 },
  });
  try {
    await until(() => watch.errorCount() === 1);
    assert.equal(watch.synced(), false);
    assert.match(watch.lastError() ?? '', /503|etcd/);
    assert.match(logs.join('\n'), /watch test services failed .*retrying in 100 ms/);
    clock.advance(99);
    assert.equal(api.lists(), 1, 'no retry before the back-off');
    clock.advance(1);
    await until(() => watch.errorCount() === 2);
    assert.match(logs.join('\n'), /retrying in 200 ms/, 'back-off doubles');
    clock.advance(200);
    await until(() => watch.synced());
    assert.equal(watch.lastError(), undefined);
    assert.deepEqual(watch.list().map((s) => s.metadata?.name), ['web']);
    assert.ok(changes >= 1);
  } finally {
    await watch.stop();
    await api.close();
  }
});
