// The multi-cluster edge: what Google's global load balancer is for a MultiClusterIngress. One L7 HTTP
// reverse proxy on one VIP, in front of the ingress gateway pods of every member cluster. It probes each
// gateway with the BackendConfig's health check (GCLB thresholds, on an injected clock) and round-robins
// requests over the healthy ones only, on keep-alive pools. Every response names the gateway that served
// it (`x-meshwork-edge-backend`), and an admin port serves per-gateway counters at GET /stats.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Clock, TimerHandle } from '../clock.js';
import { systemClock } from '../clock.js';
import { Cancel } from '../proxy/upstream/cancel.js';
import { Http1SocketPool } from '../proxy/upstream/http1-socket-pool.js';
import { INITIAL_HEALTH, nextHealth, type HealthCheckSpec, type HealthState, type ProbeOutcome } from './health.js';

export const BACKEND_HEADER = 'x-meshwork-edge-backend';

export interface EdgeBackend {
  /** Where the gateway runs, for the counters: cluster and pod. */
  cluster: string;
  pod: string;
  ip: string;
  /** The serving port on the pod (the target port of the MultiClusterIngress's backend servicePort). */
  port: number;
  /** The pod's zone, from its EndpointSlice (the Envoy edge groups gateways by locality). */
  zone?: string;
}

export interface EdgeConfig {
  backends: readonly EdgeBackend[];
  healthCheck: HealthCheckSpec;
  /** Certificates HTTPS presents (SNI picks by DNS name, else the first); absent or empty: HTTPS refuses handshakes. */
  tls?: readonly EdgeTlsCertificate[];
}

export interface EdgeTlsCertificate {
  certificateChainPem: string;
  privateKeyPem: string;
}

export type Prober = (backend: EdgeBackend, spec: HealthCheckSpec) => Promise<ProbeOutcome>;

export interface BackendStats {
  id: string;
  cluster: string;
  pod: string;
  address: string;
  healthy: boolean;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  lastFailure?: string;
  requests: number;
  errors: number;
}

export interface EdgeStats {
  name: string;
  address: string;
  backends: BackendStats[];
  /** Requests answered 503 because no gateway was healthy. */
  noHealthyBackend: number;
  /** Requests retried on another gateway after a connection failure. */
  retries: number;
}

export interface EdgeProxyOptions {
  /** For logs and stats, e.g. `istio-gateway/istio-ingressgateway`. */
  name: string;
  host: string;
  /** The port clients use (80); see `fallbackPort`. */
  port: number;
  /** Used when `port` is privileged and this user may not bind it (EACCES); the address then shows it. */
  fallbackPort?: number;
  /** Admin port on the same host (0: any free port). */
  adminPort: number;
  /** HTTPS (443 for an MCI); absent: no HTTPS. A port that cannot be bound leaves HTTP serving and is logged. */
  tlsPort?: number;
  clock?: Clock;
  prober?: Prober;
  log?: (line: string) => void;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

interface BackendEntry {
  backend: EdgeBackend;
  id: string;
  pool: Http1SocketPool;
  health: HealthState;
  requests: number;
  errors: number;
  /** Each gateway is probed on its own schedule, as GCLB does: at once when added, then every checkIntervalSec. */
  timer?: TimerHandle;
  probing: boolean;
  removed: boolean;
}

export function backendId(b: EdgeBackend): string {
  return `${b.cluster}/${b.pod}`;
}

export class EdgeProxy {
  private readonly clock: Clock;
  private readonly prober: Prober;
  private readonly log: (line: string) => void;
  private entries = new Map<string, BackendEntry>();
  private spec: HealthCheckSpec | undefined;
  private cursor = 0;
  private noHealthyBackend = 0;
  private retries = 0;
  private server: Server | undefined;
  private tlsServer: HttpsServer | undefined;
  /** The HTTPS port bound, when there is one. */
  tlsBoundPort: number | undefined;
  /** The certificates by DNS name (the first certificate's context is the default for clients without SNI). */
  private contexts: { byName: Map<string, SecureContext>; first: SecureContext | undefined } = { byName: new Map(), first: undefined };
  private admin: Server | undefined;
  private boundPort = 0;
  private adminBoundPort = 0;
  private stopped = false;

  constructor(private readonly opts: EdgeProxyOptions) {
    this.clock = opts.clock ?? systemClock;
    this.prober = opts.prober ?? httpProbe;
    this.log = opts.log ?? ((line) => process.stderr.write(line + '\n'));
  }

  /** What clients put in the URL: the host alone on port 80, host:port otherwise. */
  get address(): string {
    return this.boundPort === 80 ? this.opts.host : `${this.opts.host}:${this.boundPort}`;
  }

  get adminAddress(): string {
    return `${this.opts.host}:${this.adminBoundPort}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    // A gateway's keep-alive answers arrive in small writes; Nagle would hold them (40 ms per request).
    server.on('connection', (socket) => socket.setNoDelay(true));
    this.boundPort = await listenWithFallback(server, this.opts.host, this.opts.port, this.opts.fallbackPort, this.log);
    this.server = server;
    if (this.opts.tlsPort !== undefined) await this.startTls(this.opts.tlsPort);
    const admin = createServer((req, res) => this.handleAdmin(req, res));
    this.adminBoundPort = await listenWithFallback(admin, this.opts.host, this.opts.adminPort, undefined, this.log);
    this.admin = admin;
  }

  /** HTTPS with the same handling as HTTP; the certificate is chosen per handshake from the current config. */
  private async startTls(port: number): Promise<void> {
    const server = createHttpsServer({
      SNICallback: (name, done) => {
        const context = this.contexts.byName.get(name.toLowerCase()) ?? this.contexts.byName.get(`*.${name.toLowerCase().split('.').slice(1).join('.')}`) ?? this.contexts.first;
        if (context) done(null, context);
        else done(new Error('no certificate configured'));
      },
    }, (req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    server.on('secureConnection', (socket) => socket.setNoDelay(true));
    try {
      this.tlsBoundPort = await listen(server, this.opts.host, port);
      this.tlsServer = server;
    } catch (err) {
      this.log(`edge ${this.opts.name}: no HTTPS: cannot listen on ${this.opts.host}:${port}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private setCertificates(certificates: readonly EdgeTlsCertificate[]): void {
    const byName = new Map<string, SecureContext>();
    const contexts = certificates.map((c) => {
      const context = createSecureContext({ cert: c.certificateChainPem, key: c.privateKeyPem });
      const sans = new X509Certificate(c.certificateChainPem).subjectAltName ?? '';
      for (const san of sans.split(', ')) if (san.startsWith('DNS:') && !byName.has(san.slice(4).toLowerCase())) byName.set(san.slice(4).toLowerCase(), context);
      return context;
    });
    this.contexts = { byName, first: contexts[0] };
    // Clients without SNI get the first certificate, as GCLB answers them.
    const first = certificates[0];
    if (first && this.tlsServer) this.tlsServer.setSecureContext({ cert: first.certificateChainPem, key: first.privateKeyPem });
  }

  /** Replaces the gateway set and health check; gateways that stay keep their health and counters. */
  update(config: EdgeConfig): void {
    this.setCertificates(config.tls ?? []);
    const specChanged = JSON.stringify(config.healthCheck) !== JSON.stringify(this.spec);
    this.spec = config.healthCheck;
    const next = new Map<string, BackendEntry>();
    for (const backend of config.backends) {
      const id = backendId(backend);
      const old = this.entries.get(id);
      if (old && old.backend.ip === backend.ip && old.backend.port === backend.port) {
        // The same object: in-flight requests and probes hold it and must update what stats() shows.
        old.backend = backend;
        next.set(id, old);
        continue;
      }
      next.set(id, {
        backend,
        id,
        pool: new Http1SocketPool(`http://${backend.ip}:${backend.port}`, 2_000, {
          maxConnections: 256,
          idleTimeoutMs: 60_000,
          clock: this.clock,
          log: (level, message) => this.log(`edge ${this.opts.name}: ${level}: ${message}`),
        }),
        health: INITIAL_HEALTH,
        requests: 0,
        errors: 0,
        probing: false,
        removed: false,
      });
      this.log(`edge ${this.opts.name}: gateway ${id} (${backend.ip}:${backend.port}) added, unhealthy until ${config.healthCheck.healthyThreshold} checks pass`);
    }
    for (const [id, old] of this.entries) {
      // A gateway that moved (same pod name, new address) is replaced: the old entry goes too.
      if (next.get(id) === old) continue;
      this.log(`edge ${this.opts.name}: gateway ${id} removed`);
      old.removed = true;
      old.timer?.cancel();
      old.pool.close().catch((err: unknown) => this.log(`edge ${this.opts.name}: closing the pool of ${id}: ${String(err)}`));
    }
    this.entries = next;
    // New gateways, and all of them under a new health check, are probed at once, then every checkIntervalSec.
    for (const entry of next.values()) if (specChanged || !entry.timer) this.scheduleProbe(entry, 0);
  }

  /** Probes every gateway once now (tests call it instead of advancing a clock). */
  async checkAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((entry) => this.probe(entry)));
  }

  stats(): EdgeStats {
    return {
      name: this.opts.name,
      address: this.address,
      backends: [...this.entries.values()].map((e) => ({
        id: e.id,
        cluster: e.backend.cluster,
        pod: e.backend.pod,
        address: `${e.backend.ip}:${e.backend.port}`,
        healthy: e.health.healthy,
        consecutiveSuccesses: e.health.consecutiveSuccesses,
        consecutiveFailures: e.health.consecutiveFailures,
        lastFailure: e.health.lastFailure,
        requests: e.requests,
        errors: e.errors,
      })),
      noHealthyBackend: this.noHealthyBackend,
      retries: this.retries,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) entry.timer?.cancel();
    await Promise.all([closeServer(this.server), closeServer(this.tlsServer), closeServer(this.admin), ...[...this.entries.values()].map((e) => e.pool.destroy())]);
  }

  private scheduleProbe(entry: BackendEntry, delayMs: number): void {
    entry.timer?.cancel();
    entry.timer = this.clock.setTimer(() => void this.probe(entry), delayMs);
  }

  private async probe(entry: BackendEntry): Promise<void> {
    const spec = this.spec;
    // A probe in flight reschedules itself; a second one at the same time would count twice.
    if (!spec || entry.probing || entry.removed || this.stopped) return;
    entry.probing = true;
    const outcome = await this.prober(entry.backend, spec).catch((err: unknown): ProbeOutcome => ({ ok: false, reason: String(err) }));
    entry.probing = false;
    if (entry.removed || this.stopped) return;
    const before = entry.health.healthy;
    entry.health = nextHealth(entry.health, outcome, spec);
    if (before !== entry.health.healthy) {
      this.log(`edge ${this.opts.name}: gateway ${entry.id} is now ${entry.health.healthy ? 'healthy' : `unhealthy (${entry.health.lastFailure ?? ''})`}`);
    }
    this.scheduleProbe(entry, (this.spec?.checkIntervalSec ?? spec.checkIntervalSec) * 1000);
  }

  private pick(exclude: ReadonlySet<string>): BackendEntry | undefined {
    const healthy = [...this.entries.values()].filter((e) => e.health.healthy && !exclude.has(e.id));
    if (healthy.length === 0) return undefined;
    this.cursor = (this.cursor + 1) % Number.MAX_SAFE_INTEGER;
    return healthy[this.cursor % healthy.length];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    const clientIp = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${String(headers['x-forwarded-for'])}, ${clientIp}` : clientIp;
    headers['x-forwarded-proto'] = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
    // A client's own x-forwarded-client-cert or x-envoy-internal would be believed by the mesh behind
    // the edge: drop them, as the Envoy edge does (forward_client_cert_details SANITIZE, no internal peers).
    delete headers['x-forwarded-client-cert'];
    delete headers['x-envoy-internal'];
    // A request without a body can be replayed on another gateway when the first refuses the connection.
    const replayable = (req.method === 'GET' || req.method === 'HEAD') && !req.headers['content-length'] && !req.headers['transfer-encoding'];
    const tried = new Set<string>();
    // The client leaving cancels the exchange with the gateway (and its connection).
    const cancel = new Cancel();
    res.once('close', () => {
      if (!res.writableFinished) cancel.abort();
    });
    for (;;) {
      const entry = this.pick(tried);
      if (!entry) {
        this.noHealthyBackend++;
        res.writeHead(tried.size > 0 ? 502 : 503, { 'content-type': 'text/plain' });
        res.end(tried.size > 0 ? 'edge: no gateway could be reached\n' : 'edge: no healthy gateway\n');
        return;
      }
      tried.add(entry.id);
      try {
        const upstream = await entry.pool.request({
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          authority: req.headers.host ?? `${entry.backend.ip}:${entry.backend.port}`,
          headers,
          body: replayable ? null : req,
          signal: cancel,
        });
        entry.requests++;
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(upstream.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        out[BACKEND_HEADER] = entry.id;
        res.writeHead(upstream.status, out);
        upstream.body.on('error', (err) => {
          entry.errors++;
          this.log(`edge ${this.opts.name}: response body from ${entry.id} failed: ${err.message}`);
          res.destroy(err);
        });
        upstream.body.pipe(res);
        return;
      } catch (err) {
        entry.errors++;
        const message = err instanceof Error ? err.message : String(err);
        if (replayable && !res.headersSent) {
          this.retries++;
          this.log(`edge ${this.opts.name}: ${entry.id} failed (${message}); retrying on another gateway`);
          continue;
        }
        this.log(`edge ${this.opts.name}: ${entry.id} failed: ${message}`);
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain', [BACKEND_HEADER]: entry.id });
          res.end(`edge: gateway ${entry.id} failed: ${message}\n`);
        } else res.destroy();
        return;
      }
    }
  }

  private handleAdmin(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET' && (req.url === '/stats' || req.url === '/stats?format=json')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.stats(), null, 2) + '\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: the edge admin port serves GET /stats\n');
  }
}

/** The health check as GCLB sends it: HTTP GET requestPath on the backend's IP and the check's port; 200 passes. */
export const httpProbe: Prober = (backend, spec) =>
  new Promise((resolve) => {
    const req = httpRequest({ host: backend.ip, port: spec.port, path: spec.requestPath, method: 'GET', timeout: spec.timeoutSec * 1000, agent: false, headers: { 'user-agent': 'meshwork-edge-health-check' } }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? { ok: true } : { ok: false, reason: `HTTP ${res.statusCode ?? '?'}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${spec.timeoutSec}s`)));
    req.on('error', (err) => resolve({ ok: false, reason: err.message }));
    req.end();
  });

async function listenWithFallback(server: Server, host: string, port: number, fallbackPort: number | undefined, log: (line: string) => void): Promise<number> {
  try {
    return await listen(server, host, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' || fallbackPort === undefined) throw new Error(`cannot listen on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`);
    const bound = await listen(server, host, fallbackPort);
    log(`edge: port ${port} is privileged and this user may not bind it; serving ${host}:${port} on ${host}:${bound} instead`);
    return bound;
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
