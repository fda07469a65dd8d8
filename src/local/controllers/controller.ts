// The loop every controller shares: store watches feed keys into a work queue, and a reconcile
// function reads the current state for one key and drives it toward the desired state
// (level-triggered: the event only says "look at this key", never what changed).
import type { ResourceType } from '../../k8s/kinds.js';
import type { WatchEvent } from '../store/store.js';
import type { Clock } from '../../clock.js';
import type { Informers } from './informers.js';
import { WorkQueue } from './workqueue.js';

export interface WatchSpec {
  type: ResourceType;
  /** The keys this event concerns; may be empty. Must not write to the store (it runs inside a write). */
  keysFor(event: WatchEvent): Iterable<string>;
}

export interface ReconcileResult {
  /** Look again after this delay even if nothing changes (minReadySeconds, progress deadlines). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  readonly name: string;
  readonly watches: readonly WatchSpec[];
  /** Throws to retry the key with back-off. */
  reconcile(key: string): ReconcileResult | void;
}

export interface RunnerOptions {
  informers: Informers;
  clock: Clock;
  log: (line: string) => void;
  /** Longest stretch of reconciles before yielding to the event loop (API requests, timers). */
  sliceMs?: number;
}

export class ControllerRunner {
  readonly queue: WorkQueue;
  private scheduled: NodeJS.Immediate | undefined;
  private stopped = false;
  /** Reconcile failures and event-mapping failures since start: surfaced for status and tests. */
  errors = 0;
  reconciles = 0;
  /** Time spent reconciling, ms. */
  busyMs = 0;

  constructor(
    readonly reconciler: Reconciler,
    private readonly opts: RunnerOptions,
  ) {
    this.queue = new WorkQueue({ clock: opts.clock, onReady: () => this.schedule() });
  }

  /** Registers the handlers; the informers' initial replay of every object (as ADDED) then seeds the queue. */
  start(): void {
    for (const watch of this.reconciler.watches) {
      this.opts.informers.for(watch.type).addHandler((event) => {
        if (!this.stopped) this.onEvent(watch, event);
      });
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.queue.shutDown();
  }

  isIdle(): boolean {
    return this.queue.isIdle();
  }

  private onEvent(watch: WatchSpec, event: WatchEvent): void {
    try {
      for (const key of watch.keysFor(event)) this.queue.add(key);
    } catch (err) {
      // Thrown into the store's write path this would fail someone else's write: log and count instead.
      this.errors++;
      const meta = event.object.metadata;
      this.opts.log(
        `${this.reconciler.name}: cannot map ${event.type} ${watch.type.kind} ${meta.namespace ? meta.namespace + '/' : ''}${meta.name}: ${describe(err)}`,
      );
    }
  }

  private schedule(): void {
    if (this.stopped || this.scheduled !== undefined) return;
    // setImmediate, not a microtask: a burst of synchronous writes coalesces into one reconcile per key.
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.drain();
    });
  }

  private drain(): void {
    const deadline = performance.now() + (this.opts.sliceMs ?? 50);
    for (;;) {
      if (this.stopped) return;
      const key = this.queue.get();
      if (key === undefined) return;
      this.processKey(key);
      if (performance.now() > deadline) {
        this.schedule();
        return;
      }
    }
  }

  private processKey(key: string): void {
    this.reconciles++;
    const started = performance.now();
    try {
      const result = this.reconciler.reconcile(key);
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      this.errors++;
      const delay = this.queue.addRateLimited(key);
      this.opts.log(`${this.reconciler.name}: ${key}: ${describe(err)} (retry ${this.queue.failureCount(key)} in ${delay} ms)`);
    } finally {
      this.busyMs += performance.now() - started;
      this.queue.done(key);
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
