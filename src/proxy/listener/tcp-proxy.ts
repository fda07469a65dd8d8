// Envoy's tcp_proxy network filter: one upstream connection per downstream connection, to a host of
// the cluster the filter names (or one of its weighted clusters, picked per connection), bytes copied
// both ways with half-close passed on. The connection closes when both sides are done, when either
// fails, after idle_timeout without bytes either way, or at max_downstream_connection_duration. No
// host, no cluster, or a failed connect (one attempt): the downstream connection is closed.

import * as net from 'node:net';
import type { ClusterManager } from '../cluster/manager.js';
import type { Logger } from '../log.js';
import type { TcpProxyConfig } from '../model/listener.js';
import { pickCluster } from '../route/weighted.js';

export interface TcpProxyDeps {
  clusters: ClusterManager;
  random: () => number;
  log: Logger;
}

/** Ends a socket's writing side once its queued bytes are out, then closes it. */
function closeAfterFlush(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.writableFinished) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end();
}

/**
 * Proxies `downstream` (paused, `head` already read from it) per `config`. The downstream socket must
 * allow half-open connections, so that a client's FIN reaches the upstream while its answer still flows.
 */
export function proxyTcpConnection(downstream: net.Socket, head: Buffer, config: TcpProxyConfig, deps: TcpProxyDeps): void {
  const { name } = pickCluster(config.cluster, deps.random);
  const where = `tcp_proxy ${config.statPrefix}`;
  const cluster = deps.clusters.get(name);
  if (!cluster) {
    deps.log('debug', `${where}: cluster ${name} not found; closing the connection`);
    downstream.destroy();
    return;
  }
  const host = cluster.pick();
  if (!host) {
    deps.log('debug', `${where}: no healthy host in ${name}; closing the connection`);
    downstream.destroy();
    return;
  }
  host.active++;
  host.total++;
  const upstream = net.connect({ host: host.endpoint.host, port: host.endpoint.port, allowHalfOpen: true, noDelay: true });
  const timers: NodeJS.Timeout[] = [];
  let connected = false;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    host.active--;
    for (const t of timers) clearTimeout(t);
  };
  const abort = (why: string): void => {
    deps.log('debug', `${where}: ${why}`);
    upstream.destroy();
    downstream.destroy();
    finish();
  };
  const connectTimeout = cluster.spec.connectTimeoutMs;
  if (connectTimeout > 0) {
    timers.push(setTimeout(() => {
      if (connected) return;
      cluster.recordResult(host, true);
      abort(`connect to ${host.key} timed out after ${connectTimeout} ms`);
    }, connectTimeout));
  }
  upstream.once('connect', () => {
    connected = true;
    cluster.recordResult(host, false);
    if (head.length > 0) upstream.write(head);
    // pipe() passes each side's end (half-close) on to the other.
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    if (config.idleTimeoutMs > 0) {
      const idle = setTimeout(() => abort(`idle for ${config.idleTimeoutMs} ms`), config.idleTimeoutMs);
      timers.push(idle);
      const active = (): void => {
        idle.refresh();
      };
      downstream.on('data', active);
      upstream.on('data', active);
    }
  });
  if (config.maxDurationMs > 0) timers.push(setTimeout(() => abort(`max_downstream_connection_duration ${config.maxDurationMs} ms reached`), config.maxDurationMs));
  upstream.on('error', (e: Error) => {
    if (!connected) cluster.recordResult(host, true);
    abort(`upstream ${host.key}: ${e.message}`);
  });
  downstream.on('error', (e: Error) => abort(`downstream: ${e.message}`));
  // One side fully closed: the other gets what is queued for it, then closes too (Envoy closes both).
  upstream.once('close', () => {
    closeAfterFlush(downstream);
    finish();
  });
  downstream.once('close', () => {
    closeAfterFlush(upstream);
    finish();
  });
}
