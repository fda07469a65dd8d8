// The walks server-side apply makes over objects with their schema (structured-merge-diff's typed
// package): the set of fields an object sets, the fields that differ between two objects, the merge
// of an applied configuration into a live object, and the removal of fields an applier gave up.
import { FieldSet, fieldElement, keyElement, pathText } from './field-set.js';
import type { FieldPath, PathElement } from './field-set.js';
import { isJsonObject, jsonEqual } from '../../k8s/patch/json.js';
import type { JsonObject, JsonValue } from '../../k8s/patch/json.js';
import type { ListSemantics, TypedNode } from './typed-schema.js';
import { DEDUCED } from './typed-schema.js';

/** An object that does not fit its schema where server-side apply needs it to; the message names the path. */
export class SchemaMismatch extends Error {
  constructor(path: FieldPath, problem: string) {
    super(`${pathText(path) || '.'}: ${problem}`);
    this.name = 'SchemaMismatch';
  }
}

/** Strict walks refuse fields the schema does not declare; lenient ones treat them as untyped. */
interface WalkOptions {
  strict: boolean;
}

function child(node: TypedNode, key: string, path: FieldPath, opts: WalkOptions): TypedNode {
  switch (node.kind) {
    case 'struct': {
      const declared = node.field(key) ?? node.rest;
      if (declared) return declared;
      if (opts.strict) throw new SchemaMismatch([...path, fieldElement(key)], 'field not declared in schema');
      return DEDUCED;
    }
    case 'map':
      return node.values;
    default:
      return DEDUCED;
  }
}

function isDeclaredField(node: TypedNode, key: string): boolean {
  return node.kind === 'struct' && node.field(key) !== undefined;
}

/** Whether the node is compared and merged as one value at this value. */
function isLeaf(node: TypedNode, value: JsonValue | undefined): boolean {
  switch (node.kind) {
    case 'struct':
    case 'map':
      return node.atomic || (value !== undefined && value !== null && !isJsonObject(value));
    case 'list':
      return node.list.type === 'atomic' || (value !== undefined && value !== null && !Array.isArray(value));
    case 'deduced':
      return value !== undefined && value !== null && !isJsonObject(value);
  }
}

function asObject(value: JsonValue | undefined): JsonObject {
  return isJsonObject(value ?? null) ? (value as JsonObject) : {};
}

function asList(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

function isEmptyValue(value: JsonValue | undefined): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isJsonObject(value) && Object.keys(value).length === 0;
}

/** The element naming a list item: its key fields (defaults filled in) or, in a set, its value. */
function itemElement(list: ListSemantics, item: JsonValue, path: FieldPath, index: number): PathElement {
  if (list.type === 'set') {
    if (isJsonObject(item) || Array.isArray(item)) throw new SchemaMismatch(path, `element ${index}: a set may only hold scalars`);
    return { value: item };
  }
  if (list.type !== 'map') throw new SchemaMismatch(path, 'an atomic list has no items to name');
  if (!isJsonObject(item)) throw new SchemaMismatch(path, `element ${index}: associative list with keys may not have ${item === null ? 'a null element' : 'non-map elements'}`);
  const keys: Array<[string, JsonValue]> = [];
  for (const name of list.keys) {
    const value = item[name] ?? list.keyDefaults[name];
    if (value !== undefined && value !== null) keys.push([name, value]);
  }
  if (keys.length === 0) {
    throw new SchemaMismatch(path, `element ${index}: associative list with keys has an element that omits all key fields ${JSON.stringify(list.keys)} (and doesn't have default values for any key fields)`);
  }
  return keyElement(keys);
}

/** The items of a list by element token, first occurrence first; `strict` refuses repeated keys. */
function indexItems(node: Extract<TypedNode, { kind: 'list' }>, items: JsonValue[], path: FieldPath, strict: boolean): Map<string, { pe: PathElement; item: JsonValue }> {
  const out = new Map<string, { pe: PathElement; item: JsonValue }>();
  items.forEach((item, i) => {
    const pe = itemElement(node.list, item, path, i);
    const token = JSON.stringify(pe);
    if (out.has(token)) {
      if (strict) throw new SchemaMismatch(path, `duplicate entries for key ${pathText([pe])}`);
      return;
    }
    out.set(token, { pe, item });
  });
  return out;
}

/**
 * The fields `value` sets (ToFieldSet): every scalar, atomic value, list item and map entry; a struct
 * field only through what it holds, unless it is empty or null. Strict: undeclared fields and repeated
 * list keys are SchemaMismatch errors (what an apply body must not contain).
 */
export function toFieldSet(value: JsonValue, node: TypedNode, opts: WalkOptions = { strict: false }): FieldSet {
  const set = new FieldSet();
  const walk = (v: JsonValue, n: TypedNode, path: FieldPath): void => {
    if (isLeaf(n, v) || v === null) {
      set.insert(path);
      return;
    }
    if (n.kind === 'list') {
      for (const { pe, item } of indexItems(n, asList(v), path, opts.strict).values()) {
        const itemPath = [...path, pe];
        if (n.list.type === 'map') walk(item, n.items, itemPath);
        set.insert(itemPath);
      }
      return;
    }
    for (const [key, fieldValue] of Object.entries(asObject(v))) {
      const fieldPath = [...path, fieldElement(key)];
      walk(fieldValue, child(n, key, path, opts), fieldPath);
      if (isEmptyValue(fieldValue) && !Array.isArray(fieldValue)) set.insert(fieldPath);
      else if (!isDeclaredField(n, key)) set.insert(fieldPath);
    }
  };
  walk(value, node, []);
  return set;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** The empty value a struct's always-serialized field has when unset: `{}`, or null for a list. */
function serializedEmpty(node: TypedNode): JsonValue {
  return node.kind === 'list' ? null : {};
}

/** The value of `key` in a struct that exists, counting always-serialized fields as present. */
function fieldValue(parent: JsonValue | undefined, node: TypedNode, key: string, fieldNode: TypedNode): JsonValue | undefined {
  if (!isJsonObject(parent ?? null)) return undefined;
  const v = (parent as JsonObject)[key];
  if (v !== undefined) return v;
  return node.kind === 'struct' && node.alwaysSerialized.has(key) ? serializedEmpty(fieldNode) : undefined;
}

/**
 * What changed from `lhs` to `rhs` (Compare): paths only in rhs are added, only in lhs removed; leaves
 * (scalars, atomic values) present in both with different values are modified. A map or list node is
 * itself added or removed when it appears or disappears.
 */
export function compare(lhs: JsonValue, rhs: JsonValue, node: TypedNode): Comparison {
  const out: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  const leaf = (l: JsonValue | undefined, r: JsonValue | undefined, path: FieldPath): void => {
    if (l === undefined) out.added.insert(path);
    else if (r === undefined) out.removed.insert(path);
    else if (!jsonEqual(l, r)) out.modified.insert(path);
  };
  const walk = (l: JsonValue | undefined, r: JsonValue | undefined, n: TypedNode, path: FieldPath): void => {
    if (l === undefined && r === undefined) return;
    const bothEmpty = isEmptyValue(l) && isEmptyValue(r);
    if (isLeaf(n, l) || isLeaf(n, r) || bothEmpty) {
      if (path.length > 0) leaf(l, r, path);
      return;
    }
    if (n.kind === 'list') {
      const left = indexItems(n, asList(l), path, false);
      const right = indexItems(n, asList(r), path, false);
      const tokens = [...left.keys(), ...[...right.keys()].filter((t) => !left.has(t))];
      for (const token of tokens) {
        const pe = (left.get(token) ?? right.get(token))!.pe;
        walk(left.get(token)?.item, right.get(token)?.item, n.list.type === 'map' ? n.items : DEDUCED, [...path, pe]);
      }
    } else {
      const keys = new Set([...Object.keys(asObject(l)), ...Object.keys(asObject(r))]);
      for (const key of keys) {
        const fieldNode = child(n, key, path, { strict: false });
        walk(fieldValue(l, n, key, fieldNode), fieldValue(r, n, key, fieldNode), fieldNode, [...path, fieldElement(key)]);
      }
    }
    if (path.length === 0) return;
    if (l === undefined) out.added.insert(path);
    else if (r === undefined) out.removed.insert(path);
  };
  walk(lhs, rhs, node, []);
  return out;
}

/**
 * Items of the merged list in structured-merge-diff's order: the applied items in their order, live
 * items the configuration does not name kept where they were relative to their neighbours.
 */
function mergeList(n: Extract<TypedNode, { kind: 'list' }>, l: JsonValue[], r: JsonValue[], path: FieldPath): JsonValue[] {
  const left = l.map((item, i) => ({ token: JSON.stringify(itemElement(n.list, item, path, i)), item }));
  const right = indexItems(n, r, path, true);
  const rightTokens = [...right.keys()];
  const leftByToken = new Map<string, JsonValue>();
  for (const { token, item } of left) if (!leftByToken.has(token)) leftByToken.set(token, item);
  const shared = rightTokens.filter((t) => leftByToken.has(t));
  const itemNode = n.list.type === 'map' ? n.items : DEDUCED;
  const out: JsonValue[] = [];
  const emitted = new Set<string>();
  const emitRight = (token: string): void => {
    const { pe, item } = right.get(token)!;
    const merged = mergeValue(leftByToken.get(token), item, itemNode, [...path, pe]);
    if (merged !== undefined) out.push(merged);
    emitted.add(token);
    if (shared[0] === token) shared.shift();
  };
  let li = 0;
  let ri = 0;
  while (li < left.length || ri < rightTokens.length) {
    const lt = left[li]?.token;
    const rt = rightTokens[ri];
    if (lt !== undefined && lt === rt) {
      emitRight(rt);
      li++;
      ri++;
      continue;
    }
    if (lt !== undefined) {
      if (!right.has(lt)) {
        out.push(left[li]!.item);
        li++;
        continue;
      }
      // A live item the configuration names elsewhere: it comes out where the configuration puts it.
      if (emitted.has(lt) || shared[0] !== lt) {
        li++;
        continue;
      }
    }
    if (rt === undefined) {
      li++;
      continue;
    }
    emitRight(rt);
    ri++;
  }
  return out;
}

/** undefined = the merged value is absent (a null in the configuration unsets the field). */
function mergeValue(l: JsonValue | undefined, r: JsonValue | undefined, n: TypedNode, path: FieldPath): JsonValue | undefined {
  if (r === undefined) return l;
  if (r === null) return undefined;
  if (l === undefined || l === null || isLeaf(n, l) || isLeaf(n, r) || (isEmptyValue(l) && isEmptyValue(r))) return structuredClone(r);
  if (n.kind === 'list') return mergeList(n, asList(l), asList(r), path);
  const live = asObject(l);
  const config = asObject(r);
  const out: JsonObject = {};
  for (const key of new Set([...Object.keys(live), ...Object.keys(config)])) {
    const merged = mergeValue(live[key], config[key], child(n, key, path, { strict: false }), [...path, fieldElement(key)]);
    if (merged !== undefined) out[key] = merged;
  }
  return out;
}

/** The live object with the applied configuration merged in (typed Merge): the configuration wins. */
export function merge(live: JsonObject, config: JsonObject, node: TypedNode): JsonObject {
  return asObject(mergeValue(live, config, node, []) ?? {});
}

/**
 * Removes from `obj` what `drop` names and `keep` does not (the prune of an apply). A struct field is
 * named by the paths below it too (structured-merge-diff's EnsureNamedFieldsAreMembers), so a struct
 * the applier no longer sets goes as a whole; anything `keep` holds at or below a path saves it.
 */
export function removeFields(obj: JsonObject, drop: FieldSet, keep: FieldSet, node: TypedNode): JsonObject {
  const walk = (v: JsonValue, n: TypedNode, path: FieldPath): JsonValue | undefined => {
    if (isLeaf(n, v) || v === null) return v;
    const named = (p: FieldPath, declared: boolean) => drop.has(p) || (declared && drop.hasPrefix(p));
    if (n.kind === 'list') {
      const out: JsonValue[] = [];
      asList(v).forEach((item, i) => {
        const p = [...path, itemElement(n.list, item, path, i)];
        if (named(p, false) && !keep.hasPrefix(p)) return;
        out.push(drop.hasPrefix(p) && n.list.type === 'map' ? (walk(item, n.items, p) ?? item) : item);
      });
      return out;
    }
    const out: JsonObject = {};
    for (const [key, fieldValue] of Object.entries(asObject(v))) {
      const p = [...path, fieldElement(key)];
      if (named(p, isDeclaredField(n, key)) && !keep.hasPrefix(p)) continue;
      if (!drop.hasPrefix(p)) {
        out[key] = fieldValue;
        continue;
      }
      const pruned = walk(fieldValue, child(n, key, path, { strict: false }), p);
      if (pruned !== undefined) out[key] = pruned;
    }
    return out;
  };
  return asObject(walk(obj, node, []) ?? {});
}
