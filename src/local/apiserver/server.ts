// The local cluster's Kubernetes API server: HTTPS, bearer tokens (the admin's, service accounts')
// authorized by RBAC (authorize.ts), discovery, OpenAPI v3, CRUD,
// watch, tables, pods/log and pods/exec, over an ObjectStore. Real kubectl and client-node talk to it
// as to any apiserver.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { StatusError } from '../../k8s/status.js';
import { auditLine } from './audit.js';
import { createAuthenticator, impersonatedUser, unauthorized } from './auth.js';
import { requestAttributes, requireAllowed } from './authorize.js';
import { storeLookup } from '../serviceaccount/lookup.js';
import type { UserInfo } from '../../k8s/rbac/user.js';
import { isPortForwardPath, serveSpdyUpgrade, serveTunnel } from './portforward-upgrade.js';
import { PORTFORWARD_TUNNEL_PROTOCOL, portForwardTarget } from './portforward.js';
import { chooseExecProtocol, execParams, rejectUpgrade, runExec, spdyNotSupported } from './exec.js';
import { notFoundPath, sendStatusError, toStatusError } from './http.js';
import { ensureSystemNamespaces } from './namespaces.js';
import { ensureBootstrapPolicy } from '../rbac/bootstrap-policy.js';
import { storeWritingAs } from './tracked-store.js';
import { buildOpenApiDocuments } from './openapi.js';
import type { ApiContext, ApiServerOptions } from './options.js';
import type { RouterDeps } from './router.js';
import { route } from './router.js';
import { parseRoute } from './routes.js';
import type { WatchSettings } from './watch.js';
import { ActiveWatches, DEFAULT_WATCH_SETTINGS } from './watch.js';

export type { AdmissionHook, AdmissionRequest, ApiServerOptions } from './options.js';

export interface RunningApiServer {
  /** https://HOST:PORT */
  url: string;
  port: number;
  /** Ends watches, exec sessions and connections, then stops listening. */
  close(): Promise<void>;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startApiServer(opts: ApiServerOptions & { watch?: Partial<WatchSettings> }): Promise<RunningApiServer> {
  const log = opts.log ?? (() => {});
  const ctx: ApiContext = { opts, store: opts.store, now: Date.now, log };
  ensureSystemNamespaces(ctx);
  ensureBootstrapPolicy(storeWritingAs(opts.store, 'kube-apiserver', ctx.now));
  const lookup = storeLookup(opts.store);
  const authenticate = createAuthenticator({ adminToken: opts.token, ...(opts.serviceAccounts ? { serviceAccounts: opts.serviceAccounts } : {}), lookup });
  /** Who the request acts as, allowed to do what it asks; throws 401 or 403. */
  const admit = (req: IncomingMessage, url: URL, upgrade: boolean): UserInfo => {
    const authenticated = authenticate(req.headers);
    if (!authenticated) throw unauthorized();
    const user = impersonatedUser(authenticated, req.headers, (actor, attrs) => requireAllowed(opts.store, actor, attrs));
    requireAllowed(opts.store, user, requestAttributes(req.method ?? 'GET', url, upgrade));
    return user;
  };
  const watches = new ActiveWatches();
  let port = opts.port;
  const deps: RouterDeps = {
    ctx,
    openapi: buildOpenApiDocuments(),
    watches,
    watchSettings: { ...DEFAULT_WATCH_SETTINGS, ...opts.watch },
    serverAddress: () => `${formatHost(opts.host)}:${port}`,
    authenticate,
    lookup,
  };

  const audit = (req: IncomingMessage, code: number, started: number): void => {
    log(auditLine(opts.clusterName, { method: req.method ?? '', url: req.url ?? '', code, durationMs: performance.now() - started, headers: req.headers }));
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    res.once('close', () => audit(req, res.statusCode, started));
    let user: UserInfo;
    try {
      user = admit(req, new URL(req.url ?? '/', 'https://apiserver.invalid'), false);
    } catch (err) {
      sendStatusError(res, toStatusError(err));
      return;
    }
    route(deps, req, res, user).catch((err: unknown) => {
      const status = toStatusError(err);
      if (!(err instanceof StatusError)) log(`${opts.clusterName} ${req.method} ${req.url}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (!res.headersSent) sendStatusError(res, status);
      else res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  };

  // The subprotocol depends on the subresource: channels for exec, the SPDY tunnel for port-forward.
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered, req) => (isPortForwardPath(req.url) ? (offered.has(PORTFORWARD_TUNNEL_PROTOCOL) ? PORTFORWARD_TUNNEL_PROTOCOL : false) : chooseExecProtocol(offered)),
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const started = performance.now();
    socket.on('error', (err) => log(`${opts.clusterName} upgrade ${req.url}: socket error: ${err.message}`));
    const fail = (err: StatusError): void => {
      rejectUpgrade(socket, err);
      audit(req, err.code, started);
    };
    try {
      const url = new URL(req.url ?? '/', 'https://apiserver.invalid');
      admit(req, url, true);
      const r = parseRoute(url.pathname);
      if (r.kind !== 'resource' || (r.subresource !== 'exec' && r.subresource !== 'portforward')) return fail(notFoundPath());
      const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
      if (r.subresource === 'portforward') {
        const target = portForwardTarget(ctx, r);
        const done = (): void => audit(req, 101, started);
        if (upgrade === 'websocket') {
          const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
          if (!offered.includes(PORTFORWARD_TUNNEL_PROTOCOL)) {
            return fail(new StatusError(400, 'BadRequest', `pods/portforward over WebSocket needs the subprotocol ${PORTFORWARD_TUNNEL_PROTOCOL} (kubectl 1.31 or newer)`));
          }
          wss.handleUpgrade(req, socket, head, (ws) => serveTunnel(ws, target, log, done));
          return;
        }
        if (upgrade === 'spdy/3.1') return serveSpdyUpgrade(req, socket, head, target, log, done);
        return fail(new StatusError(400, 'BadRequest', `unsupported upgrade protocol "${upgrade}" for pods/portforward: use websocket (${PORTFORWARD_TUNNEL_PROTOCOL}) or SPDY/3.1`));
      }
      if (upgrade.startsWith('spdy')) return fail(spdyNotSupported());
      if (upgrade !== 'websocket') return fail(new StatusError(400, 'BadRequest', `unsupported upgrade protocol "${upgrade}": use websocket`));
      const params = execParams(ctx, r, url.searchParams);
      const offered = new Set(String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
      if (!chooseExecProtocol(offered)) {
        return fail(new StatusError(400, 'BadRequest', `no supported WebSocket subprotocol offered: this server speaks ${['v5.channel.k8s.io', 'v4.channel.k8s.io'].join(', ')}`));
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        runExec(ctx, ws, params)
          .then(() => audit(req, 101, started))
          .catch((err: unknown) => log(`${opts.clusterName} exec ${req.url}: ${err instanceof Error ? err.message : String(err)}`));
      });
    } catch (err) {
      fail(toStatusError(err));
    }
  };

  const server = createServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, onRequest);
  server.on('upgrade', onUpgrade);
  server.on('clientError', (err, socket) => {
    log(`${opts.clusterName} client error: ${err.message}`);
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `https://${formatHost(opts.host)}:${port}`,
    port,
    async close() {
      watches.endAll();
      for (const ws of wss.clients) ws.terminate();
      const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      server.closeAllConnections();
      await closed;
      wss.close();
    },
  };
}
