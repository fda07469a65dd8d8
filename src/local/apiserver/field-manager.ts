// Field ownership on every write the API server takes, as the apiserver's field manager records it in
// `metadata.managedFields`: who wrote (the `fieldManager` parameter, else the program name of the
// User-Agent), how (Update, or Apply for server-side apply), through which endpoint (subresource).
import type { ResourceType } from '../../k8s/kinds.js';
import { apiVersionOf } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { StatusError, invalid } from '../../k8s/status.js';
import { formatTimestamp } from '../store/metadata.js';
import { FieldSet, fieldElement } from '../managed-fields/field-set.js';
import type { JsonObject } from '../../k8s/patch/json.js';
import { MAX_MANAGER_LENGTH, ManagedFieldsError, fieldManagerProblems, isPrintable, readManagedFields, updateOwnership, writeManagedFields } from '../managed-fields/managed-fields.js';
import type { Managers, OwnershipContext, Writer } from '../managed-fields/managed-fields.js';
import { kindTypedNode } from '../managed-fields/typed-schema.js';
import { SchemaMismatch } from '../managed-fields/typed-ops.js';
import { isDeepStrictEqual } from 'node:util';

export type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions';

/** A 422 about the request's options, as ValidateCreateOptions & co answer. */
export function invalidOptions(kind: OptionsKind, field: string, message: string): StatusError {
  return new StatusError(422, 'Invalid', `${kind}.meta.k8s.io "" is invalid: ${field}: ${message}`, {
    group: 'meta.k8s.io',
    kind,
    causes: [{ reason: message.startsWith('Required') ? 'FieldValueRequired' : message.startsWith('Forbidden') ? 'FieldValueForbidden' : 'FieldValueInvalid', message, field }],
  });
}

/** The program name of a User-Agent (`kubectl/v1.32.0 (linux/amd64) kubernetes/abc` -> `kubectl`), printable, at most 128 bytes. */
export function managerFromUserAgent(userAgent: string | undefined): string {
  let out = '';
  for (const ch of (userAgent ?? '').split('/')[0]!) {
    if (!isPrintable(ch)) continue;
    if (Buffer.byteLength(out + ch) > MAX_MANAGER_LENGTH) break;
    out += ch;
  }
  return out;
}

/** The `fieldManager` parameter, checked; '' when absent. */
export function fieldManagerParam(query: URLSearchParams, kind: OptionsKind): string {
  const name = query.get('fieldManager') ?? '';
  const problems = fieldManagerProblems(name);
  if (problems.length > 0) throw invalidOptions(kind, 'fieldManager', problems[0]!);
  return name;
}

/** Who an Update is recorded as: the fieldManager parameter, else the User-Agent's program, else "unknown". */
export function updateManager(query: URLSearchParams, userAgent: string | undefined, kind: OptionsKind): string {
  if (kind === 'PatchOptions' && query.has('force')) throw invalidOptions(kind, 'force', 'Forbidden: may not be specified for non-apply patch');
  return fieldManagerParam(query, kind) || managerFromUserAgent(userAgent) || 'unknown';
}

export type TrackedEndpoint = 'main' | 'status' | 'scale';

/** Fields a write through `endpoint` cannot own, because that endpoint resets them (the strategies' reset fields). */
function ignoredFields(t: ResourceType, endpoint: TrackedEndpoint, objects: KubeObject[]): FieldSet {
  if (endpoint === 'status') {
    const keys = new Set(objects.flatMap((o) => Object.keys(o)).filter((k) => k !== 'status' && k !== 'apiVersion' && k !== 'kind'));
    return FieldSet.of(...[...keys].map((k) => [fieldElement(k)]));
  }
  return t.subresources.includes('status') ? FieldSet.of([fieldElement('status')]) : new FieldSet();
}

export function ownershipContext(t: ResourceType, apiVersion: string, endpoint: TrackedEndpoint, objects: KubeObject[]): OwnershipContext | undefined {
  const node = kindTypedNode(apiVersion, t.kind);
  return node ? { node, ignored: ignoredFields(t, endpoint, objects) } : undefined;
}

/** The object without managedFields, as ownership is computed on. */
export function withoutManagedFields(obj: KubeObject): JsonObject {
  const { managedFields: _managed, ...metadata } = obj.metadata;
  return { ...obj, metadata } as JsonObject;
}

/** The managers an object records; an unreadable record counts as none (the apiserver starts over too). */
export function managersOf(obj: KubeObject | undefined): Managers {
  if (!obj) return new Map();
  try {
    const read = readManagedFields(obj.metadata.managedFields);
    return read.kind === 'entries' ? read.managers : new Map();
  } catch {
    return new Map();
  }
}

export function withManagers<T extends KubeObject>(obj: T, managers: Managers): T {
  const { managedFields: _old, ...metadata } = obj.metadata;
  const entries = writeManagedFields(managers);
  return { ...obj, metadata: entries ? { ...metadata, managedFields: entries } : metadata };
}

export interface UpdateTracking {
  type: ResourceType;
  group: string;
  version: string;
  endpoint: TrackedEndpoint;
  manager: string;
  /** The stored object; undefined for a create. */
  live?: KubeObject;
  /** When the write happens (ms since the epoch). */
  now: number;
}

/**
 * `next` with the managedFields an Update by `manager` leaves (the apiserver's FieldManager.Update):
 * starting from the managedFields the request carries (a JSON patch of them, `[]` or `[{}]` to reset),
 * or else the stored ones. An existing object that records no managers is not tracked, as in Kubernetes.
 */
export function trackUpdate(next: KubeObject, w: UpdateTracking): KubeObject {
  const apiVersion = apiVersionOf(w.group, w.version);
  const ctx = ownershipContext(w.type, apiVersion, w.endpoint, w.live ? [w.live, next] : [next]);
  if (!ctx) return next;
  let base: Managers;
  if (w.endpoint !== 'main' || (w.live && isDeepStrictEqual(next.metadata.managedFields, w.live.metadata.managedFields))) base = managersOf(w.live);
  else {
    let sent;
    try {
      sent = readManagedFields(next.metadata.managedFields);
    } catch (err) {
      if (!(err instanceof ManagedFieldsError)) throw err;
      throw invalid(w.type, next.metadata.name ?? '', [{ reason: 'FieldValueInvalid', field: err.field, message: err.problem }]);
    }
    base = sent.kind === 'entries' ? sent.managers : sent.kind === 'reset' ? new Map() : managersOf(w.live);
  }
  if (w.live && base.size === 0) return withManagers(next, base);
  const writer: Writer = { manager: w.manager, apiVersion, ...(w.endpoint !== 'main' ? { subresource: w.endpoint } : {}), now: formatTimestamp(new Date(w.now)) };
  try {
    return withManagers(next, updateOwnership(w.live ? withoutManagedFields(w.live) : {}, withoutManagedFields(next), base, writer, ctx));
  } catch (err) {
    // An object that does not fit its schema (a container without a name): validation will say what is
    // wrong; the apiserver keeps the stored managedFields in that case rather than failing the write.
    if (err instanceof SchemaMismatch) return withManagers(next, base);
    throw err;
  }
}
