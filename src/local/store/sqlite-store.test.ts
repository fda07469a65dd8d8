import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { findByKind } from '../../k8s/kinds.js';
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { StatusError } from '../../k8s/status.js';
import { openSqliteStore } from './sqlite-store.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import type { ObjectStore, WatchEvent } from './store.js';

function kind(group: string, name: string): ResourceType {
  const t = findByKind(group, name);
  assert.ok(t, `${group}/${name} is in the resource table`);
  return t;
}
const PODS = kind('', 'Pod');
const CONFIGMAPS = kind('', 'ConfigMap');
const NAMESPACES = kind('', 'Namespace');
const DEPLOYMENTS = kind('apps', 'Deployment');
const VIRTUAL_SERVICES = kind('networking.istio.io', 'VirtualService');

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
function tempDbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-store-'));
  tempDirs.push(dir);
  return join(dir, 'store.db');
}

const FIXED_CLOCK = () => new Date('2026-11-25T10:00:00.789Z');

function pod(name: string, opts: { ns?: string; labels?: Record<string, string>; nodeName?: string; phase?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.ns ?? 'default', ...(opts.labels ? { labels: opts.labels } : {}) },
    spec: { containers: [{ name: 'app', image: 'helloworld' }], ...(opts.nodeName ? { nodeName: opts.nodeName } : {}) },
    ...(opts.phase ? { status: { phase: opts.phase } } : {}),
  };
}

function expectStatus(fn: () => unknown, code: number, reason: string, message?: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.reason, reason);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

function record(store: ObjectStore, t: ResourceType, opts: Parameters<ObjectStore['watch']>[1] = {}): { events: WatchEvent[]; stop: () => void } {
  const events: WatchEvent[] = [];
  const stop = store.watch(t, opts, (e) => events.push(e));
  return { events, stop };
}

const summary = (events: WatchEvent[]) => events.map((e) => `${e.type} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}`);

for (const where of ['memory', 'file'] as const) {
  describe(`sqlite store (${where})`, () => {
    const open = (extra: Partial<SqliteStoreOptions> = {}) => openSqliteStore({ path: where === 'memory' ? ':memory:' : tempDbPath(), clock: FIXED_CLOCK, ...extra });

    test('create assigns server fields; get and list return copies', () => {
      const store = open();
      const created = store.create(PODS, pod('web', { labels: { app: 'web' } }));
      assert.equal(created.metadata.resourceVersion, '1');
      assert.equal(created.metadata.generation, 1);
      assert.equal(created.metadata.creationTimestamp, '2026-11-25T10:00:00Z');
      assert.match(created.metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual(Object.keys(created.metadata), ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'labels']);
      created.metadata.labels!.app = 'changed';
      const got = store.get(PODS, 'default', 'web');
      assert.equal(got?.metadata.labels?.app, 'web');
      got!.metadata.name = 'mutated';
      assert.equal(store.list(PODS).items[0]!.metadata.name, 'web');
      assert.equal(store.get(PODS, 'other', 'web'), undefined);
      assert.equal(store.currentResourceVersion(), '1');
      store.close();
    });

    test('create of an existing name is AlreadyExists; missing name is Invalid; missing namespace is BadRequest', () => {
      const store = open();
      store.create(PODS, pod('web'));
      expectStatus(() => store.create(PODS, pod('web')), 409, 'AlreadyExists', 'pods "web" already exists');
      store.create(PODS, pod('web', { ns: 'other' }));
      expectStatus(() => store.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default' } }), 422, 'Invalid', /name or generateName is required/);
      expectStatus(() => store.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }), 400, 'BadRequest', /namespace is required/);
      const vs: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs', namespace: 'ns' } };
      store.create(VIRTUAL_SERVICES, vs);
      expectStatus(() => store.create(VIRTUAL_SERVICES, vs), 409, 'AlreadyExists', 'virtualservices.networking.istio.io "vs" already exists');
      assert.equal(store.currentResourceVersion(), '3', 'failed creates do not use a revision');
      store.close();
    });

    test('cluster-scoped objects drop a namespace and ignore it on get', () => {
      const store = open();
      const ns = store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', namespace: 'ignored' } });
      assert.equal(ns.metadata.namespace, undefined);
      assert.equal(store.get(NAMESPACES, undefined, 'team-a')?.metadata.uid, ns.metadata.uid);
      assert.equal(store.get(NAMESPACES, 'whatever', 'team-a')?.metadata.uid, ns.metadata.uid);
      store.close();
    });

    test('generateName adds 5 characters of the apiserver alphabet', () => {
      const store = open();
      const names = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const p = store.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-7d9f-', namespace: 'default' } });
        assert.match(p.metadata.name, /^web-7d9f-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
        assert.equal(p.metadata.generateName, 'web-7d9f-');
        names.add(p.metadata.name);
      }
      assert.equal(names.size, 20);
      store.close();
    });

    test('update: conflict on stale resourceVersion, keeps uid and creationTimestamp, generation follows spec', () => {
      let now = new Date('2026-11-25T10:00:00Z');
      const store = open({ clock: () => now });
      const d1 = store.create(DEPLOYMENTS, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } } },
      });
      now = new Date('2027-01-01T00:00:00Z');
      const d2 = store.update(DEPLOYMENTS, { ...d1, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } } } });
      assert.equal(d2.metadata.generation, 2);
      assert.equal(d2.metadata.resourceVersion, '2');
      assert.equal(d2.metadata.uid, d1.metadata.uid);
      assert.equal(d2.metadata.creationTimestamp, '2026-11-25T10:00:00Z');

      const d3 = store.update(DEPLOYMENTS, { ...d2, status: { replicas: 3 }, metadata: { ...d2.metadata, labels: { a: 'b' } } });
      assert.equal(d3.metadata.generation, 2, 'status and metadata changes leave generation alone');
      assert.equal(d3.metadata.resourceVersion, '3');

      expectStatus(
        () => store.update(DEPLOYMENTS, d2),
        409,
        'Conflict',
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
      );
      // Without a resourceVersion the update is unconditional.
      const { resourceVersion: _rv, ...metaWithoutRv } = d3.metadata;
      const d4 = store.update(DEPLOYMENTS, { ...d3, metadata: metaWithoutRv, spec: { replicas: 5, selector: { matchLabels: { app: 'web' } } } });
      assert.equal(d4.metadata.generation, 3);
      // A client cannot set generation or uid of its own choosing.
      const d5 = store.update(DEPLOYMENTS, { ...d4, metadata: { ...d4.metadata, generation: 99, creationTimestamp: 'x' } });
      assert.equal(d5.metadata.generation, 3);
      assert.equal(d5.metadata.creationTimestamp, '2026-11-25T10:00:00Z');
      expectStatus(() => store.update(DEPLOYMENTS, { ...d5, metadata: { ...d5.metadata, uid: 'other' } }), 409, 'Conflict', /Precondition failed: UID/);
      expectStatus(() => store.update(DEPLOYMENTS, { ...d5, metadata: { name: 'nope', namespace: 'default' } }), 404, 'NotFound', 'deployments.apps "nope" not found');
      store.close();
    });

    test('an update that changes nothing writes nothing and emits nothing', () => {
      const store = open();
      const p = store.create(PODS, pod('web'));
      const { events } = record(store, PODS, { resourceVersion: p.metadata.resourceVersion });
      const same = store.update(PODS, p);
      assert.equal(same.metadata.resourceVersion, p.metadata.resourceVersion);
      assert.equal(store.currentResourceVersion(), '1');
      assert.deepEqual(events, []);
      store.close();
    });

    test('delete returns the object as it was; a second delete is NotFound', () => {
      const store = open();
      store.create(PODS, pod('web'));
      const deleted = store.delete(PODS, 'default', 'web');
      assert.equal(deleted.metadata.resourceVersion, '1');
      assert.equal(store.currentResourceVersion(), '2', 'a delete takes a revision');
      assert.equal(store.get(PODS, 'default', 'web'), undefined);
      expectStatus(() => store.delete(PODS, 'default', 'web'), 404, 'NotFound', 'pods "web" not found');
      store.close();
    });

    test('list filters by namespace, labels and fields, sorted by namespace then name', () => {
      const store = open();
      store.create(PODS, pod('b', { ns: 'ns1', labels: { app: 'x', version: 'v1' }, nodeName: 'n1', phase: 'Running' }));
      store.create(PODS, pod('a', { ns: 'ns2', labels: { app: 'x', version: 'v2' }, phase: 'Pending' }));
      store.create(PODS, pod('a', { ns: 'ns1', labels: { app: 'y' }, nodeName: 'n1' }));
      store.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns1' } });
      const names = (opts: Parameters<ObjectStore['list']>[1]) => store.list(PODS, opts).items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
      assert.deepEqual(names({}), ['ns1/a', 'ns1/b', 'ns2/a']);
      assert.deepEqual(names({ namespace: 'ns1' }), ['ns1/a', 'ns1/b']);
      assert.deepEqual(names({ labelSelector: 'app=x' }), ['ns1/b', 'ns2/a']);
      assert.deepEqual(names({ labelSelector: 'app=x,version notin (v2)' }), ['ns1/b']);
      assert.deepEqual(names({ labelSelector: '!version' }), ['ns1/a']);
      assert.deepEqual(names({ fieldSelector: 'spec.nodeName=n1' }), ['ns1/a', 'ns1/b']);
      assert.deepEqual(names({ fieldSelector: 'spec.nodeName=' }), ['ns2/a']);
      assert.deepEqual(names({ fieldSelector: 'status.phase!=Running,metadata.namespace=ns1' }), ['ns1/a']);
      assert.deepEqual(names({ namespace: 'ns2', fieldSelector: 'metadata.name=a' }), ['ns2/a']);
      assert.equal(store.list(PODS).resourceVersion, '4');
      expectStatus(() => store.list(PODS, { labelSelector: 'app in (x' }), 400, 'BadRequest', /label selector "app in \(x"/);
      expectStatus(() => store.list(PODS, { fieldSelector: 'spec.nodeName' }), 400, 'BadRequest', /field selector "spec.nodeName"/);
      store.close();
    });

    test('watch from 0 sends ADDED for current objects, then live changes in order', () => {
      const store = open();
      store.create(PODS, pod('a'));
      store.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' } });
      store.create(PODS, pod('b'));
      const fromZero = record(store, PODS, { resourceVersion: '0' });
      const unset = record(store, PODS);
      assert.deepEqual(summary(fromZero.events), ['ADDED a@1', 'ADDED b@3']);
      assert.deepEqual(summary(unset.events), ['ADDED a@1', 'ADDED b@3']);
      const b = store.get(PODS, 'default', 'b')!;
      store.update(PODS, { ...b, metadata: { ...b.metadata, labels: { x: 'y' } } });
      store.delete(PODS, 'default', 'a');
      store.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm2', namespace: 'default' } });
      assert.deepEqual(summary(fromZero.events), ['ADDED a@1', 'ADDED b@3', 'MODIFIED b@4', 'DELETED a@5']);
      fromZero.stop();
      store.create(PODS, pod('c'));
      assert.equal(fromZero.events.length, 4, 'no events after stop');
      assert.deepEqual(summary(unset.events).slice(-1), ['ADDED c@7']);
      store.close();
    });

    test('watch from a resourceVersion replays what it missed; deleted objects carry the deletion revision', () => {
      const store = open();
      store.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' } });
      const listed = store.list(PODS);
      assert.equal(listed.resourceVersion, '1');
      store.create(PODS, pod('a'));
      store.create(PODS, pod('b'));
      store.delete(PODS, 'default', 'a');
      const w = record(store, PODS, { resourceVersion: listed.resourceVersion });
      assert.deepEqual(summary(w.events), ['ADDED a@2', 'ADDED b@3', 'DELETED a@4']);
      const mid = record(store, PODS, { resourceVersion: '3' });
      assert.deepEqual(summary(mid.events), ['DELETED a@4']);
      const now = record(store, PODS, { resourceVersion: store.currentResourceVersion() });
      assert.deepEqual(now.events, []);
      store.create(PODS, pod('c'));
      assert.deepEqual(summary(now.events), ['ADDED c@5']);
      assert.deepEqual(summary(w.events).slice(-1), ['ADDED c@5']);
      expectStatus(() => store.watch(PODS, { resourceVersion: 'abc' }, () => {}), 400, 'BadRequest');
      expectStatus(() => store.watch(PODS, { resourceVersion: '99' }, () => {}), 410, 'Expired', 'too large resource version: 99 (current 5)');
      store.close();
    });

    test('a watch from before the history is 410 Gone', () => {
      const store = open({ historySize: 3 });
      for (const name of ['a', 'b', 'c', 'd', 'e']) store.create(PODS, pod(name));
      // Revisions 3, 4, 5 are remembered: a watch from 2 misses nothing, from 1 it would miss revision 2.
      assert.deepEqual(summary(record(store, PODS, { resourceVersion: '2' }).events), ['ADDED c@3', 'ADDED d@4', 'ADDED e@5']);
      expectStatus(() => store.watch(PODS, { resourceVersion: '1' }, () => {}), 410, 'Expired', 'too old resource version: 1 (2)');
      store.close();
    });

    test('selector transitions: updates that move an object in or out are ADDED / DELETED', () => {
      const store = open();
      const canary = record(store, PODS, { labelSelector: 'track=canary', resourceVersion: '0' });
      const running = record(store, PODS, { fieldSelector: 'status.phase=Running', resourceVersion: '0' });
      const ns2 = record(store, PODS, { namespace: 'ns2', resourceVersion: '0' });
      const p1 = store.create(PODS, pod('p', { labels: { track: 'stable' }, phase: 'Pending' }));
      const p2 = store.update(PODS, { ...p1, metadata: { ...p1.metadata, labels: { track: 'canary' } } });
      const p3 = store.update(PODS, { ...p2, status: { phase: 'Running' } });
      const p4 = store.update(PODS, { ...p3, metadata: { ...p3.metadata, labels: { track: 'stable' } } });
      store.update(PODS, { ...p4, status: { phase: 'Failed' } });
      store.delete(PODS, 'default', 'p');
      assert.deepEqual(summary(canary.events), ['ADDED p@2', 'MODIFIED p@3', 'DELETED p@4']);
      // The DELETED of a transition carries the old content (still labelled canary) at the new revision.
      assert.equal(canary.events[2]!.object.metadata.labels?.track, 'canary');
      assert.deepEqual(summary(running.events), ['ADDED p@3', 'MODIFIED p@4', 'DELETED p@5']);
      assert.equal(running.events[2]!.object.status && (running.events[2]!.object.status as { phase: string }).phase, 'Running');
      assert.deepEqual(ns2.events, []);
      store.close();
    });

    test('a throwing listener is logged and does not break the write or other listeners', () => {
      const logged: string[] = [];
      const store = open({ log: (m) => logged.push(m) });
      store.watch(PODS, {}, () => {
        throw new Error('listener bug');
      });
      const good = record(store, PODS);
      const created = store.create(PODS, pod('web'));
      assert.equal(created.metadata.resourceVersion, '1');
      assert.deepEqual(summary(good.events), ['ADDED web@1']);
      assert.equal(logged.length, 1);
      assert.match(logged[0]!, /watch listener on pods threw on ADDED default\/web \(resourceVersion 1\).*listener bug/s);
      store.close();
    });

    test('listeners that write or open watches see events in revision order', () => {
      const store = open();
      const seen: string[] = [];
      let nested: WatchEvent[] = [];
      store.watch(PODS, {}, (e) => {
        seen.push(`first ${e.type} ${e.object.metadata.name}`);
        if (e.object.metadata.name === 'a') {
          store.create(PODS, pod('b'));
          nested = record(store, PODS, { resourceVersion: '0' }).events;
        }
      });
      store.watch(PODS, {}, (e) => seen.push(`second ${e.type} ${e.object.metadata.name}`));
      store.create(PODS, pod('a'));
      assert.deepEqual(seen, ['first ADDED a', 'second ADDED a', 'first ADDED b', 'second ADDED b']);
      assert.deepEqual(summary(nested), ['ADDED a@1', 'ADDED b@2']);
      store.close();
    });

    test('each listener gets its own copy of the object', () => {
      const store = open();
      store.watch(PODS, {}, (e) => {
        e.object.metadata.name = 'scribbled';
      });
      const second = record(store, PODS);
      store.create(PODS, pod('web'));
      assert.equal(second.events[0]!.object.metadata.name, 'web');
      assert.deepEqual(summary(record(store, PODS, { resourceVersion: '0' }).events), ['ADDED web@1']);
      store.close();
    });

    test('operations after close fail clearly and watchers stop', () => {
      const store = open();
      const w = record(store, PODS);
      store.close();
      assert.throws(() => store.list(PODS), /object store .* is closed/);
      assert.throws(() => store.create(PODS, pod('x')), /is closed/);
      assert.deepEqual(w.events, []);
      store.close();
    });

    test('1000 creates and a list of 1000 objects take well under a second', () => {
      const store = open();
      const start = performance.now();
      for (let i = 0; i < 1000; i++) store.create(PODS, pod(`pod-${String(i).padStart(4, '0')}`, { labels: { app: 'web', idx: String(i % 10) } }));
      const created = performance.now();
      const listed = store.list(PODS);
      const selected = store.list(PODS, { labelSelector: 'idx=3' });
      const done = performance.now();
      assert.equal(listed.items.length, 1000);
      assert.equal(selected.items.length, 100);
      assert.ok(created - start < 1000, `1000 creates took ${(created - start).toFixed(0)} ms`);
      assert.ok(done - created < 500, `two lists took ${(done - created).toFixed(0)} ms`);
      store.close();
    });
  });
}

describe('sqlite store persistence', () => {
  test('objects and the revision counter survive a restart; older watches get 410', () => {
    const path = tempDbPath();
    const first = openSqliteStore({ path, clock: FIXED_CLOCK });
    const a = first.create(PODS, pod('a'));
    first.create(PODS, pod('b'));
    first.delete(PODS, 'default', 'b');
    first.close();

    const second = openSqliteStore({ path, clock: FIXED_CLOCK });
    assert.equal(second.currentResourceVersion(), '3');
    assert.deepEqual(second.get(PODS, 'default', 'a'), a);
    assert.equal(second.get(PODS, 'default', 'b'), undefined);
    expectStatus(() => second.watch(PODS, { resourceVersion: '2' }, () => {}), 410, 'Expired', 'too old resource version: 2 (3)');
    const w = record(second, PODS, { resourceVersion: '3' });
    const c = second.create(PODS, pod('c'));
    assert.equal(c.metadata.resourceVersion, '4', 'revisions continue after restart');
    assert.deepEqual(summary(w.events), ['ADDED c@4']);
    second.close();

    const third = openSqliteStore({ path });
    assert.deepEqual(third.list(PODS).items.map((p) => p.metadata.name), ['a', 'c']);
    assert.equal(third.list(PODS).resourceVersion, '4');
    third.close();
  });

  test('the database file holds Secrets: readable by its owner only (0600)', () => {
    const path = tempDbPath();
    const store = openSqliteStore({ path, clock: FIXED_CLOCK });
    store.create(PODS, pod('a'));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    store.close();
  });
});
