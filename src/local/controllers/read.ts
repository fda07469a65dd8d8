// Narrowing of the `unknown` kind-specific fields the controllers read. A field of the wrong shape
// throws MalformedObjectError naming the field, so one bad object fails its own reconcile (logged and
// retried) instead of being half-understood.

export type JsonObject = Record<string, unknown>;

export class MalformedObjectError extends Error {
  constructor(path: string, expected: string, got: unknown) {
    super(`${path}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
    this.name = 'MalformedObjectError';
  }
}

export function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function optRecord(value: unknown, path: string): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new MalformedObjectError(path, 'an object', value);
  return value;
}

export function record(value: unknown, path: string): JsonObject {
  const result = optRecord(value, path);
  if (result === undefined) throw new MalformedObjectError(path, 'an object', value);
  return result;
}

export function optString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new MalformedObjectError(path, 'a string', value);
  return value;
}

export function optInt(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new MalformedObjectError(path, 'an integer', value);
  return value;
}

export function optBool(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new MalformedObjectError(path, 'a boolean', value);
  return value;
}

export function optArray(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new MalformedObjectError(path, 'a list', value);
  return value;
}

export function optStringMap(value: unknown, path: string): Record<string, string> | undefined {
  const obj = optRecord(value, path);
  if (obj === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'string') throw new MalformedObjectError(`${path}.${k}`, 'a string', v);
    out[k] = v;
  }
  return out;
}

/** An IntOrString field (targetPort, maxSurge): a number, or a string (a name or a percentage). */
export function optIntOrString(value: unknown, path: string): number | string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  throw new MalformedObjectError(path, 'an integer or a string', value);
}

/** JSON with object keys sorted: equal content renders equal, whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isRecord(value)) {
    const out: JsonObject = {};
    for (const key of Object.keys(value).sort()) {
      if (value[key] !== undefined) out[key] = sortKeys(value[key]);
    }
    return out;
  }
  return value;
}

/** A deep copy of plain JSON data. */
export function cloneJson<T>(value: T): T {
  return structuredClone(value);
}
