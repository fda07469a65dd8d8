// Deleting the way the apiserver's DELETE does, for controllers that write the store directly: an
// object with finalizers is only marked (deletionTimestamp) and left to the owners of its finalizers;
// anything else is removed. An object already gone is what was asked for.
import type { ResourceType } from '../../k8s/kinds.js';
import type { StoredObject } from '../../k8s/object.js';
import { rfc3339 } from '../../k8s/time-format.js';
import type { ControllerContext } from './context.js';
import { isNotFound } from './resources.js';

export type DeleteOutcome = 'deleted' | 'marked' | 'gone';

export function deleteObject(ctx: ControllerContext, type: ResourceType, obj: StoredObject): DeleteOutcome {
  const { namespace, name } = obj.metadata;
  try {
    if ((obj.metadata.finalizers ?? []).length > 0) {
      if (obj.metadata.deletionTimestamp) return 'marked';
      ctx.store.update(type, { ...obj, metadata: { ...obj.metadata, deletionTimestamp: rfc3339(ctx.clock.now()), deletionGracePeriodSeconds: 0 } });
      return 'marked';
    }
    ctx.store.delete(type, namespace, name);
    return 'deleted';
  } catch (err) {
    if (isNotFound(err)) return 'gone';
    throw new Error(`deleting ${type.plural} ${namespace ? namespace + '/' : ''}${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
