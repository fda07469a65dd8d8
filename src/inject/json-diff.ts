// The JSON Patch (RFC 6902) that turns one document into another, as the injector answers the API
// server: Istio computes its patch the same way, as the difference between the pod it received and the
// pod its templates produced, so the patch stays correct whatever the templates change.
import { isDeepStrictEqual } from 'node:util';
import type { JsonPatchOperation, JsonValue } from '../k8s/patch/index.js';
import { isJsonObject } from '../k8s/patch/index.js';

/** RFC 6901 escaping of one reference token: '~' first, then '/'. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Operations that make `before` equal to `after`. Objects are compared key by key, lists item by item
 * (appended items become `add` at their index, removed tail items `remove` from the end), anything
 * else that differs is replaced whole.
 */
export function createJsonPatch(before: JsonValue, after: JsonValue, path = ''): JsonPatchOperation[] {
  if (isDeepStrictEqual(before, after)) return [];
  if (isJsonObject(before) && isJsonObject(after)) {
    const ops: JsonPatchOperation[] = [];
    for (const key of Object.keys(before)) {
      if (!(key in after)) ops.push({ op: 'remove', path: `${path}/${escapePointerToken(key)}` });
    }
    for (const [key, value] of Object.entries(after)) {
      const at = `${path}/${escapePointerToken(key)}`;
      if (key in before) ops.push(...createJsonPatch(before[key]!, value, at));
      else ops.push({ op: 'add', path: at, value });
    }
    return ops;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const ops: JsonPatchOperation[] = [];
    const common = Math.min(before.length, after.length);
    for (let i = 0; i < common; i++) ops.push(...createJsonPatch(before[i]!, after[i]!, `${path}/${i}`));
    for (let i = common; i < after.length; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: after[i]! });
    // From the end, so earlier indexes stay valid while removing.
    for (let i = before.length - 1; i >= common; i--) ops.push({ op: 'remove', path: `${path}/${i}` });
    return ops;
  }
  return [{ op: 'replace', path: path, value: after }];
}
