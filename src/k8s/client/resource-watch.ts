// One list/watch of one resource type on one cluster, through client-node's informer, with what the
// informer leaves to its user: a failed list or watch stops it, so it is restarted here with back-off
// (the cache keeps the last objects meanwhile, as Istio's informers do), and "synced" is tracked for
// readiness and the debug endpoints.

import { makeInformer, type KubeConfig, type KubernetesObject, type ListPromise } from '@kubernetes/client-node';
import { apiErrorCode, apiErrorMessage } from './client.js';
import { systemClock, type Clock, type TimerHandle } from '../../clock.js';

export interface ResourceWatch<T> {
  /** What it watches, e.g. `cluster-2 /api/v1/pods`. */
  readonly what: string;
  list(): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  /** The first list has completed (the cache reflects the cluster at some point in time). */
  synced(): boolean;
  /** The last list/watch failure, cleared by the next successful start. */
  lastError(): string | undefined;
  errorCount(): number;
  stop(): Promise<void>;
}

export interface ResourceWatchOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The API path to watch, e.g. `/api/v1/services`. */
  path: string;
  list: ListPromise<T>;
  labelSelector?: string;
  what: string;
  /** Any add, update or delete; also after a relist that changed nothing (harmless: rebuilds are idempotent). */
  onChange: () => void;
  /**
   * What of an object its owner reads (e.g. all but its status): an update that leaves it as it was
   * calls `onUnchanged` instead of onChange, so a status write does not look like a config change.
   */
  significant?: { of: (obj: T) => string; onUnchanged: () => void };
  /** Each add, (significant) update and delete with its object, just before onChange: config propagation tracking. */
  onEvent?: (event: WatchEvent, obj: T) => void;
  log: (line: string) => void;
  clock?: Clock;
  /** Back-off after a failure: initialMs doubling up to maxMs. */
  retry?: { initialMs: number; maxMs: number };
}

export type WatchEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export function startResourceWatch<T extends KubernetesObject>(opts: ResourceWatchOptions<T>): ResourceWatch<T> {
  const clock = opts.clock ?? systemClock;
  // Capped low: an API server that comes back (a restarted local host, a control-plane upgrade) is
  // found within seconds, and a refused connection every few seconds costs nothing.
  const retry = opts.retry ?? { initialMs: 500, maxMs: 4_000 };
  const informer = makeInformer<T>(opts.kubeConfig, opts.path, opts.list, opts.labelSelector);
  let stopped = false;
  let synced = false;
  let lastError: string | undefined;
  let errors = 0;
  let delay = retry.initialMs;
  let timer: TimerHandle | undefined;
  let attempt = 0;

  const changed = (): void => {
    if (!stopped) opts.onChange();
  };
  const event = (kind: WatchEvent, obj: T): void => {
    if (!stopped) opts.onEvent?.(kind, obj);
  };
  const significant = opts.significant;
  if (significant) {
    /** ns/name -> what the owner read of it last. */
    const seen = new Map<string, string>();
    const keyOf = (obj: T): string => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    informer.on('add', (obj) => {
      seen.set(keyOf(obj), significant.of(obj));
      event('ADDED', obj);
      changed();
    });
    informer.on('update', (obj) => {
      const now = significant.of(obj);
      const key = keyOf(obj);
      if (seen.get(key) === now) {
        if (!stopped) significant.onUnchanged();
        return;
      }
      seen.set(key, now);
      event('MODIFIED', obj);
      changed();
    });
    informer.on('delete', (obj) => {
      seen.delete(keyOf(obj));
      event('DELETED', obj);
      changed();
    });
  } else {
    informer.on('add', (obj) => {
      event('ADDED', obj);
      changed();
    });
    informer.on('update', (obj) => {
      event('MODIFIED', obj);
      changed();
    });
    informer.on('delete', (obj) => {
      event('DELETED', obj);
      changed();
    });
  }
  informer.on('error', (err: unknown) => {
    // stop() aborts the watch request, which the informer reports as an error.
    if (stopped) return;
    errors++;
    lastError = describe(err);
    opts.log(`control-plane: watch ${opts.what} failed (${lastError}); retrying in ${delay} ms`);
    scheduleStart(delay);
    delay = Math.min(delay * 2, retry.maxMs);
  });

  function scheduleStart(ms: number): void {
    timer?.cancel();
    timer = clock.setTimer(() => {
      timer = undefined;
      void start();
    }, ms);
  }

  async function start(): Promise<void> {
    if (stopped) return;
    const mine = ++attempt;
    const errorsBefore = errors;
    try {
      await informer.start();
    } catch (err) {
      // start() reports most failures through the 'error' callback; anything thrown lands here.
      if (stopped) return;
      errors++;
      lastError = describe(err);
      opts.log(`control-plane: watch ${opts.what} could not start (${lastError}); retrying in ${delay} ms`);
      scheduleStart(delay);
      delay = Math.min(delay * 2, retry.maxMs);
      return;
    }
    if (stopped || mine !== attempt || errors !== errorsBefore) return;
    if (!synced) opts.log(`control-plane: watch ${opts.what} synced (${informer.list().length} objects)`);
    synced = true;
    lastError = undefined;
    delay = retry.initialMs;
    // The first list may have been empty: tell the owner anyway, so it knows the cluster has synced.
    changed();
  }

  void start();

  return {
    what: opts.what,
    list: () => informer.list(),
    get: (name, namespace) => informer.get(name, namespace),
    synced: () => synced,
    lastError: () => lastError,
    errorCount: () => errors,
    async stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
      await informer.stop();
    },
  };
}

/** One line: the API server's Status message and the HTTP code, not client-node's multi-line dump. */
function describe(err: unknown): string {
  const code = apiErrorCode(err) ?? (err as { statusCode?: unknown } | undefined)?.statusCode;
  const message = apiErrorMessage(err).split('\n')[0];
  return typeof code === 'number' ? `${message} (HTTP ${code})` : message;
}
