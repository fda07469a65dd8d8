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

export interface ClusterDeps {
  clock: Clock;
  random: () => number;
  log: Logger;
  onEjection?: (cluster: string, host: Host) => void;
}

export class ClusterRuntime {
  private hostList: Host[] = [];
  private lb: LoadBalancer;

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
    if (old.lbPolicy !== spec.lbPolicy) this.lb = createLoadBalancer(spec.lbPolicy, this.deps.random);
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
   * Picks a host for one attempt: healthy (HEALTHY/UNKNOWN), not ejected, in the best priority that has
   * any; hosts in `avoid` (tried by earlier attempts) only when nothing else is left.
   */
  pick(avoid: ReadonlySet<string> | undefined): Host | undefined {
    const now = this.deps.clock.now();
    const hosts = this.hostList;
    if (hosts.length === 0) return undefined;
    // The common case, checked without allocating: every host usable, none to avoid, one priority.
    const priority = hosts[0].endpoint.priority;
    let allUsable = true;
    for (const h of hosts) {
      if (!isHealthy(h) || isEjected(h, now) || avoid?.has(h.key) || h.endpoint.priority !== priority) {
        allUsable = false;
        break;
      }
    }
    if (allUsable) return this.lb.pick(hosts);
    const eligible = hosts.filter((h) => isHealthy(h) && !isEjected(h, now));
    if (eligible.length === 0) return undefined;
    const fresh = avoid ? eligible.filter((h) => !avoid.has(h.key)) : eligible;
    const pool = fresh.length > 0 ? fresh : eligible;
    const best = Math.min(...pool.map((h) => h.endpoint.priority));
    return this.lb.pick(pool.filter((h) => h.endpoint.priority === best));
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
