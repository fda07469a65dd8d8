// How workload controllers create pods: through the cluster's admission chain when it has one
// (ControllerContext.createPod: asynchronous, so the creations in flight are counted per owner, the
// "expectations" of kube-controller-manager, and a pod being created under a fixed name is never asked
// for twice), else straight into the store.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import type { ControllerContext } from './context.js';
import { isRecord } from './read.js';
import { PODS } from './resources.js';

/** How long after asynchronous creations a controller looks again, in case one failed. */
export const CREATE_RECHECK_MS = 1000;

export interface CreateOutcome {
  /** Pods already in the store (synchronous creation only). */
  created: StoredObject[];
  /** Creations handed to admission, still in flight. */
  pending: number;
  /** The first synchronous failure; later pods were not attempted. */
  failure?: Error;
}

function isStoredObject(value: unknown): value is StoredObject {
  return isRecord(value) && isRecord(value.metadata) && typeof value.metadata.name === 'string' && typeof value.metadata.uid === 'string';
}

function nameKey(ownerKey: string, name: string): string {
  return `${ownerKey}\u0000${name}`;
}

function adjust(ctx: ControllerContext, key: string, delta: number): void {
  const n = (ctx.podCreatesInFlight.get(key) ?? 0) + delta;
  if (n > 0) ctx.podCreatesInFlight.set(key, n);
  else ctx.podCreatesInFlight.delete(key);
}

/** Pod creations in flight for this owner (`<kind>:<namespace>/<name>`). */
export function createsInFlight(ctx: ControllerContext, ownerKey: string): number {
  return ctx.podCreatesInFlight.get(ownerKey) ?? 0;
}

/** Whether a pod of this fixed name is being created for the owner. */
export function nameInFlight(ctx: ControllerContext, ownerKey: string, name: string): boolean {
  return ctx.podCreatesInFlight.has(nameKey(ownerKey, name));
}

/** `onCreated` hears of each pod once it is stored (later, for creations through admission). */
export function createPods(ctx: ControllerContext, ownerKey: string, pods: KubeObject[], onCreated?: (pod: StoredObject) => void): CreateOutcome {
  const out: CreateOutcome = { created: [], pending: 0 };
  const { createPod } = ctx;
  for (const [i, pod] of pods.entries()) {
    const name = pod.metadata.name;
    if (createPod) {
      if (name && nameInFlight(ctx, ownerKey, name)) continue;
      adjust(ctx, ownerKey, 1);
      if (name) adjust(ctx, nameKey(ownerKey, name), 1);
      out.pending++;
      createPod(pod)
        .then((created) => {
          if (isStoredObject(created)) onCreated?.(created);
        })
        .catch((err: unknown) => ctx.log(`${ownerKey}: creating pod ${name ?? `${pod.metadata.generateName ?? ''}*`}: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => {
          adjust(ctx, ownerKey, -1);
          if (name) adjust(ctx, nameKey(ownerKey, name), -1);
        });
      continue;
    }
    try {
      const created = ctx.store.create(PODS, pod);
      out.created.push(created);
      onCreated?.(created);
    } catch (err) {
      out.failure = new Error(`creating pod ${i + 1} of ${pods.length}: ${err instanceof Error ? err.message : String(err)}`);
      break;
    }
  }
  return out;
}
