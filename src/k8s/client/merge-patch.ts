// kubectl's client-side apply, JSON-merge-patch flavour: a three-way patch from the last applied
// configuration, the new configuration and the live object. Fields the user removed since the last
// apply are deleted (null); fields others set (status, defaults, controllers) are left alone.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isMap(v: unknown): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality: servers return keys in their own order, which must not count as a change. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (!isMap(a) || !isMap(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
}

/** Returns undefined when nothing would change. */
export function threeWayMergePatch(original: unknown, modified: unknown, current: unknown): Json | undefined {
  if (!isMap(modified)) return deepEqual(modified, current) ? undefined : (modified as Json);
  const patch: { [key: string]: Json } = {};
  const orig = isMap(original) ? original : {};
  const cur = isMap(current) ? current : {};
  for (const key of Object.keys(orig)) {
    if (!(key in modified) && key in cur) patch[key] = null;
  }
  for (const [key, value] of Object.entries(modified)) {
    if (isMap(value) && isMap(cur[key])) {
      const sub = threeWayMergePatch(orig[key], value, cur[key]);
      if (sub !== undefined) patch[key] = sub;
    } else if (!deepEqual(value, cur[key])) {
      patch[key] = value;
    }
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
