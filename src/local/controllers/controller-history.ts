// ControllerRevisions: the pod-template history of StatefulSets and DaemonSets, as
// pkg/controller/history keeps it. A revision holds its template as the patch `kubectl rollout undo`
// applies (`{spec: {template: {..., $patch: replace}}}`), is named `<owner>-<hash>` with the hash of
// that data (plus the owner's collision count), and carries an increasing revision number; returning
// to an older template re-numbers that revision instead of making a new one.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import type { LabelSelector } from '../../k8s/selectors.js';
import type { ControllerContext } from './context.js';
import { deleteObject } from './deletion.js';
import { claimObjects, controllerReferenceTo } from './owners.js';
import { computePodTemplateHash } from './pod-template-hash.js';
import type { JsonObject } from './read.js';
import { canonicalJson, cloneJson, optInt, optRecord, optStringMap } from './read.js';
import { CONTROLLER_REVISIONS, isAlreadyExists } from './resources.js';

/** On a revision: the hash its name ends with. */
export const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';
/** On pods (StatefulSet: the revision's name; DaemonSet: its hash) and on DaemonSet revisions. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';

export interface Revision {
  obj: StoredObject;
  name: string;
  revision: number;
  hash: string;
  /** The pod template this revision records. */
  template: JsonObject;
}

function revisionData(template: JsonObject): JsonObject {
  return { spec: { template: { ...cloneJson(template), $patch: 'replace' } } };
}

function readRevision(obj: StoredObject): Revision {
  const data = optRecord(obj.data, 'data') ?? {};
  const template = cloneJson(optRecord(optRecord(data.spec, 'data.spec')?.template, 'data.spec.template') ?? {});
  delete template.$patch;
  return {
    obj,
    name: obj.metadata.name,
    revision: optInt(obj.revision, 'revision') ?? 0,
    hash: obj.metadata.labels?.[REVISION_HASH_LABEL] ?? obj.metadata.name.slice(obj.metadata.name.lastIndexOf('-') + 1),
    template,
  };
}

function byRevision(a: Revision, b: Revision): number {
  return a.revision - b.revision || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** The owner's revisions (adopted and released by its selector as pods are), oldest revision first. */
export function listRevisions(ctx: ControllerContext, owner: StoredObject, selector: LabelSelector, controllerName: string): Revision[] {
  return claimObjects(ctx, CONTROLLER_REVISIONS, owner, selector, controllerName).map(readRevision).sort(byRevision);
}

function sameTemplate(a: JsonObject, b: JsonObject): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export interface RevisionOptions {
  /** `statefulset` or `daemonset`: DaemonSet revisions also carry controller-revision-hash. */
  kind: 'statefulset' | 'daemonset';
  template: JsonObject;
  collisionCount: number;
}

/**
 * The revision of `template`: the newest one if it records that template; an older one that does is
 * re-numbered to the next revision (a roll back); else a new revision is created. A name taken by a
 * revision with other data is a hash collision: the collision count goes up and the next name is tried.
 */
export function ensureRevision(ctx: ControllerContext, owner: StoredObject, revisions: Revision[], opts: RevisionOptions): { update: Revision; revisions: Revision[]; collisionCount: number } {
  const next = (revisions.at(-1)?.revision ?? 0) + 1;
  const equal = revisions.filter((r) => sameTemplate(r.template, opts.template));
  const latestEqual = equal.at(-1);
  if (latestEqual && latestEqual === revisions.at(-1)) return { update: latestEqual, revisions, collisionCount: opts.collisionCount };
  if (latestEqual) {
    const renumbered = readRevision(ctx.store.update(CONTROLLER_REVISIONS, { ...latestEqual.obj, revision: next }));
    return { update: renumbered, revisions: [...revisions.filter((r) => r !== latestEqual), renumbered], collisionCount: opts.collisionCount };
  }
  const templateLabels = optStringMap(optRecord(opts.template.metadata, 'spec.template.metadata')?.labels, 'spec.template.metadata.labels') ?? {};
  const data = revisionData(opts.template);
  let collisionCount = opts.collisionCount;
  for (let attempt = 0; attempt < 5; attempt++, collisionCount++) {
    const hash = computePodTemplateHash(data, collisionCount || undefined);
    const name = `${owner.metadata.name.slice(0, 223)}-${hash}`;
    const revision: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: { ...templateLabels, [REVISION_HASH_LABEL]: hash, ...(opts.kind === 'daemonset' ? { [CONTROLLER_REVISION_HASH_LABEL]: hash } : {}) },
        ownerReferences: [controllerReferenceTo(owner)],
      },
      data,
      revision: next,
    };
    try {
      const created = readRevision(ctx.store.create(CONTROLLER_REVISIONS, revision));
      return { update: created, revisions: [...revisions, created], collisionCount };
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = ctx.store.get(CONTROLLER_REVISIONS, owner.metadata.namespace, name);
      // Ours after all (a crash between create and status write): take it.
      if (existing && sameTemplate(readRevision(existing).template, opts.template) && existing.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid)) {
        const found = readRevision(existing);
        return { update: found, revisions: [...revisions, found], collisionCount };
      }
    }
  }
  throw new Error(`controllerrevisions: ${collisionCount} hash collisions in a row for ${owner.metadata.namespace}/${owner.metadata.name}`);
}

/**
 * Deletes the oldest revisions that no pod uses and that are neither current nor the update, until at
 * most `limit` such historic revisions remain (truncateHistory).
 */
export function truncateHistory(ctx: ControllerContext, revisions: Revision[], live: ReadonlySet<string>, limit: number): void {
  const historic = revisions.filter((r) => !live.has(r.name) && !r.obj.metadata.deletionTimestamp);
  for (const r of historic.slice(0, Math.max(0, historic.length - Math.max(0, limit)))) deleteObject(ctx, CONTROLLER_REVISIONS, r.obj);
}

