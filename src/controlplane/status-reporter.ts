// Writes the analysis findings into the status of the Istio config objects of the control plane's own
// cluster, as istiod does with analysis in status enabled: through the status subresource, only for
// objects whose status would change (config-status.ts decides), so an unchanged mesh costs no write.
// A status write changes the object's resourceVersion and wakes every watcher; the config watch tells
// such status-only updates apart (cluster-watch.ts), so they do not rebuild the mesh nor push to proxies.

import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { findByKind } from '../config/kinds.js';
import { apiErrorCode, apiErrorMessage } from '../kubeapi/client.js';
import type { IstioConfigObjects, KubeIstioObject } from '../registry/build.js';
import type { ConfigKind, Problem } from '../translate/problems.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { Debouncer } from '../xds/debounce.js';
import { ISTIO_GROUP, ISTIO_VERSION } from './cluster-watch.js';
import { analysisStatus } from './config-status.js';

export interface StatusReporterOptions {
  kubeConfig: KubeConfig;
  /** The own cluster's Istio config, as the config watch holds it (with metadata and status). */
  config: () => IstioConfigObjects;
  /** The findings of the current mesh snapshot. */
  problems: () => readonly Problem[];
  /** Whether the findings can be trusted: every watched cluster is listed (a half-listed mesh has false findings). */
  ready: () => boolean;
  log: (line: string) => void;
  clock?: Clock;
  debounce?: { quietMs: number; maxDelayMs: number };
  /** Back-off of a retry after a failed write. */
  retry?: { initialMs: number; maxMs: number };
}

export interface StatusReporterStats {
  /** Status writes that set findings. */
  written: number;
  /** Status writes that took findings away. */
  cleared: number;
  /** Writes refused because the object changed meanwhile (retried with the newer object). */
  conflicts: number;
  failures: number;
  lastError?: string;
}

/** The fields of a watched object the reporter reads (the informer holds the whole object). */
interface WatchedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; generation?: number; resourceVersion?: string };
  spec?: unknown;
  status?: unknown;
}

const KINDS: ReadonlyArray<[ConfigKind, keyof Omit<IstioConfigObjects, 'cluster'>]> = [
  ['VirtualService', 'virtualServices'],
  ['DestinationRule', 'destinationRules'],
  ['Gateway', 'gateways'],
  ['ServiceEntry', 'serviceEntries'],
];

const objectKey = (kind: string, namespace: string, name: string): string => `${kind}|${namespace}|${name}`;

export class ConfigStatusReporter {
  private readonly custom: CustomObjectsApi;
  private readonly clock: Clock;
  private readonly debouncer: Debouncer<void>;
  private readonly counts: StatusReporterStats = { written: 0, cleared: 0, conflicts: 0, failures: 0 };
  /**
   * Per object: the status last written and the resourceVersion it was written over. Until the watch
   * delivers the written object, the cache still shows the old one; this keeps the next round from
   * writing the same status again over a resourceVersion that is gone.
   */
  private readonly inFlight = new Map<string, { over: string; status: unknown }>();
  private retryTimer: TimerHandle | undefined;
  private retryDelay: number;
  private stopped = false;

  constructor(private readonly opts: StatusReporterOptions) {
    this.custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    this.clock = opts.clock ?? systemClock;
    this.retryDelay = opts.retry?.initialMs ?? 1000;
    this.debouncer = new Debouncer<void>({
      fire: () => this.reconcile(),
      quietMs: opts.debounce?.quietMs ?? 200,
      maxDelayMs: opts.debounce?.maxDelayMs ?? 2000,
      clock: this.clock,
      onError: (err) => opts.log(`control-plane: config status: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
    });
  }

  /** The findings or the objects may have changed: compare and write soon (debounced). */
  changed(): void {
    if (!this.stopped) this.debouncer.push();
  }

  stats(): StatusReporterStats {
    return { ...this.counts };
  }

  stop(): void {
    this.stopped = true;
    this.debouncer.stop();
    this.retryTimer?.cancel();
  }

  /** One round: every object of the own cluster's config whose status differs from its findings is written. */
  async reconcile(): Promise<void> {
    if (this.stopped || !this.opts.ready()) return;
    const findings = new Map<string, Problem[]>();
    for (const p of this.opts.problems()) {
      const key = objectKey(p.kind, p.namespace, p.name);
      const list = findings.get(key);
      if (list) list.push(p);
      else findings.set(key, [p]);
    }
    const config = this.opts.config();
    let failed = false;
    for (const [kind, field] of KINDS) {
      for (const object of config[field] as ReadonlyArray<KubeIstioObject & WatchedObject>) {
        if (this.stopped) return;
        const ok = await this.reconcileObject(kind, object, findings.get(objectKey(kind, object.metadata?.namespace ?? '', object.metadata?.name ?? '')) ?? []);
        failed ||= !ok;
      }
    }
    if (failed) this.scheduleRetry();
    else this.retryDelay = this.opts.retry?.initialMs ?? 1000;
  }

  /** False when the write failed (a retry is due). */
  private async reconcileObject(kind: ConfigKind, object: WatchedObject, findings: readonly Problem[]): Promise<boolean> {
    const name = object.metadata?.name;
    const namespace = object.metadata?.namespace;
    const resourceVersion = object.metadata?.resourceVersion ?? '';
    if (!name || !namespace) return true;
    const key = objectKey(kind, namespace, name);
    const update = analysisStatus(object.status, findings, object.metadata?.generation, new Date());
    if (!update.changed) {
      this.inFlight.delete(key);
      return true;
    }
    const pending = this.inFlight.get(key);
    if (pending && pending.over === resourceVersion && isDeepStrictEqual(pending.status, update.status)) return true;
    const type = findByKind(ISTIO_GROUP, kind);
    if (!type) throw new Error(`not implemented: ${kind} is not a served kind`);
    const { status: _old, ...rest } = object;
    const body = { ...rest, apiVersion: `${ISTIO_GROUP}/${ISTIO_VERSION}`, kind, ...(update.status ? { status: update.status } : {}) };
    try {
      // Recorded in managedFields under istiod's name, as Istio's own status writes are.
      await this.custom.replaceNamespacedCustomObjectStatus({ group: ISTIO_GROUP, version: ISTIO_VERSION, namespace, plural: type.plural, name, body, fieldManager: 'pilot-discovery' });
      this.inFlight.set(key, { over: resourceVersion, status: update.status });
      if (findings.length > 0) this.counts.written++;
      else this.counts.cleared++;
      return true;
    } catch (err) {
      const code = apiErrorCode(err);
      // Deleted meanwhile: nothing to report on.
      if (code === 404) return true;
      const message = `${kind} ${namespace}/${name}: writing its status failed: ${apiErrorMessage(err).split('\n')[0]}${code ? ` (HTTP ${code})` : ''}`;
      if (code === 409) this.counts.conflicts++;
      else {
        this.counts.failures++;
        this.counts.lastError = message;
        this.opts.log(`control-plane: config status: ${message}`);
      }
      return false;
    }
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(delay * 2, this.opts.retry?.maxMs ?? 30_000);
    this.retryTimer = this.clock.setTimer(() => {
      this.retryTimer = undefined;
      this.changed();
    }, delay);
  }
}
