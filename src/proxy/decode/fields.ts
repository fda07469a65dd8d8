// Typed reads from decoded proto objects (src/xds/protos.ts UNPACK_OPTIONS: snake_case, enums as names,
// longs as numbers, defaults omitted). Every read names its field path so a problem becomes a precise
// NACK error_detail ("virtual_hosts[0].routes[2].match.safe_regex.regex: ...").

import { errorText } from '../log.js';

export type Obj = Record<string, unknown>;

export class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

export function str(o: Obj, key: string, path: string, p: Problems): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    p.add(join(path, key), `expected a string, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v;
}

export function requiredStr(o: Obj, key: string, path: string, p: Problems): string | undefined {
  const v = str(o, key, path, p);
  if (v === undefined || v === '') p.add(join(path, key), 'is required');
  return v || undefined;
}

export function bool(o: Obj, key: string, path: string, p: Problems): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    p.add(join(path, key), `expected a bool, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v;
}

export function num(o: Obj, key: string, path: string, p: Problems): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    p.add(join(path, key), `expected a number, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return n;
}

export function obj(o: Obj, key: string, path: string, p: Problems): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) {
    p.add(join(path, key), `expected an object, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v;
}

export function arr(o: Obj, key: string, path: string, p: Problems): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    p.add(join(path, key), `expected a list, got ${JSON.stringify(v)}`);
    return [];
  }
  return v;
}

/** Each element of a repeated message field with its path; non-objects are reported. */
export function objs(o: Obj, key: string, path: string, p: Problems): { value: Obj; path: string }[] {
  const out: { value: Obj; path: string }[] = [];
  arr(o, key, path, p).forEach((item, i) => {
    const itemPath = join(join(path, key), i);
    if (isObj(item)) out.push({ value: item, path: itemPath });
    else p.add(itemPath, `expected an object, got ${JSON.stringify(item)}`);
  });
  return out;
}

export function strs(o: Obj, key: string, path: string, p: Problems): string[] {
  const out: string[] = [];
  arr(o, key, path, p).forEach((item, i) => {
    if (typeof item === 'string') out.push(item);
    else p.add(join(join(path, key), i), `expected a string, got ${JSON.stringify(item)}`);
  });
  return out;
}

/** google.protobuf.Duration {seconds, nanos} in milliseconds. */
export function durationMs(o: Obj, key: string, path: string, p: Problems): number | undefined {
  const d = obj(o, key, path, p);
  if (!d) return undefined;
  const here = join(path, key);
  const seconds = num(d, 'seconds', here, p) ?? 0;
  const nanos = num(d, 'nanos', here, p) ?? 0;
  if (seconds < 0 || nanos < 0) {
    p.add(here, 'must not be negative');
    return undefined;
  }
  return seconds * 1000 + nanos / 1e6;
}

/** google.protobuf.UInt32Value / BoolValue etc: {value}. */
export function wrappedNum(o: Obj, key: string, path: string, p: Problems): number | undefined {
  const w = obj(o, key, path, p);
  if (!w) return undefined;
  return num(w, 'value', join(path, key), p) ?? 0;
}

export function wrappedBool(o: Obj, key: string, path: string, p: Problems): boolean | undefined {
  const w = obj(o, key, path, p);
  if (!w) return undefined;
  return bool(w, 'value', join(path, key), p) ?? false;
}

/** An enum by name (UNPACK_OPTIONS enums: String); the first allowed name is the proto3 default. */
export function enumName<T extends string>(o: Obj, key: string, allowed: readonly T[], path: string, p: Problems): T | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  p.add(join(path, key), `unsupported value ${JSON.stringify(v)} (supported: ${allowed.join(', ')})`);
  return undefined;
}

/** RE2 pattern compiled as a JS RegExp anchored for a full match, as Envoy's safe_regex matches. */
export function fullRegex(pattern: string, path: string, p: Problems, flags = ''): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`, flags);
  } catch (e) {
    p.add(path, `invalid regex ${JSON.stringify(pattern)}: ${errorText(e)}`);
    return undefined;
  }
}

export function partialRegex(pattern: string, path: string, p: Problems): RegExp | undefined {
  try {
    return new RegExp(pattern, 'g');
  } catch (e) {
    p.add(path, `invalid regex ${JSON.stringify(pattern)}: ${errorText(e)}`);
    return undefined;
  }
}

const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

/** envoy.type.v3.FractionalPercent as a fraction in [0, 1]; undefined when absent (callers pick the default). */
export function fractionalPercent(o: Obj, key: string, path: string, p: Problems): number | undefined {
  const f = obj(o, key, path, p);
  if (!f) return undefined;
  const here = join(path, key);
  const numerator = num(f, 'numerator', here, p) ?? 0;
  const denomName = enumName(f, 'denominator', ['HUNDRED', 'TEN_THOUSAND', 'MILLION'] as const, here, p) ?? 'HUNDRED';
  return Math.min(1, Math.max(0, numerator / DENOMINATORS[denomName]));
}
