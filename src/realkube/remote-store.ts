// The kubelet's ObjectStore (local/store/store.ts) over a real kube-apiserver. Reads come from a cache
// fed by list+watch, as an informer's; writes apply to the cache at once (the kubelet reads its own
// writes, synchronously, as from the local store) and go to the API behind, one at a time in order,
// as the real kubelet's status manager sends them (pod-writes.ts maps them):
//   - Pods: two list+watches merged into one cache (pod-cache.ts): the pods bound to this node (as the
//     node, the only pods the Node authorizer lets it list), and the unbound ones (as kube-scheduler: no
//     scheduler runs, the node binds what it takes). A pod bound here leaves the second watch as
//     DELETED, which the cache does not pass on: it is the same pod, arriving in the first.
//   - setting spec.nodeName → POST pods/binding; a status → PATCH pods/status (latest wins: a status
//     written twice before it is sent is sent once); delete → DELETE with grace 0 and the uid as
//     precondition.
//   - Events: the node may create and patch Events, not list them: the cache holds the ones it wrote
//     (for the recorder's count aggregation), created by POST and counted up by PATCH.
// A failed write is logged with the object and the API's message; one that may succeed later (the API
// unreachable or busy) is sent again. A watch that fails lists again, with back-off.
import type { Watch } from '@kubernetes/client-node';
import { findByKind, type ResourceType } from '../k8s/kinds.js';
import type { KubeObject, StoredObject } from '../k8s/object.js';
import { compileFieldSelector, compileLabelSelector } from '../k8s/selectors.js';
import { gone, StatusError } from '../k8s/status.js';
import { rfc3339 } from '../k8s/time-format.js';
import type { ListOptions, ListResult, ObjectStore, WatchEvent, WatchOptions } from '../local/store/store.js';
import { isRetryable, type ApiClient } from './api-client.js';
import { PodCache, visible, type PodEntry, type Source } from './pod-cache.js';
import { bindingFor, olderVersion, podWriteFor, statusPatchFor } from './pod-writes.js';

const POD = findByKind('', 'Pod')!;
const EVENT = findByKind('', 'Event')!;

interface Watcher {
  matches: (obj: StoredObject) => boolean;
  onEvent: (event: WatchEvent) => void;
}

export interface RemoteStoreOptions {
  /** As `system:node:<name>`: bound pods, status, deletes, events. */
  node: ApiClient;
  /** As `system:kube-scheduler`: unbound pods and their bindings. */
  binder: ApiClient;
  nodeName: string;
  log: (line: string) => void;
  /** Before a write that failed is sent again, and before a failed watch lists again; 1 s when absent. */
  retryMs?: number;
}

const HISTORY = 1000;
const MAX_EVENTS = 10_000;

export class RemoteStore implements ObjectStore {
  private readonly cache = new PodCache((before, after) => this.changed(before, after));
  private readonly pods = this.cache.pods;
  private readonly events = new Map<string, { obj: StoredObject; created: boolean }>();
  private readonly watchers = new Set<Watcher>();
  private readonly history: Array<{ seq: number; event: WatchEvent }> = [];
  private seq = 0;
  private statusSeq = 0;
  private readonly queue = new Map<string, () => Promise<void>>();
  private sending = false;
  private readonly idle = new Set<() => void>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly aborts = new Set<AbortController>();
  private closed = false;
  private readonly retryMs: number;
  /** Resolves once both pod lists have filled the cache. */
  readonly synced: Promise<void>;

  constructor(private readonly opts: RemoteStoreOptions) {
    this.retryMs = opts.retryMs ?? 1000;
    this.synced = Promise.all([
      this.reflect('bound', opts.node, `spec.nodeName=${opts.nodeName}`),
      this.reflect('unbound', opts.binder, 'spec.nodeName='),
    ]).then(() => undefined);
  }

  // ---- reads ----

  get(type: ResourceType, namespace: string | undefined, name: string): StoredObject | undefined {
    if (type === EVENT) return copy(this.events.get(`${namespace}/${name}`)?.obj);
    this.requirePods(type, 'get');
    const entry = this.pods.get(`${namespace}/${name}`);
    return entry && copy(visible(entry));
  }

  list(type: ResourceType, opts: ListOptions = {}): ListResult {
    this.requirePods(type, 'list');
    const matches = matcher(opts);
    const items = [...this.pods.values()].map(visible).filter((o): o is StoredObject => o !== undefined && matches(o)).map((o) => copy(o)!);
    return { items, resourceVersion: String(this.seq) };
  }

  watch(type: ResourceType, opts: WatchOptions, onEvent: (event: WatchEvent) => void): () => void {
    this.requirePods(type, 'watch');
    const matches = matcher(opts);
    const from = opts.resourceVersion;
    if (from === undefined || from === '0') {
      for (const entry of this.pods.values()) {
        const obj = visible(entry);
        if (obj && matches(obj)) onEvent({ type: 'ADDED', object: copy(obj)! });
      }
    } else {
      if (!/^\d+$/.test(from)) throw new StatusError(400, 'BadRequest', `resourceVersion ${from} is not a number`);
      const since = Number(from);
      if (since > this.seq || (since < this.seq && (this.history[0]?.seq ?? Infinity) > since + 1)) throw gone(`too old resource version: ${from} (${this.seq})`);
      for (const { seq, event } of this.history) if (seq > since && matches(event.object)) onEvent({ type: event.type, object: copy(event.object)! });
    }
    const watcher: Watcher = { matches, onEvent };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  currentResourceVersion(): string {
    return String(this.seq);
  }

  // ---- writes ----

  create(type: ResourceType, obj: KubeObject): StoredObject {
    if (type !== EVENT) throw new Error(`the node's store over the real API creates only Events, not ${type.kind} (${objectName(obj)})`);
    const name = obj.metadata.name ?? `${obj.metadata.generateName ?? 'event-'}${Date.now().toString(36)}`;
    const key = `${obj.metadata.namespace}/${name}`;
    // uid and resourceVersion come with the API's answer; until then the copy is only this node's.
    const stored = { ...obj, metadata: { ...obj.metadata, name, uid: '', resourceVersion: '0', creationTimestamp: rfc3339(Date.now()) } } as StoredObject;
    this.events.set(key, { obj: stored, created: false });
    if (this.events.size > MAX_EVENTS) this.events.delete(this.events.keys().next().value!);
    this.enqueue(`event ${key}`, () => this.sendEvent(key));
    return copy(stored)!;
  }

  update(type: ResourceType, obj: KubeObject): StoredObject {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (type === EVENT) {
      const held = this.events.get(key);
      if (!held) throw new StatusError(404, 'NotFound', `events "${obj.metadata.name}" not found (the node updates only Events it created)`);
      held.obj = { ...(obj as StoredObject), metadata: held.obj.metadata };
      this.enqueue(`event ${key}`, () => this.sendEvent(key));
      return copy(held.obj)!;
    }
    this.requirePods(type, 'update');
    const entry = this.pods.get(key);
    const current = entry && visible(entry);
    if (!entry || !current) throw new StatusError(404, 'NotFound', `pods "${obj.metadata.name}" not found`);
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) {
      throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on pods "${obj.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    const write = podWriteFor(current, obj);
    if (!write.bindTo && !write.status) return copy(current)!;
    const before = current;
    if (write.bindTo) {
      entry.bindTo = write.bindTo;
      this.enqueue(`bind ${entry.server.metadata.uid}`, () => this.sendBinding(key, entry.server.metadata.uid));
    }
    if (write.status) {
      entry.status = write.status;
      entry.statusSeq = ++this.statusSeq;
      this.enqueue(`status ${entry.server.metadata.uid}`, () => this.sendStatus(key, entry.server.metadata.uid));
    }
    this.changed(before, visible(entry));
    return copy(visible(entry))!;
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): StoredObject {
    this.requirePods(type, 'delete');
    const key = `${namespace}/${name}`;
    const entry = this.pods.get(key);
    const current = entry && visible(entry);
    if (!entry || !current) throw new StatusError(404, 'NotFound', `pods "${name}" not found`);
    entry.deleted = true;
    this.changed(current, undefined);
    const uid = entry.server.metadata.uid;
    this.enqueue(`delete ${uid}`, () => this.sendDelete(key, uid));
    return copy(current)!;
  }

  /** Resolves once every write made so far has been sent (or given up), or after `timeoutMs`. */
  flush(timeoutMs = 10_000): Promise<void> {
    if (!this.sending && this.queue.size === 0 && this.retryTimers.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.idle.add(() => done());
    });
  }

  close(): void {
    this.closed = true;
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.watchers.clear();
  }

  // ---- the cache ----

  private requirePods(type: ResourceType, verb: string): void {
    if (type !== POD) throw new Error(`the node's store over the real API mirrors Pods (and the Events it writes), not ${type.kind}: cannot ${verb} ${type.plural}`);
  }

  private emit(type: WatchEvent['type'], object: StoredObject): void {
    const event = { type, object };
    this.history.push({ seq: ++this.seq, event });
    if (this.history.length > HISTORY) this.history.shift();
    for (const w of [...this.watchers]) {
      if (!w.matches(object)) continue;
      try {
        w.onEvent({ type, object: copy(object)! });
      } catch (err) {
        this.opts.log(`pod watcher failed on ${type} ${objectName(object)}: ${(err as Error).message}`);
      }
    }
  }

  /** Tells watchers how a pod's visible state went from `before` to `after`. */
  private changed(before: StoredObject | undefined, after: StoredObject | undefined): void {
    if (before && after) this.emit('MODIFIED', after);
    else if (after) this.emit('ADDED', after);
    else if (before) this.emit('DELETED', before);
  }

  /** List, then watch from the list's version; on failure list again after a pause. Resolves after the first list. */
  private reflect(source: Source, client: ApiClient, fieldSelector: string): Promise<void> {
    let firstListed: () => void;
    let firstFailed: (err: Error) => void;
    const first = new Promise<void>((resolve, reject) => {
      firstListed = resolve;
      firstFailed = reject;
    });
    let listedOnce = false;
    const what = `pods (${fieldSelector}) as ${client.identity.user}`;
    const watcher: Watch = client.watcher();
    const cycle = async (): Promise<void> => {
      if (this.closed) return;
      let version: string;
      try {
        const list = await client.send<{ items: StoredObject[]; metadata: { resourceVersion: string } }>('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(fieldSelector)}`);
        if (this.closed) return;
        this.cache.replace(source, list.items.map((p) => ({ ...p, apiVersion: 'v1', kind: 'Pod' })));
        version = list.metadata.resourceVersion;
        if (!listedOnce) {
          listedOnce = true;
          firstListed();
        }
      } catch (err) {
        this.opts.log(`listing ${what} failed: ${(err as Error).message}; listing again in ${this.retryMs} ms`);
        if (!listedOnce && err instanceof StatusError && err.code === 403) firstFailed(err);
        this.later(() => void cycle());
        return;
      }
      const rewatch = (relist: boolean): void => {
        if (this.closed) return;
        if (relist) this.later(() => void cycle());
        else void watchFrom();
      };
      const watchFrom = async (): Promise<void> => {
        let expired = false;
        try {
          const abort = await watcher.watch(
            '/api/v1/pods',
            { fieldSelector, resourceVersion: version, allowWatchBookmarks: true },
            (phase: string, obj: StoredObject) => {
              if (this.closed) return;
              if (phase === 'ERROR') {
                expired = true;
                const status = obj as unknown as { message?: string; code?: number };
                if (status.code !== 410) this.opts.log(`watching ${what}: ${status.message ?? JSON.stringify(obj)}; listing again`);
                return;
              }
              if (obj?.metadata?.resourceVersion) version = obj.metadata.resourceVersion;
              if (phase === 'BOOKMARK') return;
              this.cache.apply(source, phase as WatchEvent['type'], { ...obj, apiVersion: 'v1', kind: 'Pod' });
            },
            (err: unknown) => {
              this.aborts.delete(abort);
              if (this.closed) return;
              if (err && !isAbort(err)) this.opts.log(`watching ${what} ended: ${(err as Error).message ?? String(err)}; listing again in ${this.retryMs} ms`);
              rewatch(expired || Boolean(err));
            },
          );
          if (this.closed) abort.abort();
          else this.aborts.add(abort);
        } catch (err) {
          if (this.closed) return;
          this.opts.log(`watching ${what} failed: ${(err as Error).message}; listing again in ${this.retryMs} ms`);
          rewatch(true);
        }
      };
      await watchFrom();
    };
    void cycle();
    return first;
  }

  private later(run: () => void, ms = this.retryMs): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      run();
    }, ms);
    this.retryTimers.add(timer);
  }

  // ---- the writes, sent in order ----

  private enqueue(key: string, send: () => Promise<void>): void {
    if (this.closed) return;
    this.queue.delete(key); // a newer write of the same thing replaces the waiting one, at the back
    this.queue.set(key, send);
    if (!this.sending) void this.drain();
  }

  private async drain(): Promise<void> {
    this.sending = true;
    while (this.queue.size > 0 && !this.closed) {
      const [key, send] = this.queue.entries().next().value!;
      this.queue.delete(key);
      try {
        await send();
      } catch (err) {
        if (isRetryable(err) && !this.closed) {
          this.opts.log(`${key}: ${(err as Error).message}; sending again in ${this.retryMs} ms`);
          this.later(() => {
            if (!this.queue.has(key)) this.enqueue(key, send);
          });
        } else {
          this.opts.log(`${key} not written: ${(err as Error).message}`);
        }
      }
    }
    this.sending = false;
    if (this.queue.size === 0 && this.retryTimers.size === 0) {
      for (const resolve of [...this.idle]) resolve();
      this.idle.clear();
    }
  }

  private liveEntry(key: string, uid: string): PodEntry | undefined {
    const entry = this.pods.get(key);
    return entry && entry.server.metadata.uid === uid ? entry : undefined;
  }

  private async sendBinding(key: string, uid: string): Promise<void> {
    const entry = this.liveEntry(key, uid);
    if (!entry?.bindTo || entry.source === 'bound') return;
    const { namespace, name } = entry.server.metadata;
    try {
      await this.opts.binder.send('POST', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, { body: bindingFor(entry.server, entry.bindTo) });
    } catch (err) {
      if (isRetryable(err)) throw err;
      // Not bound: the pod is gone, or bound elsewhere meanwhile. The cache shows it as the API has it.
      const still = this.liveEntry(key, uid);
      if (still) {
        const before = visible(still);
        still.bindTo = undefined;
        if (err instanceof StatusError && err.code === 404) this.pods.delete(key);
        this.changed(before, this.pods.has(key) ? visible(still) : undefined);
      }
      throw err;
    }
  }

  private async sendStatus(key: string, uid: string): Promise<void> {
    const entry = this.liveEntry(key, uid);
    if (!entry?.status || entry.deleted) return;
    const seq = entry.statusSeq;
    const patch = statusPatchFor(entry.server, entry.status);
    const settle = (server?: StoredObject): void => {
      const still = this.liveEntry(key, uid);
      if (!still) return;
      const before = visible(still);
      if (server && !olderVersion(server.metadata.resourceVersion, still.server.metadata.resourceVersion)) still.server = server;
      if (still.statusSeq === seq) still.status = undefined;
      this.changed(before, visible(still));
    };
    if (!patch) {
      settle();
      return;
    }
    const { namespace, name } = entry.server.metadata;
    try {
      const answer = await this.opts.node.send<StoredObject>('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, { body: patch, contentType: 'application/merge-patch+json' });
      settle({ ...answer, apiVersion: 'v1', kind: 'Pod' });
    } catch (err) {
      if (isRetryable(err)) throw err;
      // Gone, replaced (the uid precondition) or refused: the status stays as the API has it.
      settle();
      throw new Error(`status of pod ${namespace}/${name} (uid ${uid}, status ${JSON.stringify(patch.status)}): ${(err as Error).message}`);
    }
  }

  private async sendDelete(key: string, uid: string): Promise<void> {
    const entry = this.liveEntry(key, uid);
    if (!entry) return;
    const { namespace, name } = entry.server.metadata;
    try {
      await this.opts.node.send('DELETE', `/api/v1/namespaces/${namespace}/pods/${name}`, {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (err) {
      if (isRetryable(err)) throw err;
      if (!(err instanceof StatusError && err.code === 404)) {
        // Still there (a precondition or the API refused): show it again as it is.
        const still = this.liveEntry(key, uid);
        if (still) {
          still.deleted = false;
          this.changed(undefined, visible(still));
        }
        throw err;
      }
    }
    if (this.liveEntry(key, uid)?.deleted) this.pods.delete(key);
  }

  private async sendEvent(key: string): Promise<void> {
    const held = this.events.get(key);
    if (!held) return;
    const { namespace, name } = held.obj.metadata;
    try {
      if (!held.created) {
        const { uid: _u, resourceVersion: _r, creationTimestamp: _c, ...metadata } = held.obj.metadata;
        const answer = await this.opts.node.send<StoredObject>('POST', `/api/v1/namespaces/${namespace}/events`, { body: { ...held.obj, metadata } });
        held.created = true;
        held.obj = { ...held.obj, metadata: answer.metadata };
        return;
      }
      const { count, lastTimestamp, message } = held.obj as { count?: number; lastTimestamp?: string; message?: string };
      await this.opts.node.send('PATCH', `/api/v1/namespaces/${namespace}/events/${name}`, { body: { count, lastTimestamp, message }, contentType: 'application/merge-patch+json' });
    } catch (err) {
      if (isRetryable(err)) throw err;
      const e = held.obj as { reason?: string; involvedObject?: { kind?: string; name?: string } };
      throw new Error(`event ${e.reason} for ${e.involvedObject?.kind} ${namespace}/${e.involvedObject?.name}: ${(err as Error).message}`);
    }
  }
}

function copy(obj: StoredObject | undefined): StoredObject | undefined {
  return obj === undefined ? undefined : structuredClone(obj);
}

function matcher(opts: ListOptions): (obj: StoredObject) => boolean {
  const labels = opts.labelSelector ? compileLabelSelector(opts.labelSelector) : undefined;
  const fields = opts.fieldSelector ? compileFieldSelector(opts.fieldSelector) : undefined;
  return (obj) => (opts.namespace === undefined || obj.metadata.namespace === opts.namespace) && (!labels || labels(obj.metadata.labels)) && (!fields || fields(obj));
}

function objectName(obj: KubeObject): string {
  return `${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? obj.metadata.generateName ?? ''}`;
}

function isAbort(err: unknown): boolean {
  return (err as { name?: string })?.name === 'AbortError' || /aborted/i.test(String((err as Error)?.message ?? ''));
}
