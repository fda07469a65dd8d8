// Field ownership, as the Kubernetes apiserver keeps it in `metadata.managedFields` (k8s.io/apimachinery
// managedfields + structured-merge-diff's merge.Updater), pure: no clock, no I/O.
//
// Every manager entry is identified by manager name, operation and subresource (and, for Update, the
// apiVersion written). An Update takes ownership of every field it changes, from everyone; an Apply
// owns exactly the fields of its configuration, removes the fields it owned before and no longer sets
// (unless someone else owns them), and fails with conflicts when it would change a field another
// manager owns, unless forced, in which case it takes it.
import { FieldSet, fieldElement, pathText } from './field-set.js';
import type { FieldPath } from './field-set.js';
import { isJsonObject, jsonEqual } from '../../k8s/patch/json.js';
import type { JsonObject, JsonValue } from '../../k8s/patch/json.js';
import { compare, merge, removeFields, toFieldSet } from './typed-ops.js';
import type { Comparison } from './typed-ops.js';
import type { TypedNode } from './typed-schema.js';

export type Operation = 'Apply' | 'Update';

/** One `metadata.managedFields` entry, in the apiserver's field order. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

export interface Manager {
  manager: string;
  operation: Operation;
  /** The apiVersion the manager wrote with (an Apply entry records the last one). */
  apiVersion: string;
  subresource?: string;
  time?: string;
  fields: FieldSet;
}

/** Managers by identity (see managerId). */
export type Managers = Map<string, Manager>;

/** The identity of an entry, as BuildManagerIdentifier: Apply entries are one per manager whatever the version. */
export function managerId(m: { manager: string; operation: Operation; apiVersion: string; subresource?: string }): string {
  return JSON.stringify([m.manager, m.operation, m.operation === 'Update' ? m.apiVersion : '', m.subresource ?? '']);
}

/** How a conflict names a manager: `"kubectl-client-side-apply" using apps/v1`, `"x" with subresource "status"`. */
export function describeManager(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  let text = JSON.stringify(m.manager);
  if (m.subresource) text += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') text += ` using ${m.apiVersion}`;
  return text;
}

export const MAX_MANAGER_LENGTH = 128;

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrintable(ch: string): boolean {
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch);
}

/** Problems of a manager name (the apiserver's ValidateFieldManager); [] when valid. */
export function fieldManagerProblems(name: string): string[] {
  const problems: string[] = [];
  if (Buffer.byteLength(name) > MAX_MANAGER_LENGTH) problems.push(`Too long: may not be more than ${MAX_MANAGER_LENGTH} bytes`);
  [...name].forEach((ch, i) => {
    if (!isPrintable(ch)) problems.push(`Invalid value: ${JSON.stringify(name)}: invalid character U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} (at position ${i})`);
  });
  return problems;
}

/** `metadata.managedFields` as sent: absent (undefined), a reset (`[]` or `[{}]`), or entries. */
export type ManagedFieldsInput = { kind: 'absent' } | { kind: 'reset' } | { kind: 'entries'; managers: Managers };

/** A bad `metadata.managedFields`: `field` is the path of the bad part (`metadata.managedFields[0].operation`). */
export class ManagedFieldsError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ManagedFieldsError';
  }
}

/** Reads `metadata.managedFields`; throws a ManagedFieldsError naming the first bad entry. */
export function readManagedFields(value: unknown): ManagedFieldsInput {
  if (value === undefined || value === null) return { kind: 'absent' };
  if (!Array.isArray(value)) throw new ManagedFieldsError('metadata.managedFields', 'must be a list');
  if (value.length === 0 || (value.length === 1 && isJsonObject(value[0]) && Object.keys(value[0]).length === 0)) return { kind: 'reset' };
  const managers: Managers = new Map();
  value.forEach((raw: unknown, i) => {
    const at = `metadata.managedFields[${i}]`;
    if (!isJsonObject(raw as JsonValue)) throw new ManagedFieldsError(at, 'must be an object');
    const e = raw as Record<string, unknown>;
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new ManagedFieldsError(`${at}.operation`, `Unsupported value: ${JSON.stringify(e.operation ?? '')}: supported values: "Apply", "Update"`);
    if (typeof e.apiVersion !== 'string' || e.apiVersion === '') throw new ManagedFieldsError(`${at}.apiVersion`, 'must not be empty');
    if (e.fieldsType !== 'FieldsV1') throw new ManagedFieldsError(`${at}.fieldsType`, `Invalid value: ${JSON.stringify(e.fieldsType ?? '')}: must be \`FieldsV1\``);
    if (typeof e.manager !== 'string') throw new ManagedFieldsError(`${at}.manager`, 'must be a string');
    const problems = fieldManagerProblems(e.manager);
    if (problems.length > 0) throw new ManagedFieldsError(`${at}.manager`, problems[0]!);
    if (e.subresource !== undefined && typeof e.subresource !== 'string') throw new ManagedFieldsError(`${at}.subresource`, 'must be a string');
    if (e.time !== undefined && e.time !== null && typeof e.time !== 'string') throw new ManagedFieldsError(`${at}.time`, 'must be a timestamp');
    let fields: FieldSet;
    try {
      fields = FieldSet.fromFieldsV1((e.fieldsV1 ?? {}) as JsonValue);
    } catch (err) {
      throw new ManagedFieldsError(`${at}.fieldsV1`, (err as Error).message);
    }
    const m: Manager = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      ...(typeof e.subresource === 'string' && e.subresource !== '' ? { subresource: e.subresource } : {}),
      ...(typeof e.time === 'string' ? { time: e.time } : {}),
      fields,
    };
    managers.set(managerId(m), m);
  });
  return { kind: 'entries', managers };
}

/** The entries to store, sorted as the apiserver sorts them: Apply first, then by time, manager, version, subresource. */
export function writeManagedFields(managers: Managers): ManagedFieldsEntry[] | undefined {
  if (managers.size === 0) return undefined;
  const seconds = (t?: string) => (t ? Math.floor(Date.parse(t) / 1000) : 0);
  return [...managers.values()]
    .sort(
      (a, b) =>
        cmp(a.operation, b.operation) || seconds(a.time) - seconds(b.time) || cmp(a.manager, b.manager) || cmp(a.apiVersion, b.apiVersion) || cmp(a.subresource ?? '', b.subresource ?? ''),
    )
    .map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      ...(m.time ? { time: m.time } : {}),
      fieldsType: 'FieldsV1',
      fieldsV1: m.fields.toFieldsV1(),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    }));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Paths no manager owns: identity and server-set metadata (the apiserver's stripMetaManager). */
const SERVER_PATHS: readonly FieldPath[] = [
  [fieldElement('apiVersion')],
  [fieldElement('kind')],
  [fieldElement('metadata')],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map((f) => [fieldElement('metadata'), fieldElement(f)]),
];
const SERVER_FIELDS = FieldSet.of(...SERVER_PATHS);

export interface OwnershipContext {
  /** The kind's schema. */
  node: TypedNode;
  /**
   * Fields this write cannot own because the endpoint resets them (the apiserver's reset fields):
   * `status` for writes of a resource with a status subresource, everything else for status writes.
   */
  ignored: FieldSet;
}

export interface Writer {
  manager: string;
  /** The apiVersion of the request. */
  apiVersion: string;
  subresource?: string;
  /** RFC 3339 time of the write. */
  now: string;
}

function filtered(c: Comparison, ignored: FieldSet): Comparison {
  return { added: c.added.recursiveDifference(ignored), modified: c.modified.recursiveDifference(ignored), removed: c.removed.recursiveDifference(ignored) };
}

function copyManagers(managers: Managers): Managers {
  return new Map([...managers].map(([id, m]) => [id, { ...m }]));
}

export interface Conflict {
  manager: Manager;
  path: FieldPath;
}

/** An apply would change fields other managers own: the 409 the apiserver answers, with one cause per field. */
export class ApplyConflicts extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super(conflictMessage(conflicts));
    this.name = 'ApplyConflicts';
  }
}

function conflictMessage(conflicts: Conflict[]): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${describeManager(conflicts[0]!.manager)}: ${pathText(conflicts[0]!.path)}`;
  const byManager = new Map<string, Conflict[]>();
  for (const c of conflicts) {
    const id = managerId(c.manager);
    byManager.set(id, [...(byManager.get(id) ?? []), c]);
  }
  const lines: string[] = [];
  for (const id of [...byManager.keys()].sort()) {
    const list = byManager.get(id)!;
    lines.push(`conflicts with ${describeManager(list[0]!.manager)}:`);
    for (const c of list) lines.push(`- ${pathText(c.path)}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/**
 * What a change from `live` to `next` does to the other managers (merge.Updater.update): fields it
 * changes are taken from them, or reported as conflicts unless `force`; fields it removes are no
 * longer theirs. Managers left with nothing are dropped.
 */
function transferOwnership(live: JsonValue, next: JsonValue, managers: Managers, selfId: string, force: boolean, ctx: OwnershipContext): { managers: Managers; comparison: Comparison } {
  const comparison = filtered(compare(live, next, ctx.node), ctx.ignored);
  const changed = comparison.modified.union(comparison.added);
  const conflicts: Conflict[] = [];
  for (const [id, m] of managers) {
    if (id === selfId) continue;
    for (const path of m.fields.intersection(changed).paths()) conflicts.push({ manager: m, path });
  }
  if (!force && conflicts.length > 0) throw new ApplyConflicts(conflicts);
  const out: Managers = new Map();
  for (const [id, m] of managers) {
    const fields = id === selfId ? m.fields : m.fields.difference(changed).difference(comparison.removed);
    if (!fields.isEmpty()) out.set(id, { ...m, fields });
  }
  return { managers: out, comparison };
}

/**
 * The managers after an Update (create, PUT, merge/JSON/strategic patch, a controller's write) by
 * `writer` from `live` to `next`: it owns what it changed, added to what it owned before.
 */
export function updateOwnership(live: JsonValue, next: JsonValue, managers: Managers, writer: Writer, ctx: OwnershipContext): Managers {
  const self = { manager: writer.manager, operation: 'Update' as const, apiVersion: writer.apiVersion, ...(writer.subresource ? { subresource: writer.subresource } : {}) };
  const selfId = managerId(self);
  // Computed as an anonymous operation, so the writer's own earlier fields are subject to the change too.
  const { managers: out, comparison } = transferOwnership(live, next, managers, '\u0000current-operation', true, ctx);
  const owned = comparison.modified.union(comparison.added).recursiveDifference(ctx.ignored).difference(SERVER_FIELDS);
  if (owned.isEmpty()) return out;
  const previous = out.get(selfId)?.fields ?? new FieldSet();
  out.set(selfId, { ...self, fields: previous.union(owned), time: writer.now });
  return capUpdateManagers(out);
}

/** At most this many Update entries are kept; older ones merge into "ancient-changes", as the apiserver does. */
const MAX_UPDATE_MANAGERS = 10;

function capUpdateManagers(managers: Managers): Managers {
  const updaters = [...managers.entries()].filter(([, m]) => m.operation === 'Update');
  if (updaters.length <= MAX_UPDATE_MANAGERS) return managers;
  const seconds = (m: Manager) => (m.time ? Math.floor(Date.parse(m.time) / 1000) : 0);
  updaters.sort(([idA, a], [idB, b]) => seconds(a) - seconds(b) || cmp(idA, idB));
  const out = new Map(managers);
  let count = updaters.length;
  // The oldest entry of a version becomes its bucket once a second one has to go.
  const firstOfVersion = new Map<string, string>();
  for (const [id, m] of updaters) {
    if (count <= MAX_UPDATE_MANAGERS) break;
    const bucket = { manager: 'ancient-changes', operation: 'Update' as const, apiVersion: m.apiVersion };
    const bucketId = managerId(bucket);
    const first = firstOfVersion.get(m.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(m.apiVersion, id);
      continue;
    }
    if (!out.has(bucketId)) {
      out.set(bucketId, { ...out.get(first)!, ...bucket });
      out.delete(first);
    }
    out.set(bucketId, { ...bucket, fields: out.get(bucketId)!.fields.union(m.fields), ...(m.time ? { time: m.time } : {}) });
    out.delete(id);
    count--;
  }
  return out;
}

export interface ApplyResult {
  /** The object after the apply, before defaulting. */
  object: JsonObject;
  managers: Managers;
  /** Whether the object changed (a no-op apply changes at most managedFields). */
  changed: boolean;
}

export interface ApplyOptions {
  force: boolean;
  /**
   * Conflicts the apply may take over without force: kubectl's `kubectl` manager may take the fields
   * its own client-side apply set (the last-applied annotation), as the apiserver's lastAppliedManager allows.
   */
  allowedConflicts?: FieldSet;
}

/**
 * An Apply of `config` by `writer` over `live` (merge.Updater.Apply): merge, prune what the writer
 * applied before and dropped (unless others own it), then take over ownership, or fail with conflicts.
 */
export function applyConfiguration(live: JsonObject, config: JsonObject, managers: Managers, writer: Writer, ctx: OwnershipContext, opts: ApplyOptions): ApplyResult {
  const self = { manager: writer.manager, operation: 'Apply' as const, apiVersion: writer.apiVersion, ...(writer.subresource ? { subresource: writer.subresource } : {}) };
  const selfId = managerId(self);
  const configFields = toFieldSet(config, ctx.node, { strict: true }).recursiveDifference(ctx.ignored);
  const previous = managers.get(selfId);
  const withConfig = copyManagers(managers);
  withConfig.set(selfId, { ...self, fields: configFields, ...(previous?.time ? { time: previous.time } : {}) });

  let object = merge(live, config, ctx.node);
  if (previous && !previous.fields.isEmpty()) {
    let keep = SERVER_FIELDS;
    for (const m of withConfig.values()) keep = keep.union(m.fields);
    object = removeFields(object, previous.fields, keep, ctx.node);
  }

  let transferred: Managers;
  try {
    transferred = transferOwnership(live, object, withConfig, selfId, opts.force, ctx).managers;
  } catch (err) {
    if (!(err instanceof ApplyConflicts) || !opts.allowedConflicts) throw err;
    const allowed = opts.allowedConflicts;
    const remaining = err.conflicts.filter((c) => !allowed.has(c.path));
    if (remaining.length > 0) throw new ApplyConflicts(remaining);
    transferred = transferOwnership(live, object, withConfig, selfId, true, ctx).managers;
  }
  const changed = !jsonEqual(live, object);
  const fields = configFields.difference(SERVER_FIELDS);
  if (fields.isEmpty()) transferred.delete(selfId);
  else transferred.set(selfId, { ...self, fields, ...(changed || !previous?.time ? { time: writer.now } : { time: previous.time }) });
  return { object, managers: transferred, changed };
}

/**
 * The fields of kubectl's last client-side apply that still hold their applied value: kubectl's
 * `kubectl` manager may take these from their owners without force, when it moves an object from
 * client-side to server-side apply.
 */
export function lastAppliedFields(lastApplied: JsonObject, live: JsonObject, node: TypedNode): FieldSet {
  const c = compare(lastApplied, live, node);
  return toFieldSet(lastApplied, node).difference(c.modified).difference(c.added).difference(c.removed);
}
