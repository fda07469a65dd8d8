// The three patch formats the API server accepts, by Content-Type:
//   application/merge-patch+json          -> applyMergePatch
//   application/json-patch+json           -> applyJsonPatch
//   application/strategic-merge-patch+json -> applyStrategicMergePatch
// and createJsonPatch, the JSON patch between two documents (a mutating webhook's answer).
export { applyMergePatch } from './merge-patch.js';
export { applyJsonPatch, createJsonPatch } from './json-patch.js';
export type { JsonPatchOperation } from './json-patch.js';
export { applyStrategicMergePatch } from './strategic-merge-patch.js';
export { isJsonObject, toJson } from './json.js';
export type { JsonObject, JsonValue } from './json.js';
