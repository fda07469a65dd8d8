// Strategic merge patch, `Content-Type: application/strategic-merge-patch+json`: the subset that
// `kubectl apply` (client-side), `kubectl patch`, `kubectl scale|label|annotate` send for built-in kinds.
//
// The apiserver reads each field's patch strategy from Go struct tags; we choose it by field name,
// which is what those tags amount to for the kinds we serve:
//   - maps merge recursively; a null value deletes the key;
//   - lists of objects named in MERGE_KEYS merge item by item on their merge key;
//   - `finalizers` (a list of strings) merges as a set, as metadata.finalizers does in Kubernetes;
//   - every other list is replaced by the patch's list.
// Directives: `$patch: replace|delete|merge` on maps and list items, `$setElementOrder/<field>`,
// `$deleteFromPrimitiveList/<field>`, `$retainKeys`. Any other `$` key is a 400.
// Ordering of merged lists follows apimachinery's normalizeElementOrder: items named by the patch (or
// its $setElementOrder) keep the patch's order, items only on the server keep their place relative to
// them; items the patch adds without $setElementOrder come before the server-only items that follow them.
import { badRequest } from '../../k8s/status.js';
import { describeJsonType, isJsonObject, jsonEqual, toJson } from './json.js';
import type { JsonObject, JsonValue } from './json.js';

const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  volumeMounts: 'mountPath',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
};

const MERGED_PRIMITIVE_LISTS: ReadonlySet<string> = new Set(['finalizers']);

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

type ListStrategy = { kind: 'byKey'; key: string } | { kind: 'primitives' } | { kind: 'replace' };

function listStrategy(field: string, lists: Array<readonly JsonValue[] | undefined>): ListStrategy {
  if (field === 'ports') {
    // Container ports merge on containerPort, Service ports on port (the same field name in both kinds).
    const items = lists.flatMap((l) => l ?? []).filter(isJsonObject);
    if (items.some((i) => 'containerPort' in i)) return { kind: 'byKey', key: 'containerPort' };
    if (items.some((i) => 'port' in i)) return { kind: 'byKey', key: 'port' };
    return { kind: 'replace' };
  }
  const key = MERGE_KEYS[field];
  if (key) return { kind: 'byKey', key };
  if (MERGED_PRIMITIVE_LISTS.has(field)) return { kind: 'primitives' };
  return { kind: 'replace' };
}

function fail(path: string, problem: string): never {
  throw badRequest(`strategic merge patch: ${path || '<root>'}: ${problem}`);
}

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function checkDirectiveKeys(patch: JsonObject, path: string): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith('$')) continue;
    if (key === PATCH || key === RETAIN_KEYS) continue;
    if ((key.startsWith(SET_ELEMENT_ORDER) && key.length > SET_ELEMENT_ORDER.length) || (key.startsWith(DELETE_FROM_PRIMITIVE_LIST) && key.length > DELETE_FROM_PRIMITIVE_LIST.length)) continue;
    fail(path, `unknown directive "${key}" (expected $patch, $retainKeys, $setElementOrder/<field> or $deleteFromPrimitiveList/<field>)`);
  }
}

function listDirective(patch: JsonObject, key: string, path: string): JsonValue[] {
  const value = patch[key];
  if (!Array.isArray(value)) fail(path, `"${key}" must be a list, got ${describeJsonType(value)}`);
  return value;
}

function mergeMap(original: JsonObject | undefined, patch: JsonObject, path: string): JsonObject {
  checkDirectiveKeys(patch, path);
  const directive = patch[PATCH];
  if (directive !== undefined) {
    if (directive === 'delete') return {};
    if (directive === 'replace') {
      const { [PATCH]: _directive, ...rest } = patch;
      return mergeMap(undefined, rest, path);
    }
    if (directive !== 'merge') fail(path, `unknown $patch value ${JSON.stringify(directive)} (expected replace, delete or merge)`);
  }

  const result: JsonObject = original ? { ...original } : {};

  if (RETAIN_KEYS in patch) {
    const keep = listDirective(patch, RETAIN_KEYS, path);
    if (!keep.every((k): k is string => typeof k === 'string')) fail(path, `"${RETAIN_KEYS}" must be a list of field names`);
    for (const [key, value] of Object.entries(patch)) {
      if (key.startsWith('$') || value === null) continue;
      if (!keep.includes(key)) fail(path, `"${key}" is set by the patch but missing from ${RETAIN_KEYS} ${JSON.stringify(keep)}`);
    }
    for (const key of Object.keys(result)) if (!keep.includes(key)) delete result[key];
  }

  for (const key of Object.keys(patch)) {
    if (!key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
    const remove = listDirective(patch, key, path);
    const current = result[field];
    if (Array.isArray(current)) result[field] = current.filter((v) => !remove.some((r) => jsonEqual(r, v)));
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    result[key] = mergeValue(key, result[key], value, child(path, key));
  }

  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const field = key.slice(SET_ELEMENT_ORDER.length);
    const order = listDirective(patch, key, path);
    const merged = result[field];
    if (!Array.isArray(merged)) continue;
    const before = original?.[field];
    const serverOrder = Array.isArray(before) ? before : [];
    const patchList = patch[field];
    const strategy = listStrategy(field, [serverOrder, Array.isArray(patchList) ? patchList : undefined, order]);
    if (strategy.kind === 'replace') continue;
    const identity = identityOf(strategy, child(path, key));
    result[field] = normalizeOrder(merged, order.map(identity), serverOrder.map(identity), identity);
  }
  return result;
}

function mergeValue(field: string, original: JsonValue | undefined, patch: JsonValue, path: string): JsonValue {
  if (isJsonObject(patch)) return mergeMap(isJsonObject(original) ? original : undefined, patch, path);
  if (Array.isArray(patch)) return mergeList(field, Array.isArray(original) ? original : undefined, patch, path);
  return patch;
}

/** What identifies a list item for matching and ordering: its merge key's value, or itself. */
function identityOf(strategy: ListStrategy, path: string): (item: JsonValue) => JsonValue {
  if (strategy.kind !== 'byKey') return (item) => item;
  return (item) => {
    if (!isJsonObject(item)) fail(path, `list items must be maps with the merge key "${strategy.key}", got ${describeJsonType(item)}`);
    if (!(strategy.key in item)) fail(path, `list item ${JSON.stringify(item)} does not contain the merge key "${strategy.key}"`);
    return item[strategy.key]!;
  };
}

function indexIn(ids: readonly JsonValue[], id: JsonValue): number {
  return ids.findIndex((candidate) => jsonEqual(candidate, id));
}

/**
 * Items named in `order` in that order, the others in their server order, interleaved so that a
 * server-only item stays before a named item it preceded on the server.
 */
function normalizeOrder(merged: JsonValue[], order: JsonValue[], serverOrder: JsonValue[], identity: (item: JsonValue) => JsonValue): JsonValue[] {
  const named: Array<{ item: JsonValue; at: number }> = [];
  const serverOnly: Array<{ item: JsonValue; at: number }> = [];
  for (const item of merged) {
    const id = identity(item);
    const at = indexIn(order, id);
    if (at >= 0) named.push({ item, at });
    else serverOnly.push({ item, at: indexIn(serverOrder, id) });
  }
  named.sort((a, b) => a.at - b.at);
  serverOnly.sort((a, b) => (a.at < 0 || b.at < 0 ? 0 : a.at - b.at));
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < named.length) {
    if (j >= named.length) {
      out.push(serverOnly[i++]!.item);
      continue;
    }
    if (i >= serverOnly.length) {
      out.push(named[j++]!.item);
      continue;
    }
    const left = serverOnly[i]!.at;
    const right = indexIn(serverOrder, identity(named[j]!.item));
    if (left >= 0 && right >= 0 && left < right) out.push(serverOnly[i++]!.item);
    else out.push(named[j++]!.item);
  }
  return out;
}

function mergeList(field: string, original: JsonValue[] | undefined, patch: JsonValue[], path: string): JsonValue[] {
  const strategy = listStrategy(field, [original, patch]);
  if (strategy.kind === 'replace') return patch;
  const server = original ?? [];

  if (strategy.kind === 'primitives') {
    const merged: JsonValue[] = [];
    for (const v of [...server, ...patch]) if (!merged.some((m) => jsonEqual(m, v))) merged.push(v);
    return normalizeOrder(merged, patch, server, (item) => item);
  }

  const identity = identityOf(strategy, path);
  let working = [...server];
  server.forEach((item) => identity(item));
  const items: JsonObject[] = [];
  let replaceAll = false;
  patch.forEach((raw, index) => {
    if (!isJsonObject(raw)) fail(`${path}[${index}]`, `list items must be maps with the merge key "${strategy.key}", got ${describeJsonType(raw)}`);
    const directive = raw[PATCH];
    if (directive === undefined || directive === 'merge') {
      const { [PATCH]: _merge, ...item } = raw;
      identity(item);
      items.push(item);
    } else if (directive === 'delete') {
      const id = identity(raw);
      working = working.filter((w) => !jsonEqual(identity(w), id));
    } else if (directive === 'replace') {
      replaceAll = true;
    } else {
      fail(`${path}[${index}]`, `unknown $patch value ${JSON.stringify(directive)} (expected replace, delete or merge)`);
    }
  });

  if (replaceAll) return items.map((item, index) => mergeMap(undefined, item, `${path}[${index}]`));

  for (const item of items) {
    const id = identity(item);
    const at = working.findIndex((w) => jsonEqual(identity(w), id));
    const label = `${path}[${strategy.key}=${JSON.stringify(id)}]`;
    if (at >= 0) {
      const current = working[at]!;
      working[at] = mergeMap(isJsonObject(current) ? current : undefined, item, label);
    } else {
      working.push(mergeMap(undefined, item, label));
    }
  }
  return normalizeOrder(working, items.map(identity), server.map(identity), identity);
}

/**
 * The result of applying a strategic merge patch to `original` (both JSON maps). Neither input is
 * modified. Malformed patches and unknown directives are 400 StatusErrors naming the field path.
 */
export function applyStrategicMergePatch(original: unknown, patch: unknown): JsonObject {
  const target = toJson(original, 'original');
  const body = toJson(patch, 'patch');
  if (!isJsonObject(target)) throw badRequest(`strategic merge patch: the original must be a map, got ${describeJsonType(target)}`);
  if (!isJsonObject(body)) throw badRequest(`strategic merge patch: the patch must be a map, got ${describeJsonType(body)}`);
  return mergeMap(target, body, '');
}
