// Binds and unbinds listener ports as LDS changes, and keeps a router current per HTTP connection
// manager of each listener (one per distinct HCM of its filter chains): the router is rebuilt from the
// watched route table (RDS by name, or the HCM's inline table) when it changes. A request is served by
// the HCM of the chain its connection was matched to (listener/chain-tag.ts). As
// in Envoy, no listener takes traffic before the initial config is complete (every referenced route
// configuration and cluster load assignment received: Envoy initializes listeners after its clusters),
// and later a listener waits (warms) until its own RDS route configuration and the secrets of its TLS
// chains are here.

import type { ConfigStore } from '../config/store.js';
import type { Logger } from '../log.js';
import type { FilterChain, HttpConnectionManager, Listener } from '../model/listener.js';
import type { RouteTable } from '../model/route.js';
import { Router } from '../route/router.js';
import { chainOf } from './chain-tag.js';
import { ConnectionManager, type ConnectionManagerDeps, type HttpConfig } from './connection-manager.js';
import { serveConnect } from './connect-tunnel.js';
import { ListenerPort } from './port.js';
import { proxyTcpConnection } from './tcp-proxy.js';
import { listenerTlsContexts } from '../model/tls.js';
import type { SecretResolver } from '../tls/secrets.js';

/** One HTTP connection manager of a listener, its router and the route table it was built from. */
interface HttpState extends HttpConfig {
  source: RouteTable | undefined;
}

interface ActiveListener {
  spec: Listener;
  port: ListenerPort;
  bound: Promise<void>;
  /** HCM -> its state: the current spec's HCMs, and (weakly) those of earlier versions whose connections are still open. */
  http: WeakMap<HttpConnectionManager, HttpState>;
  /** The current spec's HCMs by config: an update that keeps an HCM keeps its state, so its open connections follow it. */
  byKey: Map<string, HttpState>;
}

export interface ListenerManagerOptions {
  /** Grace for in-flight requests when a listener is removed or moved. */
  drainMs: number;
  /** Where TLS filter chains find their certificates (ADS secrets, the local agent). */
  secrets: SecretResolver;
  onBindError?: (listener: string, error: Error) => void;
}

export class ListenerManager {
  private readonly active = new Map<string, ActiveListener>();
  /** host:port -> the close of a port being unbound there (a new listener on it binds after). */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly unsubscribe: (() => void)[] = [];
  /** The initial config was complete once: from then on listeners warm one by one. */
  private initialized = false;

  constructor(
    private readonly store: ConfigStore,
    private readonly deps: ConnectionManagerDeps & { log: Logger },
    private readonly opts: ListenerManagerOptions,
  ) {
    this.unsubscribe.push(store.watch('listeners').subscribe(() => this.syncListeners()));
    this.unsubscribe.push(store.watch('routes').subscribe(() => this.syncRouters()));
    this.unsubscribe.push(store.watch('endpoints').subscribe(() => this.initialized || this.syncListeners()));
    this.unsubscribe.push(store.watch('clusters').subscribe(() => this.initialized || this.syncListeners()));
    this.unsubscribe.push(opts.secrets.onChange(() => this.syncListeners()));
    this.syncListeners();
  }

  /** Resolves when every current listener has tried to bind (errors are reported, not thrown). */
  async settled(): Promise<void> {
    await Promise.all([...this.active.values()].map((a) => a.bound.catch(() => undefined)));
  }

  /** Listener name -> bound address, for the admin endpoints and tests. */
  addresses(): Map<string, { host: string; port: number }> {
    return new Map([...this.active].map(([n, a]) => [n, { host: a.port.host, port: a.port.port }]));
  }

  private tableFor(hcm: HttpConnectionManager): RouteTable | undefined {
    const src = hcm.routes;
    return src.kind === 'inline' ? src.table : this.store.get('routes').get(src.routeConfigName)?.value;
  }

  private refreshRouter(a: ActiveListener, state: HttpState): void {
    const table = this.tableFor(state.hcm);
    if (table === state.source) return;
    state.source = table;
    const { hcm } = state;
    state.router = table && new Router(table, { stripAnyHostPort: hcm.stripAnyHostPort, stripMatchingHostPort: hcm.stripMatchingHostPort, listenerPort: a.spec.address.port });
  }

  /** Takes on `spec`: a state per distinct HCM, kept from the previous version where the HCM's config is unchanged. */
  private adopt(a: ActiveListener, spec: Listener): void {
    a.spec = spec;
    const byKey = new Map<string, HttpState>();
    for (const hcm of spec.hcms) {
      const state = a.byKey.get(hcm.configKey) ?? { hcm, router: undefined, source: undefined };
      state.hcm = hcm;
      a.http.set(hcm, state);
      byKey.set(hcm.configKey, state);
      this.refreshRouter(a, state);
    }
    a.byKey = byKey;
  }

  /**
   * The HCM and router for a request on `socket`: those of the chain the connection was matched to, as
   * the listener holds it now. A connection opened before a listener update (an AuthorizationPolicy
   * added an RBAC filter) is served by the updated chain with the same name and match; only a chain
   * that is gone leaves its connections on their last config until they close.
   */
  private configFor(a: ActiveListener, socket: unknown): HttpConfig {
    const tagged = chainOf(socket);
    const chain = tagged && currentChain(a.spec, tagged);
    const state = chain?.terminal.kind === 'http' ? a.http.get(chain.terminal.hcm) : undefined;
    if (state) return state;
    // listener/port.ts tags every connection it hands to an HTTP server with its chain: this is a guard.
    const first = a.byKey.values().next().value;
    if (!first) throw new Error(`listener ${a.spec.name}: an HTTP request on a connection without an HTTP connection manager`);
    return first;
  }

  private syncRouters(): void {
    for (const a of this.active.values()) for (const state of a.byKey.values()) this.refreshRouter(a, state);
    // Listeners warming for their route configuration take traffic once it is here.
    this.syncListeners();
  }

  private unbind(name: string, a: ActiveListener): void {
    this.active.delete(name);
    const key = `${a.port.host}:${a.port.port}`;
    const closed = a.bound
      .then(() => a.port.close(this.opts.drainMs))
      .catch((e: unknown) => this.deps.log('debug', `listener ${name}: nothing to close (${String(e)})`));
    this.closing.set(key, closed);
    void closed.then(() => {
      if (this.closing.get(key) === closed) this.closing.delete(key);
    });
  }

  private syncListeners(): void {
    if (!this.initialized) {
      // A restarted proxy answering "no healthy upstream" for clusters whose endpoints are on their way is a failure Envoy never shows.
      if (!this.store.ready()) return;
      this.initialized = true;
    }
    const specs = this.store.get('listeners');
    for (const [name, a] of this.active) {
      const next = specs.get(name)?.value;
      if (!next || next.address.host !== a.spec.address.host || next.address.port !== a.spec.address.port) this.unbind(name, a);
    }
    for (const [name, { value: spec }] of specs) {
      const existing = this.active.get(name);
      // As Envoy warms a listener: one whose RDS route configuration has not arrived takes no traffic (a
      // new one is not bound yet, an updated one keeps serving its previous version) rather than answer 404.
      // A listener of TCP proxies only has no route configuration to wait for.
      // Likewise a listener whose TLS chains' secrets have not all arrived (Envoy's SDS init target).
      const routesHere = spec.hcms.every((h) => this.tableFor(h) !== undefined);
      const warm = routesHere && listenerTlsContexts(spec).every((t) => this.opts.secrets.ready(t));
      if (!warm && routesHere) {
        this.deps.log('debug', `listener ${name}: warming, waiting for secrets ${listenerTlsContexts(spec).flatMap((t) => this.opts.secrets.missing(t)).join(', ')}`);
      }
      if (warm && existing?.spec !== spec) {
        const unenforced = [...spec.chains, ...(spec.defaultChain ? [spec.defaultChain] : [])].flatMap((c) => c.unenforced ?? []);
        if (unenforced.length > 0) this.deps.log('warn', `listener ${name}: ${unenforced.join(', ')} accepted but not acted on by the meshwork proxy; Envoy applies them`);
      }
      if (existing) {
        if (existing.spec === spec || !warm) continue;
        this.adopt(existing, spec);
        continue;
      }
      if (!warm) continue;
      const cm = new ConnectionManager((socket) => this.configFor(a, socket), this.deps);
      const port = new ListenerPort(spec.address.host, spec.address.port, cm.handle, this.deps.log, {
        listener: () => a.spec,
        onTcp: (socket, head, config) => proxyTcpConnection(socket, head, config, this.deps),
        onConnect: (req, socket, head) => {
          const { hcm, router } = this.configFor(a, socket);
          serveConnect(req, socket, head, hcm, router, this.deps);
        },
        secrets: this.opts.secrets,
      });
      // A new listener whose port is still held by a listener being unbound waits for it.
      const previous = this.closing.get(`${spec.address.host}:${spec.address.port}`) ?? Promise.resolve();
      const bound = previous.then(() => port.listen()).then(
        () => this.deps.log('info', `listener ${name} bound on ${spec.address.host}:${spec.address.port}`),
        (e: Error) => {
          this.deps.log('error', `listener ${name}: cannot bind ${spec.address.host}:${spec.address.port}: ${e.message}`);
          this.opts.onBindError?.(name, e);
          throw e;
        },
      );
      const a: ActiveListener = { spec, port, bound, http: new WeakMap(), byKey: new Map() };
      this.adopt(a, spec);
      this.active.set(name, a);
    }
  }

  async close(): Promise<void> {
    for (const u of this.unsubscribe) u();
    const closing = [...this.active.values()].map((a) => a.bound.then(() => a.port.close(0), () => undefined));
    this.active.clear();
    await Promise.all(closing);
  }
}

/** `chain` if the listener still has it, else its successor: the chain with the same name and match. */
function currentChain(spec: Listener, chain: FilterChain): FilterChain {
  if (spec.chains.includes(chain) || spec.defaultChain === chain) return chain;
  const key = chainKey(chain);
  return spec.chains.find((c) => chainKey(c) === key) ?? (spec.defaultChain && chainKey(spec.defaultChain) === key ? spec.defaultChain : chain);
}

function chainKey(chain: FilterChain): string {
  return `${chain.name}|${JSON.stringify(chain.match)}|${chain.tls ? 'tls' : 'raw'}`;
}
