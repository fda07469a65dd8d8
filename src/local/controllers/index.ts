// The controllers of a local cluster, run in-process on its object store: what kube-controller-manager
// (deployment, replicaset, statefulset, daemonset, job, ttl-after-finished, endpointslice, namespace,
// garbage collector, serviceaccount, serviceaccount-token) and the cloud provider's service load
// balancer (service-load-balancer.ts) do for a real cluster.
// Scheduling is the kubelet's (a local cluster has one node, which binds every pod). Each runs its own work queue; all share the informers (one watch per type), the clock
// and the log.
import type { KubeObject } from '../../k8s/object.js';
import type { ObjectStore } from '../store/store.js';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type { ControllerContext } from './context.js';
import { EventRecorder } from '../kubelet/events.js';
import { ControllerRunner, type Reconciler } from './controller.js';
import { deploymentController } from './deployment.js';
import { endpointSliceController } from './endpointslice.js';
import { endpointsController } from './endpoints.js';
import { garbageCollector } from './garbage-collector.js';
import { Informers } from './informers.js';
import { ensureBuiltinNamespaces, namespaceController } from './namespace.js';
import { replicaSetController } from './replicaset.js';
import { daemonSetController } from './daemonset.js';
import { jobController } from './job.js';
import { statefulSetController } from './statefulset.js';
import { ttlAfterFinishedController } from './ttl-after-finished.js';
import { serviceLoadBalancerController } from './service-load-balancer.js';
import { serviceAccountController, serviceAccountTokenController } from './serviceaccounts.js';
import type { ServiceAccountTokens } from '../serviceaccount/tokens.js';

export type { Clock } from '../../clock.js';

export interface StartControllersOptions {
  store: ObjectStore;
  clusterName: string;
  clock?: Clock;
  log?: (line: string) => void;
  /** See ControllerContext.createPod. */
  createPod?: (pod: KubeObject) => Promise<unknown>;
  /** Service-account tokens for token Secrets, with the cluster's CA for their ca.crt; no token controller without. */
  serviceAccountTokens?: { tokens: ServiceAccountTokens; caPem: string };
}

export interface ControllerStats {
  reconciles: number;
  errors: number;
  /** Time spent in reconcile, ms. */
  busyMs: number;
  /** Keys waiting for a back-off or a timed re-check. */
  delayed: number;
}

export interface RunningControllers {
  stop(): void;
  /** Resolves once every work queue is empty and nothing is being processed (keys waiting on a back-off timer do not count). */
  idle(): Promise<void>;
  /** Reconcile failures so far, per controller. */
  errors(): Record<string, number>;
  /** Per-controller counters: for status pages, logs and tests. */
  stats(): Record<string, ControllerStats>;
}

export function startControllers(opts: StartControllersOptions): RunningControllers {
  return runControllers(opts, (ctx) => [
    namespaceController(ctx),
    garbageCollector(ctx),
    replicaSetController(ctx),
    deploymentController(ctx),
    statefulSetController(ctx),
    daemonSetController(ctx),
    jobController(ctx),
    ttlAfterFinishedController(ctx),
    endpointSliceController(ctx),
    endpointsController(ctx),
    serviceLoadBalancerController(ctx),
    ...serviceAccountControllers(ctx, opts),
  ]);
}

function serviceAccountControllers(ctx: ControllerContext, opts: StartControllersOptions): Reconciler[] {
  return [serviceAccountController(ctx), ...(opts.serviceAccountTokens ? [serviceAccountTokenController(ctx, opts.serviceAccountTokens.tokens, opts.serviceAccountTokens.caPem)] : [])];
}

/** Only the service-account controllers: for an API server whose other objects a test drives by hand. */
export function startServiceAccountControllers(opts: StartControllersOptions): RunningControllers {
  return runControllers(opts, (ctx) => serviceAccountControllers(ctx, opts));
}

function runControllers(opts: StartControllersOptions, reconcilers: (ctx: ControllerContext) => Reconciler[]): RunningControllers {
  const informers = new Informers(opts.store);
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? ((line: string) => process.stderr.write(`[${opts.clusterName}] ${line}\n`));
  const ctx: ControllerContext = {
    store: opts.store,
    informers,
    clock,
    clusterName: opts.clusterName,
    ...(opts.createPod ? { createPod: opts.createPod } : {}),
    podCreatesInFlight: new Map(),
    events: new EventRecorder(opts.store, '', clock, log),
    log,
  };
  ensureBuiltinNamespaces(ctx);
  const runners = reconcilers(ctx).map((reconciler) => new ControllerRunner(reconciler, { informers, clock: ctx.clock, log: ctx.log }));
  for (const runner of runners) runner.start();
  informers.startAll();

  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const runner of runners) runner.stop();
      informers.stopAll();
    },
    async idle() {
      // One controller's write wakes another: idle only when all are idle on two passes in a row
      // with the event loop turned in between (work is drained from setImmediate callbacks).
      let quietPasses = 0;
      while (quietPasses < 2) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (stopped) return;
        quietPasses = runners.every((r) => r.isIdle()) ? quietPasses + 1 : 0;
      }
    },
    errors() {
      return Object.fromEntries(runners.map((r) => [r.reconciler.name, r.errors]));
    },
    stats() {
      return Object.fromEntries(
        runners.map((r) => [r.reconciler.name, { reconciles: r.reconciles, errors: r.errors, busyMs: Math.round(r.busyMs), delayed: r.queue.delayedCount() }]),
      );
    },
  };
}
