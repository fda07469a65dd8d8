// The control plane's HTTP status/debug port (Istio's 15014): what `meshwork proxy-status`,
// `proxy-config` and `analyze` read. JSON everywhere, errors as {error} with a status code.
//   GET /ready                          200 once the own cluster, its config and remote secrets are listed
//   GET /debug/syncz                    xDS status of every connected proxy, and of those that went away lately
//   GET /debug/config_dump?proxyID=ID   Envoy config_dump of what the proxy is (or would be) sent
//   GET /debug/registry                 services and endpoints per member cluster, and watch health
//   GET /debug/analyze                  problems the translator finds in the mesh config
//   GET /debug/config_distribution      how far each recent config change has reached, per proxy (?resource=Kind/ns/name)
//   GET /metrics                        istiod's pilot_* and citadel_* metrics, Prometheus text (metrics.ts)

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { MeshEndpoint, MeshService } from '../registry/model.js';
import type { XdsServer } from '../xds/server.js';
import type { XdsNode } from '../xds/protos.js';
import { parseNodeId } from './identity.js';
import type { ControlPlaneMetrics } from './metrics.js';
import type { SourcesStatus } from './mesh-sources.js';
import { configDump } from './proxy-resources.js';
import type { ProxyPusher } from './pusher.js';
import type { StatusReporterStats } from './status-reporter.js';
import type { ConfigDistributionReport } from './propagation-report.js';
import { parseResource } from './propagation-state.js';

export interface DebugServerOptions {
  host: string;
  port: number;
  pusher: ProxyPusher;
  /** Undefined until the xDS server runs. */
  xds: () => XdsServer | undefined;
  sources: () => SourcesStatus;
  /** What the config status reporter wrote (null: it does not run). */
  configStatus?: () => StatusReporterStats | null;
  /** Served on /metrics (404 without). */
  metrics?: ControlPlaneMetrics;
  /** Served on /debug/config_distribution (404 without). */
  propagation?: { report(resource?: { kind: string; namespace: string; name: string }): ConfigDistributionReport };
  log: (line: string) => void;
}

export interface RunningDebugServer {
  port: number;
  close(): Promise<void>;
}

export async function startDebugServer(opts: DebugServerOptions): Promise<RunningDebugServer> {
  const server: Server = createServer((req, res) => {
    try {
      route(opts, req, res);
    } catch (err) {
      opts.log(`control-plane: debug ${req.method ?? ''} ${req.url ?? ''} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      if (!res.headersSent) send(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.end();
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : opts.port);
    });
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function route(opts: DebugServerOptions, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://debug');
  if (req.method !== 'GET') return send(res, 405, { error: `${req.method ?? ''} not allowed; use GET` });
  switch (url.pathname) {
    case '/ready': {
      const status = opts.sources();
      const xds = opts.xds();
      if (status.ready && xds) return sendText(res, 200, 'ready\n');
      const waiting = [
        ...status.clusters.filter((c) => !c.remote).flatMap((c) => c.watches),
        ...status.config,
        status.secrets,
      ].filter((w) => !w.synced);
      return sendText(res, 503, `not ready: ${xds ? '' : 'xDS server not started; '}waiting for ${waiting.map((w) => w.what + (w.lastError ? ` (${w.lastError})` : '')).join(', ') || 'nothing'}\n`);
    }
    case '/debug/syncz': {
      const rejected = opts.pusher.rejectedSnapshots();
      const proxies = (opts.xds()?.status() ?? []).map((s) => {
        const reason = rejected.get(s.nodeId);
        return { ...s, ...(reason ? { configRejected: reason } : {}) };
      });
      // counters: responses, ACKs, NACKs, stale nonces since the control plane started (tests assert no NACK);
      // pusher: mesh rebuilds and per-proxy pushes (a status write must cause neither).
      // disconnected: proxies whose last stream closed in the last 10 minutes, with when and why;
      // now: the time the ages of `disconnectedAt` and `stale[].since` are measured against.
      return send(res, 200, {
        version: opts.pusher.snapshot().snapshot.version,
        now: new Date(),
        counters: opts.xds()?.counters() ?? null,
        pusher: opts.pusher.stats(),
        proxies,
        disconnected: opts.xds()?.disconnected() ?? [],
      });
    }
    case '/debug/config_dump': {
      const proxyId = url.searchParams.get('proxyID') ?? url.searchParams.get('proxyId');
      if (!proxyId) return send(res, 400, { error: 'missing ?proxyID=<node id or pod.namespace>' });
      const node: XdsNode | undefined = opts.pusher.findNode(proxyId) ?? (parseNodeId(proxyId) ? { id: proxyId } : undefined);
      if (!node) {
        return send(res, 404, { error: `proxy ${proxyId} is not connected; give a connected proxy's id or <pod>.<namespace>, or a full sidecar~/router~ node id` });
      }
      const identity = opts.pusher.identityOf(node);
      const resources = opts.pusher.resourcesFor(identity);
      return send(res, 200, configDump(resources, opts.pusher.snapshot().snapshot.version));
    }
    case '/debug/registry': {
      const { snapshot, notes } = opts.pusher.snapshot();
      const status = opts.sources();
      const clusterIds = [...new Set([...status.clusters.map((c) => c.clusterId), ...snapshot.endpoints.map((e) => e.cluster)])].sort();
      return send(res, 200, {
        version: snapshot.version,
        clusters: clusterIds.map((id) => {
          const watched = status.clusters.find((c) => c.clusterId === id);
          return {
            clusterId: id,
            remote: watched?.remote ?? true,
            ...(watched?.secret ? { secret: watched.secret } : {}),
            synced: watched?.synced ?? false,
            watches: watched?.watches ?? [],
            services: snapshot.services.filter((s: MeshService) => s.clusters.includes(id)),
            endpoints: snapshot.endpoints.filter((e: MeshEndpoint) => e.cluster === id),
          };
        }),
        config: status.config,
        secrets: status.secrets,
        secretProblems: status.secretProblems,
        notes,
      });
    }
    case '/metrics': {
      const metrics = opts.metrics;
      if (!metrics) return send(res, 404, { error: 'this control plane keeps no metrics' });
      metrics.text().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
        (err: unknown) => send(res, 500, { error: `collecting metrics failed: ${err instanceof Error ? err.message : String(err)}` }),
      );
      return;
    }
    case '/debug/config_distribution': {
      const tracker = opts.propagation;
      if (!tracker) return send(res, 404, { error: 'this control plane does not track config propagation' });
      const resource = url.searchParams.get('resource');
      if (resource === null) return send(res, 200, tracker.report());
      let parsed: { kind: string; namespace: string; name: string };
      try {
        parsed = parseResource(resource);
      } catch (err) {
        return send(res, 400, { error: (err as Error).message });
      }
      return send(res, 200, tracker.report(parsed));
    }
    case '/debug/analyze': {
      const { version, problems } = opts.pusher.problems();
      return send(res, 200, { version, problems, ...(opts.configStatus ? { configStatus: opts.configStatus() } : {}) });
    }
    default:
      return send(res, 404, { error: `no such endpoint ${url.pathname}; try /ready, /metrics, /debug/syncz, /debug/config_dump?proxyID=, /debug/registry, /debug/analyze, /debug/config_distribution` });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
