// From the watched world to every connected proxy: changes are debounced into one rebuild of the
// mesh snapshot, then each connected node's resources are translated and set in the snapshot cache
// (which pushes them). A node that just connected gets its resources at once, from the last snapshot.
// One MeshTranslator per mesh snapshot: proxies of the same scope share translated (and, in the
// cache, encoded) resources, so a push costs about one translation per scope, not one per proxy.

import { buildMeshSnapshot, type BuildResult } from '../registry/build.js';
import type { ProxyIdentity } from '../registry/model.js';
import { stableJson } from '../registry/model.js';
import { analyze, MeshTranslator } from '../translate/translate.js';
import type { Problem } from '../config/problems.js';
import type { ProxyResources } from '../translate/envoy-types.js';
import type { SnapshotCache } from '../xds/cache.js';
import { Debouncer } from '../xds/debounce.js';
import type { Clock } from '../clock.js';
import type { XdsNode } from '../xds/protos.js';
import { SnapshotError } from '../xds/snapshot.js';
import { isAgentStream } from '../xds/server.js';
import { proxyIdentity } from './identity.js';
import type { MeshView } from './mesh-sources.js';
import type { PushPropagation } from './propagation.js';
import { nameTableGroup, toXdsSnapshot, workloadTableGroup } from './proxy-resources.js';

export interface PusherOptions {
  clusterId: string;
  view: MeshView;
  cache: SnapshotCache;
  log: (line: string) => void;
  clock?: Clock;
  debounce?: { quietMs: number; maxDelayMs: number };
  /** How the mesh snapshot is built from the view; the default reads the view's clusters and config. */
  buildMesh?: (view: MeshView) => BuildResult;
  /** After every rebuild, once the first batch of pushes is out (the config status reporter listens). */
  onRebuilt?: () => void;
  /** Told when each node's push begins and ends, and how long after its config event a node got it. */
  metrics?: PushMetrics;
  /** Told of rebuilds and of every node handled, come and gone: config propagation tracking. */
  propagation?: PushPropagation;
}

export interface PushMetrics {
  /** A node's translation and snapshot push begins; what its streams write until pushEnded belongs to it. */
  pushStarted(): void;
  pushEnded(): void;
  /** A node was pushed the result of a config event that happened `seconds` ago (pilot_proxy_convergence_time). */
  converged(seconds: number): void;
}

export interface RebuildTiming {
  buildMs: number;
  /** Resolves once every connected node was handled (at once for up to PUSH_BATCH nodes). */
  pushed: Promise<PushTiming>;
}

export interface PushTiming {
  /** Nodes whose snapshot was translated and set. */
  nodes: number;
  /** From the end of the build until the last node's snapshot was handed to its streams. */
  pushMs: number;
}

/**
 * Nodes pushed per turn of the event loop. Each push writes the node's changed resources to its
 * streams; yielding between batches lets those bytes reach the sockets before the next batch is
 * written, so a large route config sent to a thousand proxies is not held in memory all at once.
 */
export const PUSH_BATCH = 64;

interface ConnectedNode {
  node: XdsNode;
  /**
   * Its data plane came over plaintext xDS: an agent that has no workload certificate (tests, debugging).
   * It gets no TLS clusters and plaintext inbound listeners; over TLS with a token it has one.
   */
  plaintext: boolean;
  /** Open streams of this node (a reconnecting proxy briefly has two). */
  streams: number;
  /** What the node's current snapshot was made from: skip translation when neither changed. */
  builtFrom?: string;
}

export interface PushCounters {
  rebuilds: number;
  pushes: number;
  rejectedSnapshots: number;
}

export class ProxyPusher {
  private readonly nodes = new Map<string, ConnectedNode>();
  private readonly debouncer: Debouncer<void>;
  private current: BuildResult;
  private translator: MeshTranslator;
  /** The analysis of the current snapshot, made when first asked for. */
  private analysis: { version: string; problems: Problem[] } | undefined;
  private readonly counters: PushCounters = { rebuilds: 0, pushes: 0, rejectedSnapshots: 0 };
  /** Per node: the last reason its snapshot was refused (cleared by a good one). */
  private readonly rejected = new Map<string, string>();
  /** The first config event (performance.now()) since the last rebuild: where convergence time starts. */
  private firstChangeAt: number | undefined;
  /**
   * A round of pushes in progress: the nodes still to push, and who waits for the end of it. The first
   * pass pushes the nodes whose scope's shared translation changed and defers the others (their own
   * listeners may still have changed) to a second pass, so that with Sidecars the proxies a change
   * concerns are not queued behind those it does not.
   */
  private drain: {
    queue: string[];
    next: number;
    deferred: string[];
    firstPass: boolean;
    /** Identities worked out in the first pass, used again by the node's push in the same round. */
    identities: Map<string, ProxyIdentity>;
    started: number;
    /** The earliest config event whose result this round pushes (undefined: not caused by one, e.g. the first build). */
    changedAt: number | undefined;
    pushed: number;
    waiters: Array<(t: PushTiming) => void>;
    timer?: NodeJS.Immediate;
  } | undefined;

  constructor(private readonly opts: PusherOptions) {
    this.current = buildMeshSnapshot({ clusters: [], config: [] });
    this.translator = new MeshTranslator(this.current.snapshot);
    this.debouncer = new Debouncer<void>({
      fire: () => {
        this.rebuild();
      },
      quietMs: opts.debounce?.quietMs ?? 100,
      maxDelayMs: opts.debounce?.maxDelayMs ?? 1000,
      ...(opts.clock ? { clock: opts.clock } : {}),
      onError: (err) => opts.log(`control-plane: rebuild failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
    });
  }

  /** Something watched changed: rebuild soon (debounced). */
  changed(): void {
    this.firstChangeAt ??= performance.now();
    this.debouncer.push();
  }

  /**
   * Rebuilds now and pushes to every connected node whose inputs changed, those whose scope changed
   * first: the first batch before returning, the rest in later turns of the event loop (a rebuild
   * meanwhile restarts the round).
   */
  rebuild(): RebuildTiming {
    const started = performance.now();
    const changedAt = this.firstChangeAt;
    this.firstChangeAt = undefined;
    const previous = this.current.snapshot.version;
    this.current = this.opts.buildMesh ? this.opts.buildMesh(this.opts.view) : buildMeshSnapshot({ clusters: this.opts.view.clusters(), config: this.opts.view.config() });
    this.counters.rebuilds++;
    this.opts.propagation?.rebuilt(this.current.snapshot.version);
    const built = performance.now();
    if (this.current.snapshot.version !== previous) {
      const s = this.current.snapshot;
      this.translator = new MeshTranslator(s, this.translator);
      this.opts.log(`control-plane: mesh snapshot ${s.version}: ${s.services.length} services, ${s.endpoints.length} endpoints, ` +
        `${s.virtualServices.length} virtual services, ${s.destinationRules.length} destination rules`);
    }
    // Also on an unchanged snapshot: a node's identity may have changed (its pod reached the cache).
    const queue = [...this.nodes.keys()].sort();
    const drain = (this.drain ??= { queue, next: 0, deferred: [], firstPass: true, identities: new Map<string, ProxyIdentity>(), started: built, changedAt, pushed: 0, waiters: [] });
    // A round restarted before it reached every node still owes them the older event's result.
    const owed = drain.changedAt === undefined ? changedAt : changedAt === undefined ? drain.changedAt : Math.min(drain.changedAt, changedAt);
    Object.assign(drain, { queue, next: 0, deferred: [], firstPass: true, identities: new Map<string, ProxyIdentity>(), changedAt: owed });
    const pushed = new Promise<PushTiming>((resolve) => drain.waiters.push(resolve));
    if (!drain.timer) this.pushBatch();
    this.opts.onRebuilt?.();
    return { buildMs: built - started, pushed };
  }

  private pushBatch(): void {
    const drain = this.drain;
    if (!drain) return;
    drain.timer = undefined;
    // Telling a changed scope from an unchanged one is cheap (one translation per scope, memoised).
    let checks = PUSH_BATCH * 8;
    for (let pushes = 0; pushes < PUSH_BATCH && checks > 0 && drain.next < drain.queue.length; checks--) {
      const nodeId = drain.queue[drain.next++];
      if (drain.firstPass && !this.scopeChanged(nodeId, drain.identities)) {
        drain.deferred.push(nodeId);
        continue;
      }
      if (this.push(nodeId, drain.identities.get(nodeId))) {
        drain.pushed++;
        if (drain.changedAt !== undefined) this.opts.metrics?.converged((performance.now() - drain.changedAt) / 1000);
      }
      pushes++;
    }
    if (drain.next >= drain.queue.length && drain.firstPass) Object.assign(drain, { queue: drain.deferred, next: 0, deferred: [], firstPass: false });
    if (drain.next < drain.queue.length) {
      drain.timer = setImmediate(() => this.pushBatch());
      return;
    }
    this.drain = undefined;
    const timing = { nodes: drain.pushed, pushMs: performance.now() - drain.started };
    for (const resolve of drain.waiters) resolve(timing);
  }

  snapshot(): BuildResult {
    return this.current;
  }

  /** What `analyze` finds in the current snapshot (/debug/analyze, the objects' status): once per snapshot version. */
  problems(): { version: string; problems: Problem[] } {
    const version = this.current.snapshot.version;
    if (this.analysis?.version !== version) this.analysis = { version, problems: analyze(this.current.snapshot) };
    return this.analysis;
  }

  onStreamOpen(node: XdsNode, stream: { authenticated: boolean } = { authenticated: false }): void {
    const id = node.id ?? '';
    const known = this.nodes.get(id);
    if (known) {
      known.streams++;
      // The data plane's node is the one to show and translate for; an agent's stream (NDS) carries the same metadata.
      if (!isAgentStream(node)) {
        known.node = node;
        if (known.plaintext !== !stream.authenticated) {
          known.plaintext = !stream.authenticated;
          this.push(id);
        }
      }
      // The cache still holds this node's snapshot; the new stream is answered from it.
      return;
    }
    this.nodes.set(id, { node, streams: 1, plaintext: !stream.authenticated });
    this.opts.propagation?.nodeConnected(node);
    this.push(id);
  }

  onStreamClosed(node: XdsNode): void {
    const id = node.id ?? '';
    const known = this.nodes.get(id);
    if (!known) return;
    known.streams--;
    if (known.streams > 0) return;
    this.nodes.delete(id);
    this.rejected.delete(id);
    this.opts.propagation?.nodeDisconnected(id);
    this.opts.cache.clearSnapshot(id);
  }

  connectedNodes(): XdsNode[] {
    return [...this.nodes.values()].map((n) => n.node);
  }

  /** The identity of a connected node by its full id, or by `<pod>.<namespace>` as istioctl accepts. */
  findNode(proxyId: string): XdsNode | undefined {
    const exact = this.nodes.get(proxyId);
    if (exact) return exact.node;
    for (const { node } of this.nodes.values()) {
      const parts = (node.id ?? '').split('~');
      if (parts.length === 4 && parts[2] === proxyId) return node;
    }
    return undefined;
  }

  identityOf(node: XdsNode): ProxyIdentity {
    const identity = proxyIdentity(node, { defaultCluster: this.opts.clusterId, findPod: (c, ns, name) => this.opts.view.findPod(c, ns, name) });
    return this.nodes.get(node.id ?? '')?.plaintext && identity.kind !== 'proxyless' ? { ...identity, plaintextOnly: true } : identity;
  }

  resourcesFor(identity: ProxyIdentity): ProxyResources {
    return this.translator.translate(identity);
  }

  rejectedSnapshots(): ReadonlyMap<string, string> {
    return this.rejected;
  }

  stats(): Readonly<PushCounters> {
    return { ...this.counters };
  }

  stop(): void {
    this.debouncer.stop();
    if (this.drain?.timer) clearImmediate(this.drain.timer);
    this.drain = undefined;
  }

  /** Whether the node's shared translation changed with the last snapshot (true when that cannot be told). */
  private scopeChanged(nodeId: string, identities: Map<string, ProxyIdentity>): boolean {
    const entry = this.nodes.get(nodeId);
    if (!entry) return false;
    try {
      const identity = this.identityOf(entry.node);
      identities.set(nodeId, identity);
      return this.translator.sharedChanged(identity);
    } catch {
      return true;
    }
  }

  /** Translates and sets the node's snapshot unless its inputs are unchanged; true when set. `known`: its identity, worked out this round. */
  private push(nodeId: string, known?: ProxyIdentity): boolean {
    const entry = this.nodes.get(nodeId);
    if (!entry) return false;
    let identity: ProxyIdentity;
    try {
      identity = known ?? this.identityOf(entry.node);
      const builtFrom = `${this.current.snapshot.version}|${stableJson(identity)}`;
      if (entry.builtFrom === builtFrom && this.opts.cache.getPrepared(nodeId)) {
        // Nothing new for it: what it has reflects this snapshot too.
        this.opts.propagation?.nodeHandled(nodeId);
        return false;
      }
      this.opts.metrics?.pushStarted();
      try {
        const nameTable = nameTableGroup(this.current.snapshot, identity.cluster);
        const workloadTable = workloadTableGroup(this.current.snapshot);
        this.opts.cache.setSnapshot(nodeId, toXdsSnapshot(this.translator.translateScoped(identity), nameTable, workloadTable));
      } finally {
        this.opts.metrics?.pushEnded();
      }
      entry.builtFrom = builtFrom;
      this.counters.pushes++;
      this.rejected.delete(nodeId);
      this.opts.propagation?.nodeHandled(nodeId);
      return true;
    } catch (err) {
      // The node keeps its last good snapshot; the reason is logged and shown in /debug/syncz.
      this.counters.rejectedSnapshots++;
      const reason = err instanceof SnapshotError ? err.problems.join('; ') : err instanceof Error ? err.stack ?? err.message : String(err);
      this.rejected.set(nodeId, reason);
      this.opts.propagation?.nodeHandled(nodeId, reason);
      this.opts.log(`control-plane: no new config for ${nodeId}: ${reason}`);
      return false;
    }
  }
}
