// What every write goes through before it reaches the store, in the apiserver's order: defaulting,
// mutating admission, defaulting again (hooks may add fields), then field validation (unknown fields,
// per the request's fieldValidation), schema validation (422 with causes) and validating admission.
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import type { FieldCause } from '../../k8s/status.js';
import { badRequest, invalid, StatusError } from '../../k8s/status.js';
import type { ApiContext } from './options.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const v = query.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Ignore' || v === 'Warn' || v === 'Strict') return v;
  throw badRequest(`fieldValidation parameter unsupported: ${v}; valid values are Ignore, Warn, Strict`);
}

export function isDryRun(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return values.length > 0;
}

export interface PreparedWrite {
  object: KubeObject;
  /** Warning header values (unknown fields under fieldValidation=Warn). */
  warnings: string[];
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

/**
 * Defaults, admission and validation of an object about to be created or to replace `oldObject`.
 * `track` sees the defaulted object before admission, where the apiserver records field ownership
 * (what mutating webhooks add is owned by no one).
 */
export async function prepareWrite(
  ctx: ApiContext,
  t: ResourceType,
  version: string,
  object: KubeObject,
  mode: FieldValidation,
  oldObject?: KubeObject,
  track?: (defaulted: KubeObject) => KubeObject,
): Promise<PreparedWrite> {
  // Unknown fields are judged on what the client sent, before defaults and hooks add anything.
  const unknown = ctx.opts
    .validate(t, copy(object), { strict: mode !== 'Ignore' })
    .filter((c) => c.reason === 'FieldValueUnknown');
  const warnings: string[] = [];
  if (unknown.length > 0 && mode === 'Strict') {
    throw badRequest(
      `${t.kind} in version "${version}" cannot be handled as a ${t.kind}: strict decoding error: ${unknown.map((c) => `unknown field "${c.field}"`).join(', ')}`,
    );
  }
  if (mode === 'Warn') for (const c of unknown) warnings.push(`unknown field "${c.field}"`);

  let obj = ctx.opts.applyDefaults(t, copy(object));
  if (track) obj = track(obj);
  for (const hook of ctx.opts.admission ?? []) {
    obj = await hook({ operation: oldObject ? 'UPDATE' : 'CREATE', type: t, object: obj, ...(oldObject ? { oldObject: copy(oldObject) } : {}) });
    if (!obj || typeof obj !== 'object' || !obj.metadata) {
      throw new StatusError(500, 'InternalError', `Internal error occurred: an admission hook returned no object for ${t.plural} "${object.metadata.name ?? ''}"`);
    }
  }
  if ((ctx.opts.admission ?? []).length > 0) obj = ctx.opts.applyDefaults(t, obj);
  const problems: FieldCause[] = ctx.opts
    .validate(t, copy(obj), { strict: false, ...(oldObject ? { oldObject: copy(oldObject) } : {}) })
    .filter((c) => c.reason !== 'FieldValueUnknown');
  if (problems.length > 0) throw invalid(t, obj.metadata.name ?? obj.metadata.generateName ?? '', problems);
  for (const hook of ctx.opts.validatingAdmission ?? []) {
    await hook({ operation: oldObject ? 'UPDATE' : 'CREATE', type: t, object: copy(obj), ...(oldObject ? { oldObject: copy(oldObject) } : {}) });
  }
  return { object: obj, warnings };
}

/** The Warning header value of one warning, as the apiserver formats it (RFC 7234 warn-code 299). */
export function warningHeader(warnings: string[]): Record<string, string[]> {
  if (warnings.length === 0) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) };
}
