// A cluster at run time: its hosts (from EDS or the static load assignment), their pools, the load
// balancer and outlier detection. Endpoint updates swap the host list; a host that left keeps its pool
// until its in-flight requests finish, so an EDS update never drops a request.

import type { Clock } from '../../clock.js';
import type { Logger } from '../log.js';
import { endpointKey, type Cluster, type Endpoint } from '../model/cluster.js';
import { Http1SocketPool } from '../upstream/http1-socket-pool.js';
import { Http2Pool } from '../upstream/http2-pool.js';
import type { EndpointPool } from '../upstream/types.js';
import { isHealthy, type Host } from './host.js';
import { createLoadBalancer, type LoadBalancer } from './lb.js';
import { isEjected, recordOutcome } from './outlier.js';
import { chooseLocality, choosePriorityHosts } from './priority-select.js';

export interface ClusterDeps {
  clock: Clock;
  random: () => number;
  log: Logger;
  onEjection?: (cluster: string, host: Host) => void;
}

export class ClusterRuntime {
  private hostList: Host[] = [];
  private lb: LoadBalancer;
  /** Per host subset (priority, panic or healthy, locality): its own balancer state, as Envoy keeps one per host source. */
  private readonly subsetLbs = new Map<string, LoadBalancer>();

  constructor(
    private specValue: Cluster,
    private readonly deps: ClusterDeps,
  ) {
    this.lb = createLoadBalancer(specValue.lbPolicy, deps.random);
  }

  get name(): string {
    return this.specValue.name;
  }

  get spec(): Cluster {
    return this.specValue;
  }

  get hosts(): readonly Host[] {
    return this.hostList;
  }

  private newPool(e: Endpoint): EndpointPool {
    const origin = `http://${endpointKey(e)}`;
    return this.specValue.http2 ? new Http2Pool(origin, this.specValue.connectTimeoutMs, this.deps.clock) : new Http1SocketPool(origin, this.specValue.connectTimeoutMs, { clock: this.deps.clock, log: this.deps.log });
  }

  private retire(pool: EndpointPool, why: string): void {
    pool.close().catch((e: unknown) => this.deps.log('warn', `cluster ${this.name}: closing a pool (${why}) failed: ${String(e)}`));
  }

  updateSpec(spec: Cluster): void {
    const old = this.specValue;
    this.specValue = spec;
    if (old.lbPolicy !== spec.lbPolicy) {
      this.lb = createLoadBalancer(spec.lbPolicy, this.deps.random);
      this.subsetLbs.clear();
    }
    if (old.http2 !== spec.http2 || old.connectTimeoutMs !== spec.connectTimeoutMs) {
      for (const h of this.hostList) {
        this.retire(h.pool, 'protocol or connect timeout changed');
        h.pool = this.newPool(h.endpoint);
      }
    }
  }

  /** Replaces the endpoints; hosts that stay keep their pool, stats and outlier state. */
  updateEndpoints(endpoints: readonly Endpoint[]): void {
    const old = new Map(this.hostList.map((h) => [h.key, h]));
    const next: Host[] = [];
    for (const e of endpoints) {
      const key = endpointKey(e);
      const existing = old.get(key);
      if (existing) {
        existing.endpoint = e;
        old.delete(key);
        next.push(existing);
      } else if (!next.some((h) => h.key === key)) {
        next.push({ key, endpoint: e, pool: this.newPool(e), active: 0, total: 0, errors: 0, outlier: { consecutive5xx: 0, ejectedUntil: 0, ejections: 0 } });
      }
    }
    this.hostList = next;
    for (const gone of old.values()) this.retire(gone.pool, 'endpoint removed');
  }

  /**
   * Picks a host for one attempt, as Envoy: a priority by the priority load (health of each priority,
   * spill-over, panic), then a locality by weight when the cluster balances by locality, then a host.
   * A retry with the previous_hosts predicate passes the hosts tried so far as `avoid` (and with
   * previous_priorities, the priorities to leave): as Envoy,
   * a selection that lands on one of them is re-done up to `reselections` times, and the last one
   * stands when every re-selection lands on a tried host too.
   */
  pick(avoid?: ReadonlySet<string>, reselections = 0, excludedPriorities?: ReadonlySet<number>): Host | undefined {
    let host = this.pickOnce(excludedPriorities);
    for (let i = 0; i < reselections && host !== undefined && avoid?.has(host.key); i++) host = this.pickOnce(excludedPriorities);
    return host;
  }

  /** `excludedPriorities`: a retry's previous_priorities, whose load goes to the other priorities. */
  private pickOnce(excludedPriorities?: ReadonlySet<number>): Host | undefined {
    const now = this.deps.clock.now();
    const hosts = this.hostList;
    if (hosts.length === 0) return undefined;
    // The common case, checked without allocating: every host usable, one priority, no locality weights.
    const priority = hosts[0].endpoint.priority;
    let allUsable = !this.specValue.localityWeighted && !excludedPriorities?.size;
    for (const h of hosts) {
      if (!allUsable) break;
      if (!isHealthy(h) || isEjected(h, now) || h.endpoint.priority !== priority) allUsable = false;
    }
    if (allUsable) return this.lb.pick(hosts);
    const usable = (h: Host) => isHealthy(h) && !isEjected(h, now);
    const candidates = choosePriorityHosts(hosts, usable, this.specValue.panicThresholdPercent, this.deps.random, excludedPriorities);
    if (!candidates || candidates.hosts.length === 0) return undefined;
    const source = `${candidates.priority}|${candidates.panic ? 'all' : 'healthy'}`;
    if (candidates.panic || !this.specValue.localityWeighted) return this.subsetLb(source).pick(candidates.hosts);
    const inLocality = chooseLocality(candidates.hosts, candidates.all, this.deps.random);
    // No locality with weight and healthy hosts: Envoy falls back to the priority's healthy hosts.
    if (!inLocality) return this.subsetLb(source).pick(candidates.hosts);
    return this.subsetLb(`${source}|${inLocality.locality}`).pick(inLocality.hosts);
  }

  private subsetLb(key: string): LoadBalancer {
    let lb = this.subsetLbs.get(key);
    if (!lb) {
      lb = createLoadBalancer(this.specValue.lbPolicy, this.deps.random);
      this.subsetLbs.set(key, lb);
    }
    return lb;
  }

  /** Feeds outlier detection: `failed` is a 5xx or a connect failure / reset (consecutive_5xx counts both). */
  recordResult(host: Host, failed: boolean): void {
    if (failed) host.errors++;
    if (recordOutcome(this.specValue.outlier, host, this.hostList, failed, this.deps.clock, this.deps.random)) {
      this.deps.log('info', `cluster ${this.name}: ejected ${host.key} until +${host.outlier.ejectedUntil - this.deps.clock.now()} ms (consecutive 5xx)`);
      this.deps.onEjection?.(this.name, host);
    }
  }

  close(): void {
    for (const h of this.hostList) this.retire(h.pool, 'cluster removed');
    this.hostList = [];
  }

  destroy(): void {
    for (const h of this.hostList) h.pool.destroy();
    this.hostList = [];
  }
}
