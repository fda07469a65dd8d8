// PATCH bodies by media type. Server-side apply (application/apply-patch+yaml) is apply.ts's.
import type { ResourceType } from '../../k8s/kinds.js';
import { badRequest, StatusError } from '../../k8s/status.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from '../../k8s/patch/index.js';
import type { JsonValue } from '../../k8s/patch/index.js';
import { mediaType } from './http.js';

export type PatchKind = 'json' | 'merge' | 'strategic';

/** Built-in groups have strategic merge patch; custom resources do not, as in Kubernetes. */
function supportsStrategic(t: ResourceType): boolean {
  return ['', 'apps', 'batch', 'discovery.k8s.io', 'autoscaling', 'rbac.authorization.k8s.io'].includes(t.group);
}

/** Server-side apply bodies (YAML; the CBOR form is refused where it arrives). */
export function isApplyPatch(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return type === 'application/apply-patch+yaml' || type === 'application/apply-patch+cbor';
}

export function unsupportedMediaType(message: string): StatusError {
  return new StatusError(415, 'UnsupportedMediaType', message);
}

export function patchKindOf(t: ResourceType, contentType: string | undefined): PatchKind {
  const type = mediaType(contentType);
  switch (type) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      if (supportsStrategic(t)) return 'strategic';
      break;
  }
  const accepted = supportsStrategic(t)
    ? 'application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml'
    : 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml';
  throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${accepted}`);
}

export function parsePatchBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the patch body is empty');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

export function applyPatch(kind: PatchKind, target: unknown, patch: unknown): JsonValue {
  switch (kind) {
    case 'json':
      return applyJsonPatch(target, patch);
    case 'merge':
      return applyMergePatch(target, patch);
    case 'strategic':
      return applyStrategicMergePatch(target, patch);
  }
}

/** Whether the patch itself names a resourceVersion (then a conflict is the client's to handle). */
export function patchSetsResourceVersion(kind: PatchKind, patch: unknown): boolean {
  if (kind === 'json') return JSON.stringify(patch).includes('/metadata/resourceVersion');
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return false;
  const metadata = 'metadata' in patch ? patch.metadata : undefined;
  return typeof metadata === 'object' && metadata !== null && 'resourceVersion' in metadata;
}
