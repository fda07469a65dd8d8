// JSON Patch (RFC 6902) with JSON Pointers (RFC 6901), `Content-Type: application/json-patch+json`:
// what `kubectl patch --type json` sends, and what an admission webhook answers. fast-json-patch applies
// and computes patches; this module says what is wrong in the API server's words. Operations apply in
// order to a private copy; the first one that fails rejects the whole patch with a 400 naming its index
// and path.
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { badRequest } from '../status.js';
import { describeJsonType, isJsonObject, jsonEqual, toJson } from './json.js';
import type { JsonValue } from './json.js';

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

/**
 * What stands in the way of `pointer` in `doc`, or undefined when nothing does. `target`: whether the
 * pointed value must exist ('exists'), or only its container, as for add ('container'; '-' then names
 * the end of a list). The library accepts some of this (an index with a leading zero) or words it
 * vaguely; the API server's messages name the token and the list's length.
 */
function pointerProblem(doc: JsonValue, pointer: string, what: 'path' | 'from', target: 'exists' | 'container'): string | undefined {
  if (pointer === '') return undefined;
  if (!pointer.startsWith('/')) return `${what} "${pointer}" must be empty or start with '/'`;
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur: JsonValue = doc;
  for (const [i, token] of tokens.entries()) {
    const last = i === tokens.length - 1;
    if (Array.isArray(cur)) {
      const toEnd = last && target === 'container';
      if (toEnd && token === '-') return undefined;
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return `"${token}" in "${pointer}" is not a list index`;
      const index = Number(token);
      if (index > (toEnd ? cur.length : cur.length - 1)) return `index ${index} in "${pointer}" is out of bounds (the list has ${cur.length} items)`;
      cur = cur[index]!;
    } else if (isJsonObject(cur) && Object.prototype.hasOwnProperty.call(cur, token)) {
      cur = cur[token]!;
    } else if (last && target === 'container') {
      return isJsonObject(cur) ? undefined : `cannot add "${token}" to ${describeJsonType(cur)} at "${pointer}"`;
    } else {
      return last ? `${what} "${pointer}" does not exist` : `path "${pointer}" does not exist: no "${token}"`;
    }
  }
  return undefined;
}

/** The problem the operation meets in `doc` before it runs, or undefined. */
function operationProblem(doc: JsonValue, op: JsonPatchOperation): string | undefined {
  switch (op.op) {
    case 'add':
      return pointerProblem(doc, op.path, 'path', 'container');
    case 'remove':
      return op.path === '' ? 'cannot remove the whole document' : pointerProblem(doc, op.path, 'path', 'exists');
    case 'replace':
    case 'test':
      return pointerProblem(doc, op.path, 'path', 'exists');
    case 'move':
      if (op.path !== op.from && op.path.startsWith(`${op.from}/`)) return `cannot move "${op.from}" into its own child "${op.path}"`;
      return pointerProblem(doc, op.from, 'from', 'exists') ?? pointerProblem(doc, op.path, 'path', 'container');
    case 'copy':
      return pointerProblem(doc, op.from, 'from', 'exists') ?? pointerProblem(doc, op.path, 'path', 'container');
  }
}

/** The library's refusal, in the API server's words where it has them. */
function libraryProblem(doc: JsonValue, op: JsonPatchOperation, err: InstanceType<typeof jsonpatch.JsonPatchError>): string {
  if (err.name === 'TEST_OPERATION_FAILED' && op.op === 'test') {
    return `test failed: the value is ${JSON.stringify(jsonpatch.getValueByPointer(doc, op.path))}, expected ${JSON.stringify(op.value)}`;
  }
  return err.message.split('\n')[0]!;
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

/** The result of applying the operations in order to `target`. Neither input is modified. */
export function applyJsonPatch(target: unknown, operations: unknown): JsonValue {
  const ops = toJson(operations, 'patch');
  if (!Array.isArray(ops)) throw badRequest(`json patch must be a list of operations, got ${describeJsonType(ops)}`);
  let doc = toJson(target, 'target');
  ops.forEach((raw, index) => {
    const op = operationAt(raw, index);
    const fail = (problem: string) => badRequest(`json patch operation ${index} (${op.op} ${op.path}): ${problem}`);
    const problem = operationProblem(doc, op);
    if (problem !== undefined) throw fail(problem);
    try {
      // Values are copied in so that a later operation on the document cannot reach into the patch.
      const own = ('value' in op ? { ...op, value: structuredClone(op.value) } : op) as Operation;
      doc = jsonpatch.applyOperation(doc, own, true, true, true, index).newDocument;
    } catch (err) {
      if (err instanceof jsonpatch.JsonPatchError) throw fail(libraryProblem(doc, op, err));
      // The library refuses __proto__ and constructor/prototype with a TypeError.
      if (err instanceof TypeError && /__proto__/.test(err.message)) throw fail('__proto__, constructor and prototype cannot be patched');
      throw err;
    }
  });
  return doc;
}

/**
 * The operations that turn `before` into `after`: what a mutating admission webhook answers (Istio's
 * injector computes its patch the same way, as the difference between the pod it received and the pod
 * its templates produced). Objects are compared key by key, lists item by item.
 */
export function createJsonPatch(before: JsonValue, after: JsonValue): JsonPatchOperation[] {
  const sameKind = (Array.isArray(before) && Array.isArray(after)) || (isJsonObject(before) && isJsonObject(after));
  if (sameKind) return jsonpatch.compare(before, after) as JsonPatchOperation[];
  return jsonEqual(before, after) ? [] : [{ op: 'replace', path: '', value: after }];
}
