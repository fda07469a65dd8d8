// The ObjectStore engine (store.ts) on SQLite: one row per object, JSON bodies, one global revision
// counter persisted with every write, as etcd's. Watch history lives in memory (watch-hub.ts), so after
// a restart a watch can resume from the revision the store opened at, not from before it.
//
// One process owns a store file: the revision counter and watchers live in that process's memory.
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import type { ResourceType } from '../../k8s/kinds.js';
import { storageKey } from '../../k8s/kinds.js';
import type { KubeObject, ObjectMeta, StoredObject } from '../../k8s/object.js';
import { alreadyExists, badRequest, conflict, gone, invalid, notFound } from '../../k8s/status.js';
import { formatTimestamp, generatedName, orderedMetadata, specChanged } from './metadata.js';
import { compileFieldSelector, compileLabelSelector } from '../../k8s/selectors.js';
import type { ListOptions, ListResult, ObjectStore, WatchEvent, WatchOptions } from './store.js';
import { eventFor, WatchHub } from './watch-hub.js';
import type { ObjectFilter } from './watch-hub.js';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for a store that lives as long as the process. */
  path: string;
  /** Source of creationTimestamp; tests inject a fixed clock. */
  clock?: () => Date;
  /** How many changes a watch can replay from (all types together). Default 10000. */
  historySize?: number;
  /** Where failures of watch listeners are reported. Default: console.error. */
  log?: (message: string) => void;
}

const DEFAULT_HISTORY_SIZE = 10000;
const GENERATE_NAME_ATTEMPTS = 8;
const CONFLICT_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS objects (
    storage_key TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (storage_key, namespace, name)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0);
`;

interface BodyRow {
  body: string;
}

function parseStored(body: string): StoredObject {
  const parsed: StoredObject = JSON.parse(body);
  return parsed;
}

export function openSqliteStore(opts: SqliteStoreOptions): ObjectStore {
  const clock = opts.clock ?? (() => new Date());
  const log = opts.log ?? ((message: string) => console.error(message));
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  // The store holds Secrets (tokens, keys): readable by its owner only, as etcd's data directory.
  if (opts.path !== ':memory:') {
    for (const file of [opts.path, `${opts.path}-wal`, `${opts.path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  }

  const stmt = {
    revision: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = 'revision'`),
    setRevision: db.prepare<[number]>(`UPDATE meta SET value = ? WHERE key = 'revision'`),
    get: db.prepare<[string, string, string], BodyRow>(`SELECT body FROM objects WHERE storage_key = ? AND namespace = ? AND name = ?`),
    exists: db.prepare<[string, string, string], { one: number }>(`SELECT 1 AS one FROM objects WHERE storage_key = ? AND namespace = ? AND name = ?`),
    listAll: db.prepare<[string], BodyRow>(`SELECT body FROM objects WHERE storage_key = ? ORDER BY namespace, name`),
    listNamespace: db.prepare<[string, string], BodyRow>(`SELECT body FROM objects WHERE storage_key = ? AND namespace = ? ORDER BY name`),
    insert: db.prepare<[string, string, string, number, string]>(`INSERT INTO objects (storage_key, namespace, name, revision, body) VALUES (?, ?, ?, ?, ?)`),
    update: db.prepare<[number, string, string, string, string]>(`UPDATE objects SET revision = ?, body = ? WHERE storage_key = ? AND namespace = ? AND name = ?`),
    remove: db.prepare<[string, string, string]>(`DELETE FROM objects WHERE storage_key = ? AND namespace = ? AND name = ?`),
  };

  let revision = stmt.revision.get()!.value;
  const hub = new WatchHub(opts.historySize ?? DEFAULT_HISTORY_SIZE, revision, log);
  let closed = false;

  function ensureOpen(): void {
    if (closed) throw new Error(`object store ${opts.path} is closed`);
  }

  /** The namespace column for an object of this type: '' for cluster-scoped types. */
  function namespaceOf(t: ResourceType, namespace: string | undefined, name: string): string {
    if (!t.namespaced) return '';
    if (!namespace) throw badRequest(`${t.plural} "${name}": a namespace is required for a namespaced resource`);
    return namespace;
  }

  function readObject(t: ResourceType, namespace: string, name: string): StoredObject | undefined {
    const row = stmt.get.get(storageKey(t), namespace, name);
    return row ? parseStored(row.body) : undefined;
  }

  /** Persists a write and the new revision atomically; the in-memory counter moves only on commit. */
  const commit = db.transaction((write: () => void, next: number) => {
    write();
    stmt.setRevision.run(next);
  });

  function filterFor(t: ResourceType, options: ListOptions): ObjectFilter {
    const namespace = t.namespaced ? options.namespace : undefined;
    const labels = options.labelSelector ? compileLabelSelector(options.labelSelector) : undefined;
    const fields = options.fieldSelector ? compileFieldSelector(options.fieldSelector) : undefined;
    return (obj) =>
      (namespace === undefined || obj.metadata.namespace === namespace) && (labels === undefined || labels(obj.metadata.labels)) && (fields === undefined || fields(obj));
  }

  /** The object as it will be stored: a copy of what the caller sent with the server-owned fields set. */
  function shape(t: ResourceType, obj: KubeObject, meta: Partial<ObjectMeta> & { name: string; namespace: string }): StoredObject {
    const metadata: Record<string, unknown> = { ...obj.metadata, ...meta };
    if (!t.namespaced) delete metadata.namespace;
    return parseStored(JSON.stringify({ ...obj, metadata: orderedMetadata(metadata) }));
  }

  function requireMetadata(t: ResourceType, obj: KubeObject): ObjectMeta {
    if (obj === null || typeof obj !== 'object' || obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
      throw badRequest(`${t.plural}: the object has no metadata`);
    }
    return obj.metadata;
  }

  const store: ObjectStore = {
    get(t, namespace, name) {
      ensureOpen();
      return readObject(t, t.namespaced ? namespace ?? '' : '', name);
    },

    list(t, options = {}) {
      ensureOpen();
      const filter = filterFor(t, options);
      const rows = t.namespaced && options.namespace !== undefined ? stmt.listNamespace.all(storageKey(t), options.namespace) : stmt.listAll.all(storageKey(t));
      const items: StoredObject[] = [];
      for (const row of rows) {
        const obj = parseStored(row.body);
        if (filter(obj)) items.push(obj);
      }
      const result: ListResult = { items, resourceVersion: String(revision) };
      return result;
    },

    create(t, obj, opts = {}) {
      ensureOpen();
      const meta = requireMetadata(t, obj);
      const key = storageKey(t);
      let name = meta.name;
      if (!name && !meta.generateName) {
        throw invalid(t, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
      }
      const namespace = namespaceOf(t, meta.namespace, name || meta.generateName!);
      if (!name) {
        for (let attempt = 0; attempt < GENERATE_NAME_ATTEMPTS && !name; attempt++) {
          const candidate = generatedName(meta.generateName!);
          if (!stmt.exists.get(key, namespace, candidate)) name = candidate;
        }
        if (!name) throw alreadyExists(t, `${meta.generateName}*`);
      } else if (stmt.exists.get(key, namespace, name)) {
        throw alreadyExists(t, name);
      }
      const next = revision + 1;
      const stored = shape(t, obj, {
        name,
        namespace,
        uid: opts.uid ?? randomUUID(),
        resourceVersion: String(next),
        generation: 1,
        creationTimestamp: formatTimestamp(clock()),
      });
      const body = JSON.stringify(stored);
      commit(() => stmt.insert.run(key, namespace, name!, next, body), next);
      revision = next;
      hub.record({ revision: next, storageKey: key, type: 'ADDED', object: stored });
      return parseStored(body);
    },

    update(t, obj) {
      ensureOpen();
      const meta = requireMetadata(t, obj);
      if (!meta.name) throw invalid(t, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name is required' }]);
      const name = meta.name;
      const namespace = namespaceOf(t, meta.namespace, name);
      const key = storageKey(t);
      const existing = readObject(t, namespace, name);
      if (!existing) throw notFound(t, name);
      if (meta.resourceVersion && meta.resourceVersion !== existing.metadata.resourceVersion) throw conflict(t, name, CONFLICT_MESSAGE);
      if (meta.uid && meta.uid !== existing.metadata.uid) {
        throw conflict(t, name, `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${existing.metadata.uid}`);
      }
      const unchangedRevision = shape(t, obj, {
        name,
        namespace,
        uid: existing.metadata.uid,
        resourceVersion: existing.metadata.resourceVersion,
        creationTimestamp: existing.metadata.creationTimestamp,
        generation: existing.metadata.generation ?? 1,
      });
      // An update that changes nothing is not a write: no new revision, no event (as the apiserver does),
      // so controllers that rewrite identical status do not wake each other up forever.
      if (isDeepStrictEqual(unchangedRevision, existing)) return existing;
      const next = revision + 1;
      const generation = (existing.metadata.generation ?? 1) + (specChanged(existing, unchangedRevision) ? 1 : 0);
      const stored: StoredObject = { ...unchangedRevision, metadata: orderedMetadata({ ...unchangedRevision.metadata, resourceVersion: String(next), generation }) };
      const body = JSON.stringify(stored);
      commit(() => stmt.update.run(next, body, key, namespace, name), next);
      revision = next;
      hub.record({ revision: next, storageKey: key, type: 'MODIFIED', object: parseStored(body), previous: existing });
      return parseStored(body);
    },

    delete(t, namespace, name) {
      ensureOpen();
      const ns = t.namespaced ? namespace ?? '' : '';
      const key = storageKey(t);
      const existing = readObject(t, ns, name);
      if (!existing) throw notFound(t, name);
      const next = revision + 1;
      commit(() => stmt.remove.run(key, ns, name), next);
      revision = next;
      const tombstone: StoredObject = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(next) } };
      hub.record({ revision: next, storageKey: key, type: 'DELETED', object: tombstone, previous: existing });
      return structuredClone(existing);
    },

    watch(t, options: WatchOptions, onEvent) {
      ensureOpen();
      const filter = filterFor(t, options);
      const key = storageKey(t);
      const from = options.resourceVersion;
      let initial: WatchEvent[];
      if (from === undefined || from === '' || from === '0') {
        initial = store.list(t, options).items.map((object) => ({ type: 'ADDED', object }));
      } else {
        if (!/^\d+$/.test(from)) throw badRequest(`invalid resourceVersion "${from}" for watch: must be a decimal integer`);
        const since = Number(from);
        // A version this store never issued means the client saw another incarnation of it (a deleted
        // data directory): 410 makes its informer relist instead of waiting for revisions that never come.
        if (since > revision) throw gone(`too large resource version: ${since} (current ${revision})`);
        initial = [];
        for (const change of hub.changesSince(key, since)) {
          const event = eventFor(change, filter);
          if (event) initial.push(event);
        }
      }
      return hub.subscribe(key, filter, revision, initial, onEvent);
    },

    currentResourceVersion() {
      return String(revision);
    },

    close() {
      if (closed) return;
      closed = true;
      hub.stopAll();
      db.close();
    },
  };
  return store;
}
