// The TTL-after-finished controller: a finished Job with spec.ttlSecondsAfterFinished is deleted that
// long after it completed or failed, in the foreground (its pods go first), as
// pkg/controller/ttlafterfinished does.
import { rfc3339 } from '../../k8s/time-format.js';
import type { ControllerContext } from './context.js';
import type { Reconciler, ReconcileResult } from './controller.js';
import { jobFinishedAt, readJobSpec } from './job-spec.js';
import { JOBS, isNotFound, namespacedKey, splitNamespacedKey } from './resources.js';

const FOREGROUND_FINALIZER = 'foregroundDeletion';

export function ttlAfterFinishedController(ctx: ControllerContext): Reconciler {
  return {
    name: 'ttl-after-finished-controller',
    watches: [{ type: JOBS, keysFor: (e) => (e.type === 'DELETED' ? [] : [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)]) }],
    reconcile(key): ReconcileResult | void {
      const { namespace, name } = splitNamespacedKey(key);
      const job = ctx.informers.for(JOBS).get(namespace, name);
      if (!job || job.metadata.deletionTimestamp) return;
      const ttl = readJobSpec(job).ttlSecondsAfterFinished;
      const finishedAt = jobFinishedAt(job);
      if (ttl === undefined || finishedAt === undefined) return;
      const dueIn = finishedAt + ttl * 1000 - ctx.clock.now();
      if (dueIn > 0) return { requeueAfterMs: dueIn };
      const finalizers = [...(job.metadata.finalizers ?? []).filter((f) => f !== FOREGROUND_FINALIZER), FOREGROUND_FINALIZER];
      try {
        ctx.store.update(JOBS, { ...job, metadata: { ...job.metadata, finalizers, deletionTimestamp: rfc3339(ctx.clock.now()), deletionGracePeriodSeconds: 0 } });
        ctx.log(`ttl-after-finished-controller: deleting job ${key}: finished ${ttl} s ago (ttlSecondsAfterFinished)`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  };
}
