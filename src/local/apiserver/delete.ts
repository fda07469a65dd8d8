// DELETE of an object and of a collection. Namespaces and objects with finalizers are not removed at
// once: they get a deletionTimestamp (namespaces also phase Terminating), and their controller or
// finalizer owner finishes the job. propagationPolicy Orphan and Foreground add the finalizer the
// garbage collector acts on (`orphan`: dependents lose their ownerReference and keep running;
// `foregroundDeletion`: dependents go first, the owner stays, marked, until they are gone), as the
// apiserver does; Background (kubectl's default) removes the object and leaves its dependents to the collector.
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { badRequest, conflict, StatusError } from '../../k8s/status.js';
import { isPlainObject } from './http.js';
import { UNDELETABLE_NAMESPACES } from './namespaces.js';
import type { ApiContext } from './options.js';
import type { Reply } from './reply.js';
import type { ResourceRoute } from './routes.js';
import { asServed, listOf } from './served.js';
import { getStoredOr404 } from './update.js';
import { isDryRun, warningHeader } from './writes.js';

const PROPAGATION_POLICIES = ['Orphan', 'Background', 'Foreground'] as const;
type PropagationPolicy = (typeof PROPAGATION_POLICIES)[number];

/** The garbage collector's finalizer for each policy that needs one. */
const POLICY_FINALIZER: Partial<Record<PropagationPolicy, string>> = { Orphan: 'orphan', Foreground: 'foregroundDeletion' };

interface DeleteOptions {
  dryRun: boolean;
  propagationPolicy?: PropagationPolicy;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** DeleteOptions come in the query, the body, or both (kubectl sends a body). */
function deleteOptions(body: Buffer, query: URLSearchParams): DeleteOptions {
  let dryRun = isDryRun(query);
  let preconditions: DeleteOptions['preconditions'];
  const policies = [query.get('propagationPolicy')];
  const text = body.toString('utf8').trim();
  if (text !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw badRequest(`the DeleteOptions in the request body could not be decoded: ${(err as Error).message}`);
    }
    if (isPlainObject(parsed)) {
      if (Array.isArray(parsed.dryRun) && parsed.dryRun.length > 0) {
        if (!parsed.dryRun.every((v) => v === 'All')) throw badRequest('dryRun: Unsupported value: supported values: "All"');
        dryRun = true;
      }
      if (typeof parsed.propagationPolicy === 'string') policies.push(parsed.propagationPolicy);
      // The deprecated boolean some clients still send; propagationPolicy wins when both are set.
      else if (typeof parsed.orphanDependents === 'boolean') policies.push(parsed.orphanDependents ? 'Orphan' : 'Background');
      if (isPlainObject(parsed.preconditions)) {
        const { uid, resourceVersion } = parsed.preconditions;
        preconditions = { uid: typeof uid === 'string' ? uid : undefined, resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : undefined };
      }
    }
  }
  let propagationPolicy: PropagationPolicy | undefined;
  for (const p of policies) {
    if (p === null || p === '') continue;
    if (!PROPAGATION_POLICIES.some((known) => known === p)) {
      throw badRequest(`propagationPolicy: Unsupported value: "${p}": supported values: "Foreground", "Background", "Orphan"`);
    }
    // The body's policy, read last, wins over the query's.
    propagationPolicy = p as PropagationPolicy;
  }
  return { dryRun, preconditions, propagationPolicy };
}

const JOB_DELETE_WARNING =
  'child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning';

/**
 * The policy when the request names none: batch/v1 Jobs orphan their pods (kept for compatibility by
 * the apiserver, with a warning); everything else is collected in the background.
 */
function defaultPolicy(t: ResourceType, opts: DeleteOptions): { policy?: PropagationPolicy; headers: Record<string, string[]> } {
  if (opts.propagationPolicy !== undefined || t.group !== 'batch' || t.kind !== 'Job') return { policy: opts.propagationPolicy, headers: {} };
  return { policy: 'Orphan', headers: warningHeader([JOB_DELETE_WARNING]) };
}

function nowTimestamp(ctx: ApiContext): string {
  return new Date(ctx.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isNamespace(t: ResourceType): boolean {
  return t.group === '' && t.kind === 'Namespace';
}

/** Deletes one stored object according to its kind; returns what the client sees. */
function deleteStored(ctx: ApiContext, t: ResourceType, current: StoredObject, dryRun: boolean, policy?: PropagationPolicy): KubeObject {
  const name = current.metadata.name;
  if (isNamespace(t)) {
    if (UNDELETABLE_NAMESPACES.includes(name)) {
      throw new StatusError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    if (current.metadata.deletionTimestamp) return current;
    const terminating: KubeObject = {
      ...current,
      metadata: { ...current.metadata, deletionTimestamp: nowTimestamp(ctx) },
      status: { ...(isPlainObject(current.status) ? current.status : {}), phase: 'Terminating' },
    };
    return dryRun ? terminating : ctx.store.update(t, terminating);
  }
  const policyFinalizer = policy === undefined ? undefined : POLICY_FINALIZER[policy];
  const finalizers = current.metadata.finalizers ?? [];
  const withPolicy = policyFinalizer === undefined || finalizers.includes(policyFinalizer) ? finalizers : [...finalizers, policyFinalizer];
  if (withPolicy.length > 0) {
    if (current.metadata.deletionTimestamp && withPolicy === finalizers) return current;
    const marked: KubeObject = {
      ...current,
      metadata: { ...current.metadata, finalizers: withPolicy, deletionTimestamp: current.metadata.deletionTimestamp ?? nowTimestamp(ctx), deletionGracePeriodSeconds: 0 },
    };
    return dryRun ? marked : ctx.store.update(t, marked);
  }
  return dryRun ? current : ctx.store.delete(t, current.metadata.namespace, name);
}

export function deleteObject(ctx: ApiContext, route: ResourceRoute, body: Buffer, query: URLSearchParams): Reply {
  const opts = deleteOptions(body, query);
  const current = getStoredOr404(ctx, route);
  const pre = opts.preconditions;
  if (pre?.uid && pre.uid !== current.metadata.uid) {
    throw conflict(route.type, current.metadata.name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
    throw conflict(route.type, current.metadata.name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${current.metadata.resourceVersion}`);
  }
  const { policy, headers } = defaultPolicy(route.type, opts);
  const result = deleteStored(ctx, route.type, current, opts.dryRun, policy);
  return { code: 200, body: asServed(result, route.group, route.version), headers };
}

export function deleteCollection(ctx: ApiContext, route: ResourceRoute, body: Buffer, query: URLSearchParams): Reply {
  const opts = deleteOptions(body, query);
  const { items } = ctx.store.list(route.type, {
    namespace: route.namespace,
    labelSelector: query.get('labelSelector') ?? undefined,
    fieldSelector: query.get('fieldSelector') ?? undefined,
  });
  const { policy, headers } = defaultPolicy(route.type, opts);
  const deleted: KubeObject[] = [];
  for (const item of items) {
    if (isNamespace(route.type) && UNDELETABLE_NAMESPACES.includes(item.metadata.name)) continue;
    try {
      deleted.push(deleteStored(ctx, route.type, item, opts.dryRun, policy));
    } catch (err) {
      // Another writer removed it between the list and the delete: it is gone, which is what was asked.
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
  }
  return { code: 200, body: listOf(route.type, route.group, route.version, deleted, ctx.store.currentResourceVersion()), headers };
}
