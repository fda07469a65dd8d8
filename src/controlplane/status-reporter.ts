// Writes the analysis findings into the status of the Istio config objects of the control plane's own
// cluster, as istiod does with analysis in status enabled: through the status subresource, only for
// objects whose status would change (config-status.ts decides), so an unchanged mesh costs no write.
// A status write changes the object's resourceVersion and wakes every watcher; the config watch tells
// such status-only updates apart (cluster-watch.ts), so they do not rebuild the mesh nor push to proxies.

import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { findByKind } from '../k8s/kinds.js';
import type { IstioConfigObjects, KubeIstioObject } from '../registry/build.js';
import type { ConfigKind, Problem } from '../config/problems.js';
import type { Clock } from '../clock.js';
import { StatusWriteLoop } from './status-write-loop.js';
import { ISTIO_GROUP, ISTIO_SECURITY_GROUP, ISTIO_VERSION } from './cluster-watch.js';
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
  ['Sidecar', 'sidecars'],
  ['AuthorizationPolicy', 'authorizationPolicies'],
  ['PeerAuthentication', 'peerAuthentications'],
];

/** The kinds of security.istio.io; the others are networking.istio.io's. */
const SECURITY_KINDS: ReadonlySet<string> = new Set(['AuthorizationPolicy', 'PeerAuthentication']);

const objectKey = (kind: string, namespace: string, name: string): string => `${kind}|${namespace}|${name}`;

export class ConfigStatusReporter {
  private readonly custom: CustomObjectsApi;
  private readonly loop: StatusWriteLoop;
  private readonly counts = { written: 0, cleared: 0 };

  constructor(private readonly opts: StatusReporterOptions) {
    this.custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    this.loop = new StatusWriteLoop({
      label: 'config status',
      round: () => this.reconcile(),
      log: opts.log,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.debounce ? { debounce: opts.debounce } : {}),
      ...(opts.retry ? { retry: opts.retry } : {}),
    });
  }

  /** The findings or the objects may have changed: compare and write soon (debounced). */
  changed(): void {
    this.loop.changed();
  }

  stats(): StatusReporterStats {
    return { ...this.counts, ...this.loop.failures };
  }

  stop(): void {
    this.loop.stop();
  }

  /**
   * One round: every object of the own cluster's config whose status differs from its findings is
   * written. False when a write failed (retried), undefined when not ready or stopped.
   */
  private async reconcile(): Promise<boolean | undefined> {
    if (this.loop.stopped || !this.opts.ready()) return undefined;
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
      for (const object of (config[field] ?? []) as ReadonlyArray<KubeIstioObject & WatchedObject>) {
        if (this.loop.stopped) return undefined;
        const ok = await this.reconcileObject(kind, object, findings.get(objectKey(kind, object.metadata?.namespace ?? '', object.metadata?.name ?? '')) ?? []);
        failed ||= !ok;
      }
    }
    return !failed;
  }

  /** False when the write failed (a retry is due). */
  private async reconcileObject(kind: ConfigKind, object: WatchedObject, findings: readonly Problem[]): Promise<boolean> {
    const name = object.metadata?.name;
    const namespace = object.metadata?.namespace;
    if (!name || !namespace) return true;
    const key = objectKey(kind, namespace, name);
    const update = analysisStatus(object.status, findings, object.metadata?.generation, new Date());
    if (!update.changed) {
      this.loop.settled(key);
      return true;
    }
    const group = SECURITY_KINDS.has(kind) ? ISTIO_SECURITY_GROUP : ISTIO_GROUP;
    const type = findByKind(group, kind);
    if (!type) throw new Error(`not implemented: ${kind} is not a served kind`);
    const { status: _old, ...rest } = object;
    const body = { ...rest, apiVersion: `${group}/${ISTIO_VERSION}`, kind, ...(update.status ? { status: update.status } : {}) };
    // Recorded in managedFields under istiod's name, as Istio's own status writes are.
    const outcome = await this.loop.write(key, object.metadata?.resourceVersion ?? '', update.status, `${kind} ${namespace}/${name}`, () =>
      this.custom.replaceNamespacedCustomObjectStatus({ group, version: ISTIO_VERSION, namespace, plural: type.plural, name, body, fieldManager: 'pilot-discovery' }),
    );
    if (outcome === 'written') {
      if (findings.length > 0) this.counts.written++;
      else this.counts.cleared++;
    }
    return outcome !== 'failed';
  }
}
