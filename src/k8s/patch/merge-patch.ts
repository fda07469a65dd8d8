// JSON merge patch (RFC 7386), `Content-Type: application/merge-patch+json`: what `kubectl patch --type
// merge` sends, and what kubectl apply sends for types it has no strategic schema for.
import { isJsonObject, toJson } from './json.js';
import type { JsonObject, JsonValue } from './json.js';

function merge(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return patch;
  const out: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = merge(out[key], value);
  }
  return out;
}

/** The result of applying `patch` to `target`. Neither input is modified. */
export function applyMergePatch(target: unknown, patch: unknown): JsonValue {
  return merge(toJson(target, 'target'), toJson(patch, 'patch'));
}
