// A control plane (engineer F's ADS server + SnapshotCache) and one proxy, wired on 127.0.0.1 for
// end-to-end tests, plus a keep-alive HTTP/1.1 client that talks to the proxy in proxy form.

import * as http from 'node:http';
import { SnapshotCache } from '../../xds/cache.js';
import { TYPE_URLS } from '../../xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../../xds/server.js';
import type { Clock } from '../../clock.js';
import type { LogLevel } from '../log.js';
import { startProxy, type RunningProxy } from '../main.js';

export const NODE_ID = 'sidecar~127.0.0.1~sleep-1.sample~sample.svc.cluster.local';

export interface Resources {
  listeners: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  clusters: Record<string, unknown>[];
  endpoints: Record<string, unknown>[];
}

function byName(list: Record<string, unknown>[], key = 'name'): Map<string, object> {
  return new Map(list.map((r) => [String(r[key]), r]));
}

export interface Harness {
  cache: SnapshotCache;
  xdsServer: RunningXdsServer;
  proxy: RunningProxy;
  xdsLogs: string[];
  proxyLogs: string[];
  push(resources: Resources): void;
  close(): Promise<void>;
}

export async function startHarness(initial: Resources, opts: { clock?: Clock; random?: () => number } = {}): Promise<Harness> {
  const cache = new SnapshotCache();
  const xdsLogs: string[] = [];
  const proxyLogs: string[] = [];
  const xdsServer = await startXdsServer({ host: '127.0.0.1', port: 0, cache, log: (l) => xdsLogs.push(l) });
  const push = (r: Resources): void =>
    cache.setSnapshot(NODE_ID, {
      resources: {
        [TYPE_URLS.listener]: byName(r.listeners),
        [TYPE_URLS.route]: byName(r.routes),
        [TYPE_URLS.cluster]: byName(r.clusters),
        [TYPE_URLS.endpoint]: byName(r.endpoints, 'cluster_name'),
      },
    });
  push(initial);
  const proxy = await startProxy({
    xdsServer: `127.0.0.1:${xdsServer.port}`,
    nodeId: NODE_ID,
    cluster: 'sample',
    metadata: { CLUSTER_ID: 'cluster-1', NAMESPACE: 'sample' },
    adminAddress: { host: '127.0.0.1', port: 0 },
    accessLog: false,
    clock: opts.clock,
    random: opts.random,
    drainMs: 100,
    log: (level: LogLevel, m: string) => proxyLogs.push(`${level} ${m}`),
    backoff: { initialMs: 50, maxMs: 200, multiplier: 2, jitter: 0 },
  });
  await proxy.waitReady(5000);
  return {
    cache,
    xdsServer,
    proxy,
    xdsLogs,
    proxyLogs,
    push,
    async close() {
      await proxy.stop();
      await xdsServer.close();
    },
  };
}

export interface ProxiedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends `GET http://authority/path` to the proxy as curl does through http_proxy. */
export function proxyGet(
  proxyPort: number,
  url: string,
  opts: { agent?: http.Agent; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<ProxiedResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: proxyPort, method: opts.method ?? 'GET', path: url, headers: { host: u.host, ...opts.headers }, agent: opts.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Runs `count` requests with at most `concurrency` in flight; returns them in order. */
export async function manyRequests<T>(count: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

export async function waitUntil(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
