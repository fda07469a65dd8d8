// The dashboard's HTTP server: serves the page (the Vite bundle in dist/dashboard-ui), the latest
// DashboardState at GET /api/state, and every new state as Server-Sent Events at GET /api/events.
// One collect loop feeds every page: a state is collected every `refreshMs` whether one page or fifty are
// open, serialised once and written to each event stream. A collect that throws keeps the last good state
// and says so in its `problems`; it never stops the loop or the server.
// The server only reads: anything but GET is refused, static paths cannot leave the bundle directory, and
// a Host header that is not an IP literal or localhost is refused (a DNS-rebinding page cannot read it).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DashboardSource, DashboardState } from './model.js';

export interface DashboardServerOptions {
  /** Address to bind (loopback: `127.0.0.1`); the server listens there only. */
  host: string;
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  /** Polled every `refreshMs` by the one collect loop. The server does not close it: its owner does, after `close()`. */
  source: DashboardSource;
  /** Milliseconds between the end of one collect and the start of the next; default 2000. */
  refreshMs?: number;
  /** Where collect failures and recoveries are logged (one line each, on change, not every round). */
  log?: (line: string) => void;
  /** The built page; default dist/dashboard-ui beside the compiled module. */
  staticDir?: string;
  /** Comment lines on idle event streams so proxies and browsers keep them open; default 15000 ms. */
  heartbeatMs?: number;
}

export interface DashboardServer {
  url: string;
  port: number;
  /** Stops the collect loop (waiting for a collect in flight), ends every event stream, closes the listener. */
  close(): Promise<void>;
}

const DEFAULT_REFRESH_MS = 2000;
const DEFAULT_HEARTBEAT_MS = 15_000;
/** Unsent bytes on one event stream beyond which the page is taken for gone. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** How long close() waits for a collect in flight. */
const STOP_GRACE_MS = 3000;

/** dist/src/dashboard/server.js → dist/dashboard-ui/ (vite.config.ts writes the bundle there). */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../dashboard-ui/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// The page loads only its own bundle and talks only to this server; Cytoscape styles elements through the
// CSSOM, which style-src does not restrict, but Vite's CSS may carry data: URLs for images.
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
};

export async function startDashboardServer(opts: DashboardServerOptions): Promise<DashboardServer> {
  const refreshMs = opts.refreshMs ?? DEFAULT_REFRESH_MS;
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const log = opts.log ?? (() => {});
  const staticDir = resolve(opts.staticDir ?? DEFAULT_STATIC_DIR);
  const feed = new StateFeed(opts.source, refreshMs, log);
  const streams = new Set<ServerResponse>();

  feed.onState = (json) => {
    const frame = `event: state\ndata: ${json}\n\n`;
    for (const res of streams) {
      // A page that stopped reading (a suspended tab, a stuck client) must not make the server buffer
      // every state: drop its stream; EventSource reconnects and gets the current state first.
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        log(`dashboard: dropped an event stream that stopped reading (${res.writableLength} bytes buffered)`);
        streams.delete(res);
        res.destroy();
        continue;
      }
      res.write(frame);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`dashboard: ${req.method} ${req.url}: ${errorMessage(err)}`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      send(res, 405, 'text/plain; charset=utf-8', `${req.method} is not allowed: the dashboard is read-only (GET)\n`);
      return;
    }
    if (!isAllowedHost(req.headers.host)) {
      send(res, 421, 'text/plain; charset=utf-8', 'Host must be an IP address or localhost\n');
      return;
    }
    const pathname = requestPath(req.url);
    if (pathname === undefined) {
      send(res, 400, 'text/plain; charset=utf-8', 'bad request path\n');
      return;
    }
    if (pathname === '/healthz') {
      send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    }
    if (pathname === '/api/state') {
      const json = await feed.firstState();
      send(res, 200, 'application/json; charset=utf-8', json, { 'cache-control': 'no-store' });
      return;
    }
    if (pathname === '/api/events') {
      openStream(req, res);
      return;
    }
    await serveStatic(pathname, res);
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // Reconnect soon after a restart of `meshwork dashboard`; then the current state at once, not a refresh later.
    res.write(`retry: 2000\n\n`);
    const current = feed.latestJson();
    if (current !== undefined) res.write(`event: state\ndata: ${current}\n\n`);
    streams.add(res);
    req.socket.setNoDelay(true);
    req.on('close', () => streams.delete(res));
  }

  async function serveStatic(pathname: string, res: ServerResponse): Promise<void> {
    const relative = pathname === '/' ? 'index.html' : pathname.slice(1);
    const file = resolve(staticDir, relative);
    if (file !== staticDir && !file.startsWith(staticDir + sep)) {
      send(res, 403, 'text/plain; charset=utf-8', 'forbidden\n');
      return;
    }
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      if (relative === 'index.html') {
        // Fail loudly: a server without its page is a build problem, not a 404 to puzzle over.
        send(res, 500, 'text/plain; charset=utf-8', `the dashboard page is not built (${staticDir} has no index.html): run npm run build\n`);
      } else {
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      }
      return;
    }
    const body = await readFile(file);
    const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    // Vite names assets by content hash; index.html must be fetched fresh to name the current ones.
    const cache = relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    send(res, 200, type, body, { 'cache-control': cache });
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(opts.port, opts.host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  feed.start();
  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(`: heartbeat ${new Date().toISOString()}\n\n`);
  }, heartbeatMs);
  heartbeat.unref();

  const port = (server.address() as AddressInfo).port;
  const hostInUrl = isIP(opts.host) === 6 ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostInUrl}:${port}/`,
    port,
    close() {
      closing ??= (async () => {
        clearInterval(heartbeat);
        await feed.stop();
        for (const res of streams) res.end();
        streams.clear();
        await new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeIdleConnections();
        });
      })();
      return closing;
    },
  };
}

/**
 * The one collect loop: collect, publish, wait `refreshMs`, again. Rounds never overlap; a failed round
 * republishes the last good state with the failure added to its problems.
 */
class StateFeed {
  onState: (json: string) => void = () => {};
  private latest: string | undefined;
  private lastGood: DashboardState | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private readonly waiting: Array<(json: string) => void> = [];

  constructor(
    private readonly source: DashboardSource,
    private readonly refreshMs: number,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.round();
  }

  latestJson(): string | undefined {
    return this.latest;
  }

  /** The latest state, or the first one once the first round ends (a page opened at start-up waits for it). */
  firstState(): Promise<string> {
    if (this.latest !== undefined) return Promise.resolve(this.latest);
    return new Promise((resolveState) => this.waiting.push(resolveState));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // Let a collect in flight end (its owner closes the source after us), but not forever: a hung read of a
    // cluster must not keep Ctrl-C from stopping the command.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([this.inFlight, new Promise<void>((resolveGrace) => (grace = setTimeout(resolveGrace, STOP_GRACE_MS)))]);
    clearTimeout(grace);
    // Requests still waiting for a first state get an answer, so that closing the server does not wait on them.
    const last = JSON.stringify(emptyState('the dashboard stopped before its first collect ended', this.refreshMs));
    for (const resolveState of this.waiting.splice(0)) resolveState(this.latest ?? last);
  }

  private round(): void {
    this.inFlight = this.collectOnce().finally(() => {
      this.inFlight = undefined;
      if (!this.stopped) this.timer = setTimeout(() => this.round(), this.refreshMs);
    });
  }

  private async collectOnce(): Promise<void> {
    let state: DashboardState;
    try {
      state = await this.source.collect();
      this.lastGood = state;
      if (this.lastError !== undefined) this.log('dashboard: collect recovered');
      this.lastError = undefined;
    } catch (err) {
      const message = errorMessage(err);
      if (message !== this.lastError) this.log(`dashboard: collect failed (showing the last state): ${message}`);
      this.lastError = message;
      const problem = `collect failed at ${new Date().toISOString()}: ${message}`;
      state = this.lastGood
        ? { ...this.lastGood, problems: [...this.lastGood.problems, problem] }
        : emptyState(problem, this.refreshMs);
    }
    if (this.stopped) return;
    this.latest = JSON.stringify(state);
    for (const resolveState of this.waiting.splice(0)) resolveState(this.latest);
    this.onState(this.latest);
  }
}

function emptyState(problem: string, refreshMs: number): DashboardState {
  return {
    collectedAt: new Date().toISOString(),
    windowSeconds: Math.round(refreshMs / 1000),
    clusters: [],
    topology: { nodes: [], edges: [] },
    splits: [],
    propagation: [],
    canaries: [],
    problems: [problem],
  };
}

/** The decoded path, or undefined for one that cannot be a file name (NUL, backslash, bad escapes). */
function requestPath(rawUrl: string | undefined): string | undefined {
  if (!rawUrl?.startsWith('/')) return undefined;
  const raw = rawUrl.split('?', 1)[0]!;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  return decoded;
}

function isAllowedHost(header: string | undefined): boolean {
  if (header === undefined) return false;
  const host = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d+$/, '');
  return host === 'localhost' || isIP(host) !== 0;
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
