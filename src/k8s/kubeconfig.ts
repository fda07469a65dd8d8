// kubeconfig files for the local clusters: one cluster, context and user per cluster, all three named
// after it, so `kubectl --context cluster-1` works. Merging keeps every entry it does not own.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';

export interface KubeconfigEntry {
  /** The cluster, context and user name. */
  name: string;
  /** `https://127.10.0.1:6443` */
  server: string;
  /** The CA that signed the API server's certificate. */
  caPem: string;
  /** Bearer token for the user. */
  token: string;
}

interface NamedCluster {
  name: string;
  cluster: Record<string, unknown>;
}
interface NamedContext {
  name: string;
  context: Record<string, unknown>;
}
interface NamedUser {
  name: string;
  user: Record<string, unknown>;
}

interface KubeconfigDoc {
  apiVersion: string;
  kind: string;
  clusters: NamedCluster[];
  contexts: NamedContext[];
  users: NamedUser[];
  'current-context': string;
  preferences: Record<string, unknown>;
  [field: string]: unknown;
}

function entryParts(entry: KubeconfigEntry): { cluster: NamedCluster; context: NamedContext; user: NamedUser } {
  if (!entry.name) throw new Error('a kubeconfig entry needs a name');
  return {
    cluster: {
      name: entry.name,
      cluster: { server: entry.server, 'certificate-authority-data': Buffer.from(entry.caPem, 'utf8').toString('base64') },
    },
    context: { name: entry.name, context: { cluster: entry.name, user: entry.name } },
    user: { name: entry.name, user: { token: entry.token } },
  };
}

function emptyDoc(): KubeconfigDoc {
  return { apiVersion: 'v1', kind: 'Config', clusters: [], contexts: [], users: [], 'current-context': '', preferences: {} };
}

/** Replaces items of the same name in place (keeping their order) and appends new ones. */
function upsert<T extends { name: string }>(items: T[], updates: T[]): T[] {
  const byName = new Map(updates.map((u) => [u.name, u]));
  const merged = items.map((item) => {
    const update = byName.get(item.name);
    if (!update) return item;
    byName.delete(item.name);
    return update;
  });
  return [...merged, ...byName.values()];
}

function withEntries(doc: KubeconfigDoc, entries: KubeconfigEntry[], currentContext: string): KubeconfigDoc {
  const parts = entries.map(entryParts);
  const merged: KubeconfigDoc = {
    ...doc,
    clusters: upsert(doc.clusters, parts.map((p) => p.cluster)),
    contexts: upsert(doc.contexts, parts.map((p) => p.context)),
    users: upsert(doc.users, parts.map((p) => p.user)),
    'current-context': currentContext,
  };
  if (!merged.contexts.some((c) => c.name === currentContext)) {
    throw new Error(`current context ${JSON.stringify(currentContext)} is not one of the kubeconfig's contexts`);
  }
  return merged;
}

export function buildKubeconfig(entries: KubeconfigEntry[], currentContext: string): string {
  return stringify(withEntries(emptyDoc(), entries, currentContext));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function namedList<T extends { name: string }>(value: unknown, field: string, path: string): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${path}: ${field} is not a list; not touching the file`);
  return value.map((item, i) => {
    if (!isRecord(item) || typeof item.name !== 'string') throw new Error(`${path}: ${field}[${i}] has no name; not touching the file`);
    return item as T;
  });
}

function readExisting(path: string): KubeconfigDoc {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyDoc();
    throw err;
  }
  const parsed: unknown = text.trim() === '' ? {} : parse(text);
  if (!isRecord(parsed)) throw new Error(`${path}: not a kubeconfig (expected a YAML mapping); not touching the file`);
  return {
    ...emptyDoc(),
    ...parsed,
    clusters: namedList<NamedCluster>(parsed.clusters, 'clusters', path),
    contexts: namedList<NamedContext>(parsed.contexts, 'contexts', path),
    users: namedList<NamedUser>(parsed.users, 'users', path),
    'current-context': typeof parsed['current-context'] === 'string' ? parsed['current-context'] : '',
    preferences: isRecord(parsed.preferences) ? parsed.preferences : {},
  };
}

/**
 * Writes `entries` into the kubeconfig at `path` (created if absent), replacing same-named clusters,
 * contexts and users and keeping all others, and sets the current context. The file is replaced
 * atomically with mode 0600, as it holds tokens.
 */
export function mergeKubeconfigFile(path: string, entries: KubeconfigEntry[], currentContext: string): void {
  const merged = withEntries(readExisting(path), entries, currentContext);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, stringify(merged), { mode: 0o600 });
  renameSync(temp, path);
}
