// JSON Patch (RFC 6902) with JSON Pointers (RFC 6901), `Content-Type: application/json-patch+json`:
// what `kubectl patch --type json` sends. Operations apply in order to a private copy; the first one
// that fails rejects the whole patch with a 400 naming its index and path.
import { badRequest } from '../../k8s/status.js';
import { describeJsonType, isJsonObject, jsonEqual, toJson } from './json.js';
import type { JsonValue } from './json.js';

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

class OperationError extends Error {}

function parsePointer(pointer: string, what: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new OperationError(`${what} "${pointer}" must be empty or start with '/'`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) throw new OperationError(`${what} "${pointer}" has an invalid escape ('~' must be followed by 0 or 1)`);
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** An array index token: '0' or digits without a leading zero. */
function arrayIndex(token: string, length: number, allowEnd: boolean, pointer: string): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new OperationError(`"${token}" in "${pointer}" is not a list index`);
  const index = Number(token);
  const max = allowEnd ? length : length - 1;
  if (index > max) throw new OperationError(`index ${index} in "${pointer}" is out of bounds (the list has ${length} items)`);
  return index;
}

/** The container that holds the last token of `tokens`, which must exist. */
function parentOf(doc: JsonValue, tokens: string[], pointer: string): JsonValue {
  let cur: JsonValue = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(token, cur.length, false, pointer)]!;
    else if (isJsonObject(cur) && Object.prototype.hasOwnProperty.call(cur, token)) cur = cur[token]!;
    else throw new OperationError(`path "${pointer}" does not exist: no "${token}"`);
  }
  return cur;
}

function getValue(doc: JsonValue, pointer: string, what: string): JsonValue {
  const tokens = parsePointer(pointer, what);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false, pointer)]!;
  if (isJsonObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) return parent[last]!;
  throw new OperationError(`${what} "${pointer}" does not exist`);
}

/** Returns the new document (a replaced root) or the same document changed in place. */
function addValue(doc: JsonValue, pointer: string, value: JsonValue): JsonValue {
  const tokens = parsePointer(pointer, 'path');
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, pointer), 0, value);
  else if (isJsonObject(parent)) parent[last] = value;
  else throw new OperationError(`cannot add "${last}" to ${describeJsonType(parent)} at "${pointer}"`);
  return doc;
}

function removeValue(doc: JsonValue, pointer: string): JsonValue {
  const tokens = parsePointer(pointer, 'path');
  if (tokens.length === 0) throw new OperationError('cannot remove the whole document');
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(last, parent.length, false, pointer), 1)[0]!;
  if (isJsonObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    const removed = parent[last]!;
    delete parent[last];
    return removed;
  }
  throw new OperationError(`path "${pointer}" does not exist`);
}

function operationAt(raw: JsonValue, index: number): JsonPatchOperation {
  if (!isJsonObject(raw)) throw badRequest(`json patch operation ${index}: must be a map, got ${describeJsonType(raw)}`);
  const { op, path } = raw;
  if (typeof path !== 'string') throw badRequest(`json patch operation ${index} (${String(op)}): "path" must be a string`);
  const fail = (problem: string) => badRequest(`json patch operation ${index} (${String(op)} ${path}): ${problem}`);
  switch (op) {
    case 'add':
    case 'replace':
    case 'test':
      if (!('value' in raw)) throw fail('missing "value"');
      return { op, path, value: raw.value! };
    case 'remove':
      return { op, path };
    case 'move':
    case 'copy':
      if (typeof raw.from !== 'string') throw fail('"from" must be a string');
      return { op, from: raw.from, path };
    default:
      throw fail(`unknown op "${String(op)}" (expected add, remove, replace, move, copy or test)`);
  }
}

function applyOne(doc: JsonValue, op: JsonPatchOperation): JsonValue {
  switch (op.op) {
    case 'add':
      return addValue(doc, op.path, op.value);
    case 'remove':
      removeValue(doc, op.path);
      return doc;
    case 'replace':
      getValue(doc, op.path, 'path');
      if (op.path === '') return op.value;
      removeValue(doc, op.path);
      return addValue(doc, op.path, op.value);
    case 'move': {
      if (op.path !== op.from && op.path.startsWith(`${op.from}/`)) throw new OperationError(`cannot move "${op.from}" into its own child "${op.path}"`);
      getValue(doc, op.from, 'from');
      if (op.from === op.path) return doc;
      const value = removeValue(doc, op.from);
      return addValue(doc, op.path, value);
    }
    case 'copy':
      return addValue(doc, op.path, structuredClone(getValue(doc, op.from, 'from')));
    case 'test': {
      const actual = getValue(doc, op.path, 'path');
      if (!jsonEqual(actual, op.value)) throw new OperationError(`test failed: the value is ${JSON.stringify(actual)}, expected ${JSON.stringify(op.value)}`);
      return doc;
    }
  }
}

/** The result of applying the operations in order to `target`. Neither input is modified. */
export function applyJsonPatch(target: unknown, operations: unknown): JsonValue {
  const ops = toJson(operations, 'patch');
  if (!Array.isArray(ops)) throw badRequest(`json patch must be a list of operations, got ${describeJsonType(ops)}`);
  let doc = toJson(target, 'target');
  ops.forEach((raw, index) => {
    const op = operationAt(raw, index);
    try {
      // Values are copied in so that a later operation on the document cannot reach into the patch.
      doc = applyOne(doc, 'value' in op ? { ...op, value: structuredClone(op.value) } : op);
    } catch (err) {
      if (err instanceof OperationError) throw badRequest(`json patch operation ${index} (${op.op} ${op.path}): ${err.message}`);
      throw err;
    }
  });
  return doc;
}
