// Server-side apply: PATCH with `Content-Type: application/apply-patch+yaml` and `?fieldManager=NAME`
// (`kubectl apply --server-side`, Argo CD, Flux). The body is the manager's whole intent for the
// object: it is created if absent, merged into it otherwise, and field ownership decides what the
// manager may change (conflicts, 409, unless `force=true`) and what it removes (fields it applied
// before and no longer sets). Applies to subresources (status, scale) are refused.
import { LineCounter, isMap, isScalar, parseDocument, visit } from 'yaml';
import type { YAMLMap } from 'yaml';
import { apiVersionOf } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { StatusError, badRequest } from '../../k8s/status.js';
import { formatTimestamp } from '../store/metadata.js';
import { isJsonObject, toJson } from '../../k8s/patch/json.js';
import type { JsonObject } from '../../k8s/patch/json.js';
import { ApplyConflicts, applyConfiguration, describeManager, lastAppliedFields, updateOwnership } from '../managed-fields/managed-fields.js';
import type { ApplyOptions, Managers, OwnershipContext, Writer } from '../managed-fields/managed-fields.js';
import { pathText } from '../managed-fields/field-set.js';
import { SchemaMismatch } from '../managed-fields/typed-ops.js';
import { clearServerFields, storeNewObject } from './create.js';
import { fieldManagerParam, invalidOptions, managersOf, ownershipContext, withManagers, withoutManagedFields } from './field-manager.js';
import { isPlainObject, mediaType, queryBool } from './http.js';
import { checkNameMatches, objectForRoute } from './object-body.js';
import type { ApiContext } from './options.js';
import { unsupportedMediaType } from './patching.js';
import type { Reply } from './reply.js';
import type { ResourceRoute } from './routes.js';
import { asServed } from './served.js';
import { mergeForWrite, writeUpdate } from './update.js';
import type { FieldValidation } from './writes.js';
import { fieldValidationOf, isDryRun, warningHeader } from './writes.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** kubectl's server-side apply manager: the apiserver treats it specially for the move from client-side apply. */
const KUBECTL_MANAGER = 'kubectl';
/** An apply that lost a race with another writer is computed again on the newer object, as the apiserver retries. */
const CONFLICT_RETRIES = 5;

/** Refuses what this server does not apply, with what to do instead. */
function refuseApply(route: ResourceRoute, contentType: string | undefined): void {
  if (mediaType(contentType) === 'application/apply-patch+cbor') {
    throw unsupportedMediaType('server-side apply in CBOR (application/apply-patch+cbor) is not supported by this API server: send the configuration as application/apply-patch+yaml (JSON is valid YAML)');
  }
  if (route.subresource !== undefined) {
    throw unsupportedMediaType(
      `server-side apply to the ${route.subresource} subresource is not supported by this API server: apply the ${route.type.kind} itself, or send a merge patch (application/merge-patch+json) to /${route.subresource}`,
    );
  }
}

/** `line 4: key "a" already set in map` for every key repeated in a mapping, as Go's strict YAML decoding says. */
function duplicateKeys(text: string): string[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter });
  const problems: string[] = [];
  visit(doc, {
    Map(_key, node: YAMLMap) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        if (seen.has(key)) {
          const at = isScalar(pair.key) && pair.key.range ? lineCounter.linePos(pair.key.range[0]).line : 0;
          problems.push(`line ${at}: key ${JSON.stringify(key)} already set in map`);
        }
        seen.add(key);
      }
    },
  });
  return problems;
}

/** The apply configuration: a YAML (or JSON) mapping. Repeated keys fail under Strict and warn under Warn. */
function parseConfiguration(body: Buffer, mode: FieldValidation, warnings: string[]): JsonObject {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('error decoding patch: the apply configuration is empty');
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) throw badRequest(`error decoding patch: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (mode !== 'Ignore') {
    const repeated = duplicateKeys(text);
    if (repeated.length > 0 && mode === 'Strict') throw badRequest(`error strict decoding patch: yaml: unmarshal errors:\n  ${repeated.join('\n  ')}`);
    warnings.push(...repeated);
  }
  if (!isMap(doc.contents)) throw badRequest('error decoding patch: the apply configuration must be a mapping (an object)');
  const value = toJson(doc.toJS(), 'the apply configuration');
  if (!isJsonObject(value)) throw badRequest('error decoding patch: the apply configuration must be a mapping (an object)');
  return value;
}

/** The apply configuration as an object of the route: apiVersion and kind must be the route's; no managedFields. */
function configurationFor(route: ResourceRoute, config: JsonObject): KubeObject {
  const expected = apiVersionOf(route.group, route.version);
  if (config.apiVersion !== expected) {
    throw badRequest(`Incorrect version specified in apply patch. Specified patch version: ${typeof config.apiVersion === 'string' ? config.apiVersion : ''}, expected: ${expected}`);
  }
  if (config.kind === undefined || config.kind === '') throw badRequest(`Object 'Kind' is missing in the apply configuration: set kind: ${route.type.kind}`);
  if (isPlainObject(config.metadata) && config.metadata.managedFields !== undefined && config.metadata.managedFields !== null) {
    throw badRequest('metadata.managedFields must be nil');
  }
  const obj = objectForRoute(config, route);
  checkNameMatches(obj, route.name ?? '');
  return obj;
}

function conflictError(err: ApplyConflicts): StatusError {
  return new StatusError(409, 'Conflict', err.message, {
    causes: err.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${describeManager(c.manager)}`, field: pathText(c.path) })),
  });
}

/** kubectl's last client-side apply, when it is of this apiVersion (else it does not count). */
function lastApplied(live: KubeObject, apiVersion: string): JsonObject | undefined {
  const text = live.metadata.annotations?.[LAST_APPLIED];
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return isJsonObject(parsed as JsonObject) && (parsed as JsonObject).apiVersion === apiVersion ? (parsed as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

/** The annotation kubectl's client-side apply would write for `config`: sorted keys, without itself. */
function lastAppliedValue(config: KubeObject): string {
  const annotations = { ...(config.metadata.annotations ?? {}) };
  delete annotations[LAST_APPLIED];
  const metadata = { ...config.metadata, annotations };
  if (Object.keys(annotations).length === 0) delete (metadata as Record<string, unknown>).annotations;
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : isPlainObject(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v;
  return `${JSON.stringify(sorted({ ...config, metadata }))}\n`;
}

/** The object after the apply, with its managedFields; pure over the live object (undefined: it does not exist yet). */
function computeApply(route: ResourceRoute, live: KubeObject | undefined, config: KubeObject, manager: string, force: boolean, now: number): KubeObject {
  const apiVersion = apiVersionOf(route.group, route.version);
  const liveJson: JsonObject = live ? withoutManagedFields(live) : {};
  const ctx: OwnershipContext | undefined = ownershipContext(route.type, apiVersion, 'main', live ? [live, config] : [config]);
  if (!ctx) throw new StatusError(500, 'InternalError', `Internal error occurred: no schema for ${apiVersion} ${route.type.kind}: server-side apply needs one`);
  const writer: Writer = { manager, apiVersion, now: formatTimestamp(new Date(now)) };
  let managers: Managers = managersOf(live);
  if (live && managers.size === 0) {
    // An object nobody tracked: what is there is owned by "before-first-apply", so the apply conflicts with it.
    managers = updateOwnership({}, liveJson, managers, { ...writer, manager: 'before-first-apply' }, ctx);
  }
  const opts: ApplyOptions = { force };
  const previousApply = live && manager === KUBECTL_MANAGER ? lastApplied(live, apiVersion) : undefined;
  if (previousApply) opts.allowedConflicts = lastAppliedFields(previousApply, liveJson, ctx.node);
  let result;
  try {
    result = applyConfiguration(liveJson, config as JsonObject, managers, writer, ctx, opts);
  } catch (err) {
    if (err instanceof ApplyConflicts) throw conflictError(err);
    if (err instanceof SchemaMismatch) {
      const ns = config.metadata.namespace ?? '';
      throw badRequest(`failed to create typed patch object (${ns}/${config.metadata.name ?? ''}; ${route.group}/${route.version}, Kind=${route.type.kind}): ${err.message}`);
    }
    throw err;
  }
  let object = result.object as KubeObject;
  // The apiserver keeps kubectl's last-applied annotation in step with kubectl's server-side applies.
  if (manager === KUBECTL_MANAGER && object.metadata?.annotations?.[LAST_APPLIED] !== undefined) {
    object = { ...object, metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [LAST_APPLIED]: lastAppliedValue(config) } } };
  }
  return withManagers(object, result.managers);
}

export async function applyObject(ctx: ApiContext, route: ResourceRoute, body: Buffer, contentType: string | undefined, query: URLSearchParams): Promise<Reply> {
  refuseApply(route, contentType);
  const mode = fieldValidationOf(query);
  const dryRun = isDryRun(query);
  const manager = fieldManagerParam(query, 'PatchOptions');
  if (manager === '') throw invalidOptions('PatchOptions', 'fieldManager', 'Required value: is required for apply patch');
  const forceParam = query.get('force');
  if (forceParam !== null && !['true', 'false', '1', '0', ''].includes(forceParam)) throw badRequest(`invalid value for query parameter force: "${forceParam}"`);
  const force = queryBool(query, 'force');
  const warnings: string[] = [];
  const config = configurationFor(route, parseConfiguration(body, mode, warnings));

  for (let attempt = 0; ; attempt++) {
    const current = ctx.store.get(route.type, route.namespace, route.name ?? '');
    const live = current ? asServed(current, route.group, route.version) : undefined;
    const object = computeApply(route, live, config, manager, force, ctx.now());
    try {
      if (!current) {
        const created = objectForRoute(object as Record<string, unknown>, route);
        const managedFields = created.metadata.managedFields;
        clearServerFields(created);
        const reply = await storeNewObject(ctx, route, created, 'Ignore', dryRun, (defaulted) => ({ ...defaulted, metadata: { ...defaulted.metadata, ...(managedFields ? { managedFields } : {}) } }));
        return { ...reply, headers: { ...reply.headers, ...warningHeader(warnings) } };
      }
      const merged = mergeForWrite(route.type, undefined, current, { ...object, metadata: { ...object.metadata, resourceVersion: current.metadata.resourceVersion } });
      const written = await writeUpdate(ctx, route, current, merged, 'Ignore', dryRun);
      return { code: 200, body: asServed(written.stored, route.group, route.version), headers: warningHeader([...warnings, ...written.warnings]) };
    } catch (err) {
      const raced = err instanceof StatusError && (err.reason === 'Conflict' || err.reason === 'AlreadyExists') && !(err.details?.causes?.length) && attempt < CONFLICT_RETRIES;
      if (!raced) throw err;
    }
  }
}
