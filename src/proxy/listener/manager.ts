// Binds and unbinds listener ports as LDS changes, and keeps each listener's router current: the router
// is rebuilt from the watched route table (RDS by name, or the HCM's inline table) when it changes. As
// in Envoy, no listener takes traffic before the initial config is complete (every referenced route
// configuration and cluster load assignment received: Envoy initializes listeners after its clusters),
// and later a listener waits (warms) until its own RDS route configuration and the secrets of its TLS
// chains are here.

import type { ConfigStore } from '../config/store.js';
import type { Logger } from '../log.js';
import type { HttpConnectionManager, Listener } from '../model/listener.js';
import type { RouteTable } from '../model/route.js';
import { Router } from '../route/router.js';
import { ConnectionManager, type ConnectionManagerDeps } from './connection-manager.js';
import { serveConnect } from './connect-tunnel.js';
import { ListenerPort } from './port.js';
import { proxyTcpConnection } from './tcp-proxy.js';
import { listenerTlsContexts } from '../model/tls.js';
import type { SecretResolver } from '../tls/secrets.js';

interface ActiveListener {
  spec: Listener;
  /** The last HTTP connection manager the listener had: HTTP connections opened before a change finish on it. */
  lastHttp: HttpConnectionManager | undefined;
  port: ListenerPort;
  bound: Promise<void>;
  router: Router | undefined;
  routerSource: RouteTable | undefined;
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

  private tableFor(spec: Listener): RouteTable | undefined {
    if (!spec.http) return undefined;
    const src = spec.http.routes;
    return src.kind === 'inline' ? src.table : this.store.get('routes').get(src.routeConfigName)?.value;
  }

  private refreshRouter(a: ActiveListener): void {
    const table = this.tableFor(a.spec);
    if (table === a.routerSource) return;
    a.routerSource = table;
    const http = a.spec.http;
    a.router = table && http && new Router(table, { stripAnyHostPort: http.stripAnyHostPort, stripMatchingHostPort: http.stripMatchingHostPort, listenerPort: a.spec.address.port });
  }

  private syncRouters(): void {
    for (const a of this.active.values()) this.refreshRouter(a);
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
      const warm = (spec.http === undefined || this.tableFor(spec) !== undefined) && listenerTlsContexts(spec).every((t) => this.opts.secrets.ready(t));
      if (!warm && spec.http !== undefined && this.tableFor(spec) !== undefined) {
        this.deps.log('debug', `listener ${name}: warming, waiting for secrets ${listenerTlsContexts(spec).flatMap((t) => this.opts.secrets.missing(t)).join(', ')}`);
      }
      if (warm && existing?.spec !== spec) {
        const unenforced = [...spec.chains, ...(spec.defaultChain ? [spec.defaultChain] : [])].flatMap((c) => c.unenforced ?? []);
        if (unenforced.length > 0) this.deps.log('warn', `listener ${name}: ${unenforced.join(', ')} accepted but not acted on by the meshwork proxy; Envoy applies them`);
      }
      if (existing) {
        if (existing.spec === spec || !warm) continue;
        existing.spec = spec;
        existing.lastHttp = spec.http ?? existing.lastHttp;
        existing.routerSource = undefined;
        this.refreshRouter(existing);
        continue;
      }
      if (!warm) continue;
      // Only HTTP connections reach the connection manager, so there is an HCM whenever it is asked.
      const cm = new ConnectionManager(() => ({ hcm: (a.spec.http ?? a.lastHttp)!, router: a.router }), this.deps);
      const port = new ListenerPort(spec.address.host, spec.address.port, cm.handle, this.deps.log, {
        listener: () => a.spec,
        onTcp: (socket, head, config) => proxyTcpConnection(socket, head, config, this.deps),
        onConnect: (req, socket, head) => serveConnect(req, socket, head, (a.spec.http ?? a.lastHttp)!, a.router, this.deps),
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
      const a: ActiveListener = { spec, lastHttp: spec.http, port, bound, router: undefined, routerSource: undefined };
      this.refreshRouter(a);
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
