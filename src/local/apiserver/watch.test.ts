// Watches with @kubernetes/client-node (informers and raw watches): events, 410 replay and relist,
// bookmarks, timeouts, legacy /watch/ paths, tables, and no listeners left behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { ResourceType } from '../../k8s/kinds.js';
import { findByPlural } from '../../k8s/kinds.js';
import { gone } from '../../k8s/status.js';
import type { ObjectStore } from '../store/store.js';
import type { TestCluster } from './test-support.js';
import { startTestCluster, TOKEN } from './test-support.js';

const CONFIGMAPS = findByPlural('', 'configmaps')!;

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The real store, plus a count of live subscriptions and a switch that makes the next watch 410. */
function instrument(store: ObjectStore): { live: () => number; failNextWatch: () => void } {
  let live = 0;
  let fail = false;
  const watch = store.watch.bind(store);
  store.watch = (t: ResourceType, opts, onEvent) => {
    if (fail && opts.resourceVersion && opts.resourceVersion !== '0') {
      fail = false;
      throw gone(`too old resource version: ${opts.resourceVersion} (${store.currentResourceVersion()})`);
    }
    const stop = watch(t, opts, onEvent);
    live++;
    let stopped = false;
    return () => {
      if (!stopped) live--;
      stopped = true;
      stop();
    };
  };
  return { live: () => live, failNextWatch: () => (fail = true) };
}

function configMap(name: string, value: string): object {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels: { app: 'w' } }, data: { value } };
}

describe('watch', () => {
  let c: TestCluster;
  let kc: k8s.KubeConfig;
  let probe: ReturnType<typeof instrument>;

  before(async () => {
    // A short watch lifetime makes informers reconnect during the test, as they do against a real apiserver.
    c = await startTestCluster({ store: { historySize: 5 }, watch: { minTimeoutMs: 400, bookmarkIntervalMs: 100 } });
    probe = instrument(c.store);
    kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
  });
  after(() => c.close());

  test('an informer sees adds, updates and deletes, and relists after a 410', async () => {
    const api = kc.makeApiClient(k8s.CoreV1Api);
    let lists = 0;
    const informer = k8s.makeInformer<k8s.V1ConfigMap>(kc, '/api/v1/namespaces/default/configmaps', () => {
      lists++;
      return api.listNamespacedConfigMap({ namespace: 'default' });
    });
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name} ${o.data?.value}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.data?.value}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    const errors: unknown[] = [];
    informer.on('error', (e) => errors.push(e));
    await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('before', '0') });
    await informer.start();
    await until('initial list', () => seen.includes('add before 0'));

    assert.equal((await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('a', '1') })).status, 201);
    await until('add a', () => seen.includes('add a 1'));
    await c.request('PATCH', '/api/v1/namespaces/default/configmaps/a', { body: { data: { value: '2' } }, contentType: 'application/merge-patch+json' });
    await until('update a', () => seen.includes('update a 2'));
    await c.request('DELETE', '/api/v1/namespaces/default/configmaps/a');
    await until('delete a', () => seen.includes('delete a'));

    // The next reconnect gets a 410 ERROR event: the informer must list again and carry on.
    probe.failNextWatch();
    await until('relist after 410', () => lists >= 2, 8000);
    await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('b', '3') });
    await until('add b after relist', () => seen.includes('add b 3'));
    assert.deepEqual(errors, []);
    assert.equal(informer.list('default').length, 2);
    await informer.stop();
    await until('no watch left in the store', () => probe.live() === 0);
  });

  test('a watch from a compacted resourceVersion gets a 410 ERROR event, then the stream ends', async () => {
    for (let i = 0; i < 8; i++) c.store.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `filler-${i}`, namespace: 'kube-public' } });
    const events: Array<{ type: string; object: { code?: number; reason?: string; kind?: string } }> = [];
    const done = new Promise<unknown>((resolve) => {
      void new k8s.Watch(kc).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: '1' }, (type, object) => events.push({ type, object }), resolve);
    });
    assert.equal(await done, null);
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'ERROR');
    assert.equal(events[0].object.kind, 'Status');
    assert.equal(events[0].object.code, 410);
    assert.equal(events[0].object.reason, 'Expired');
  });

  test('raw watch: legacy /watch/ path by name, timeoutSeconds, bookmarks, selectors', async () => {
    const rv = c.store.currentResourceVersion();
    const pending = c.request('GET', `/api/v1/watch/namespaces/default/configmaps/target?resourceVersion=${rv}&timeoutSeconds=1&allowWatchBookmarks=true`);
    await until('watch registered', () => probe.live() === 1);
    await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('other', 'x') });
    await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('target', 'y') });
    const started = Date.now();
    const res = await pending;
    assert.ok(Date.now() - started < 3000, 'timeoutSeconds ended the watch');
    assert.equal(res.status, 200);
    const lines = res.text.trim().split('\n').map((l) => JSON.parse(l));
    const nonBookmarks = lines.filter((l) => l.type !== 'BOOKMARK');
    assert.deepEqual(nonBookmarks.map((l) => `${l.type} ${l.object.metadata.name}`), ['ADDED target']);
    const bookmark = lines.find((l) => l.type === 'BOOKMARK');
    assert.ok(bookmark, 'a bookmark arrived');
    assert.equal(bookmark.object.kind, 'ConfigMap');
    assert.match(bookmark.object.metadata.resourceVersion, /^\d+$/);
    await until('watch released', () => probe.live() === 0);

    const labelled = await c.request('GET', '/api/v1/configmaps?watch=true&labelSelector=app%3Dw&timeoutSeconds=1');
    const names = labelled.text.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'ADDED').map((l) => l.object.metadata.name).sort();
    assert.deepEqual(names, ['b', 'before', 'other', 'target']);
  });

  test('a client that disconnects leaves no listener behind', async () => {
    const { request } = await import('node:https');
    const req = request(`${c.server.url}/api/v1/namespaces/default/configmaps?watch=1`, { ca: c.caPem, headers: { Authorization: `Bearer ${TOKEN}` } });
    const firstLine = new Promise<string>((resolve) => req.on('response', (res) => res.once('data', (d: Buffer) => resolve(d.toString()))));
    req.end();
    assert.match(await firstLine, /"type":"ADDED"/);
    assert.equal(probe.live(), 1);
    req.destroy();
    await until('listener removed', () => probe.live() === 0);
  });

  test('watch with a Table Accept header streams table rows (kubectl get -w)', async () => {
    const r = await c.kubectl(['get', 'configmaps', '-w', '--request-timeout=1s', '-l', 'app=w']);
    assert.match(r.stdout, /^NAME\s+AGE\n/);
    assert.match(r.stdout, /\ntarget\s+\d+s\n/);
  });

  test('a malformed resourceVersion is an ERROR event carrying a 400 Status', async () => {
    const r = await c.request('GET', '/api/v1/configmaps?watch=true&resourceVersion=abc');
    const line = JSON.parse(r.text.trim());
    assert.equal(line.type, 'ERROR');
    assert.equal(line.object.code, 400);
  });
});
