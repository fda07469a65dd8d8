// A cluster at run time: its hosts (from EDS or the static load assignment), their pools, the load
// balancer and outlier detection. Endpoint updates swap the host list; a host that left keeps its pool
// until its in-flight requests finish, so an EDS update never drops a request.

import * as net from 'node:net';
import type { Clock } from '../../clock.js';
import type { Logger } from '../log.js';
import { endpointKey, type Cluster, type Endpoint } from '../model/cluster.js';
import { Http1SocketPool } from '../upstream/http1-socket-pool.js';
import { Http2Pool } from '../upstream/http2-pool.js';
import type { EndpointPool } from '../upstream/types.js';
import { connectorFor, transportFor, transportKey } from '../upstream/transport.js';
import type { SecretResolver } from '../tls/secrets.js';
import { CircuitBreakers } from './circuit-breakers.js';
import { isHealthy, type Host } from './host.js';
import { createLoadBalancer, type LoadBalancer } from './lb.js';
import { isEjected, recordOutcome, type AttemptResult } from './outlier.js';
import { chooseLocality, choosePriorityHosts } from './priority-select.js';

export interface ClusterDeps {
  clock: Clock;
  random: () => number;
  log: Logger;
  onEjection?: (cluster: string, host: Host) => void;
  /** Where upstream TLS finds its certificates. */
  secrets?: SecretResolver;
  /** The pod IP upstream connections leave from (see upstream/transport.ts connectorFor). */
  sourceAddress?: string;
}

export class ClusterRuntime {
  private hostList: Host[] = [];
  private lb: LoadBalancer;
  /** Per host subset (priority, panic or healthy, locality): its own balancer state, as Envoy keeps one per host source. */
  private readonly subsetLbs = new Map<string, LoadBalancer>();
  readonly breakers: CircuitBreakers;

  constructor(
    private specValue: Cluster,
    private readonly deps: ClusterDeps,
  ) {
    this.lb = createLoadBalancer(specValue, deps.random);
    this.breakers = new CircuitBreakers(specValue.limits);
  }

  get name(): string {
    return this.specValue.name;
  }

  /** A raw connection to `host` over the transport its endpoint gets (a tcp_proxy's upstream); `secure`: usable on 'secureConnect'. */
  openConnection(host: Host, options: { allowHalfOpen: boolean }): { socket: net.Socket; secure: boolean } {
    const { host: address, port } = host.endpoint;
    const connector = connectorFor(transportFor(this.specValue, host.endpoint), this.deps.secrets, this.deps.sourceAddress);
    if (!connector) return { socket: net.connect({ host: address, port, noDelay: true, ...options }), secure: false };
    return { socket: connector.connect(address, port, options), secure: connector.secure };
  }

  get spec(): Cluster {
    return this.specValue;
  }

  get hosts(): readonly Host[] {
    return this.hostList;
  }

  /** A pool to the endpoint over the transport the cluster gives it, and that transport's key. */
  private newPool(e: Endpoint): { pool: EndpointPool; transport: string } {
    const origin = `http://${endpointKey(e)}`;
    const { http2, connectTimeoutMs, idleTimeoutMs, maxRequestsPerConnection } = this.specValue;
    const spec = transportFor(this.specValue, e);
    const connector = connectorFor(spec, this.deps.secrets, this.deps.sourceAddress);
    const pool = http2
      ? new Http2Pool(origin, connectTimeoutMs, this.deps.clock, connector)
      : new Http1SocketPool(origin, connectTimeoutMs, { clock: this.deps.clock, log: this.deps.log, idleTimeoutMs, maxRequestsPerConnection, connector });
    return { pool, transport: transportKey(spec) };
  }

  private replacePool(h: Host, why: string): void {
    this.retire(h.pool, why);
    const { pool, transport } = this.newPool(h.endpoint);
    h.pool = pool;
    h.transport = transport;
  }

  private retire(pool: EndpointPool, why: string): void {
    pool.close().catch((e: unknown) => this.deps.log('warn', `cluster ${this.name}: closing a pool (${why}) failed: ${String(e)}`));
  }

  updateSpec(spec: Cluster): void {
    const old = this.specValue;
    this.specValue = spec;
    if (old.lbPolicy !== spec.lbPolicy || old.choiceCount !== spec.choiceCount || JSON.stringify(old.hashLb) !== JSON.stringify(spec.hashLb)) {
      this.lb = createLoadBalancer(spec, this.deps.random);
      this.subsetLbs.clear();
    }
    this.breakers.limits = spec.limits;
    const poolChanged = (['http2', 'connectTimeoutMs', 'idleTimeoutMs', 'maxRequestsPerConnection'] as const).some((k) => old[k] !== spec[k]);
    for (const h of this.hostList) {
      if (poolChanged) this.replacePool(h, 'protocol, connect timeout or connection limits changed');
      else if (transportKey(transportFor(spec, h.endpoint)) !== h.transport) this.replacePool(h, 'transport socket changed');
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
        // Pools are per transport: new metadata choosing another transport_socket_matches entry means new connections.
        if (transportKey(transportFor(this.specValue, e)) !== existing.transport) this.replacePool(existing, 'transport socket changed');
      } else if (!next.some((h) => h.key === key)) {
        next.push({ key, endpoint: e, ...this.newPool(e), active: 0, total: 0, errors: 0, outlier: { consecutive5xx: 0, consecutiveGatewayFailure: 0, consecutiveLocalOriginFailure: 0, ejectedUntil: 0, ejections: 0 } });
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
   * stands when every re-selection lands on a tried host too. `hash` is the request's consistent-hash
   * key (ring hash, Maglev); a re-selection moves it as Envoy does (the attempt number).
   */
  pick(avoid?: ReadonlySet<string>, reselections = 0, hash?: bigint, excludedPriorities?: ReadonlySet<number>): Host | undefined {
    let host = this.pickOnce(excludedPriorities, hash, 0);
    for (let i = 0; i < reselections && host !== undefined && avoid?.has(host.key); i++) host = this.pickOnce(excludedPriorities, hash, i + 1);
    return host;
  }

  /** `excludedPriorities`: a retry's previous_priorities, whose load goes to the other priorities. */
  private pickOnce(excludedPriorities: ReadonlySet<number> | undefined, hash: bigint | undefined, attempt: number): Host | undefined {
    // No hash and a first selection: nothing for a balancer to read, so nothing allocated per request.
    const ctx = hash === undefined && attempt === 0 ? undefined : { hash, attempt };
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
    if (allUsable) return this.lb.pick(hosts, ctx);
    const usable = (h: Host) => isHealthy(h) && !isEjected(h, now);
    const candidates = choosePriorityHosts(hosts, usable, this.specValue.panicThresholdPercent, this.deps.random, excludedPriorities);
    if (!candidates || candidates.hosts.length === 0) return undefined;
    const source = `${candidates.priority}|${candidates.panic ? 'all' : 'healthy'}`;
    if (candidates.panic || !this.specValue.localityWeighted) return this.subsetLb(source).pick(candidates.hosts, ctx);
    const inLocality = chooseLocality(candidates.hosts, candidates.all, this.deps.random);
    // No locality with weight and healthy hosts: Envoy falls back to the priority's healthy hosts.
    if (!inLocality) return this.subsetLb(source).pick(candidates.hosts, ctx);
    return this.subsetLb(`${source}|${inLocality.locality}`).pick(inLocality.hosts, ctx);
  }

  private subsetLb(key: string): LoadBalancer {
    let lb = this.subsetLbs.get(key);
    if (!lb) {
      lb = createLoadBalancer(this.specValue, this.deps.random);
      this.subsetLbs.set(key, lb);
    }
    return lb;
  }

  /** Feeds outlier detection with an attempt's answer, or its failure before one (connect failure, reset). */
  recordResult(host: Host, result: AttemptResult): void {
    if ('local' in result || result.status >= 500) host.errors++;
    const ejectedBy = recordOutcome(this.specValue.outlier, host, this.hostList, result, this.deps.clock, this.deps.random);
    if (ejectedBy) {
      this.deps.log('info', `cluster ${this.name}: ejected ${host.key} until +${host.outlier.ejectedUntil - this.deps.clock.now()} ms (${ejectedBy})`);
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
