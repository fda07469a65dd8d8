// JSON values as the patch algorithms see them, and the deep copy that turns caller input (objects from
// JSON.parse or from the store) into them, so no algorithm ever mutates or aliases its inputs.
import { isDeepStrictEqual } from 'node:util';
import { badRequest } from '../../k8s/status.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A deep copy of `value` as JSON would carry it: object properties that are undefined are dropped
 * (JSON.stringify does the same); anything JSON cannot hold is a 400 naming `what`.
 */
export function toJson(value: unknown, what: string): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw badRequest(`${what}: ${value} is not a JSON number`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => toJson(item === undefined ? null : item, `${what}[${i}]`));
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = toJson(item, `${what}.${key}`);
    }
    return out;
  }
  throw badRequest(`${what}: a ${typeof value} is not a JSON value`);
}

export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  return isDeepStrictEqual(a, b);
}

export function describeJsonType(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}
