// Envoy's tcp_proxy network filter, and the tunnel behind a terminated CONNECT: one upstream
// connection per downstream connection (or CONNECT request), to a host of the cluster (a weighted
// cluster is picked per connection), bytes copied both ways with half-close passed on. It closes when
// both sides are done, when either fails, after the idle timeout without bytes either way, or at the
// maximum duration. No cluster, no host, or a failed connect (one attempt) fails the tunnel before a
// byte is passed on: a tcp_proxy then closes the downstream connection, CONNECT answers 503.

import * as net from 'node:net';
import type { ClusterManager } from '../cluster/manager.js';
import type { Logger } from '../log.js';
import type { TcpProxyConfig } from '../model/listener.js';
import { pickCluster } from '../route/weighted.js';
import type { ProxyStats } from '../admin/stats.js';
import { checkRbac, peerNames, serverNameOf } from '../filters/rbac.js';
import { inspectClientHello } from './tls-inspector.js';

export interface TcpProxyDeps {
  clusters: ClusterManager;
  random: () => number;
  log: Logger;
  /** Where network RBAC decisions are counted (absent: not counted). */
  stats?: ProxyStats;
}

export interface TunnelOptions {
  cluster: string;
  /** For log lines: the tcp_proxy's stat prefix, or the CONNECT authority. */
  label: string;
  /** 0: none. */
  idleTimeoutMs: number;
  /** 0: none. */
  maxDurationMs: number;
  /**
   * Whether the client's FIN is passed on (tcp_proxy). A CONNECT tunnel over HTTP/1.1 ends with the
   * client's FIN instead, as in Envoy (an HTTP/1.1 connection has no half-close).
   */
  halfClose: boolean;
  /** The upstream connection is up: the last moment to write to the downstream before the bytes flow. */
  onEstablished?: (downstream: net.Socket) => void;
  /** Checks the client's first bytes (empty: it ended first) before any reach the upstream; false closes both sides. */
  admit?: (first: Buffer) => boolean;
  /** The tunnel failed before it was established; `flag` is Envoy's response flag (NC, UH, UF). The downstream is still open. */
  onFailure: (flag: 'NC' | 'UH' | 'UF', why: string) => void;
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
 * With `opts.admit`: once the upstream is connected (Envoy's tcp_proxy reads nothing from the client
 * before), the client's first bytes (or its FIN) are checked before any reach the upstream; denied,
 * both sides close; admitted, they are written and the rest is piped. What the upstream says first
 * reaches the client either way.
 */
function admissionGate(downstream: net.Socket, upstream: net.Socket, head: Buffer, opts: TunnelOptions, abort: (why: string) => void): { connected(): void } {
  const admit = opts.admit;
  return {
    connected: () => {
      if (!admit) return;
      // Bytes a listener filter already read (a ClientHello) are the first bytes.
      if (head.length > 0) {
        if (!admit(head)) return abort('denied by RBAC');
        upstream.write(head);
        downstream.pipe(upstream, { end: opts.halfClose });
        return;
      }
      const onData = (chunk: Buffer): void => {
        downstream.off('end', onEnd);
        downstream.pause();
        if (!admit(chunk)) return abort('denied by RBAC');
        upstream.write(chunk);
        downstream.pipe(upstream, { end: opts.halfClose });
      };
      const onEnd = (): void => {
        downstream.off('data', onData);
        if (!admit(Buffer.alloc(0))) return abort('denied by RBAC');
        if (opts.halfClose) upstream.end();
      };
      downstream.once('data', onData);
      downstream.once('end', onEnd);
      downstream.resume();
    },
  };
}

/**
 * Tunnels `downstream` (paused, `head` already read from it) to a host of `opts.cluster`. The
 * downstream socket must allow half-open connections, so that a client's FIN reaches the upstream
 * while its answer still flows.
 */
export function openTunnel(downstream: net.Socket, head: Buffer, opts: TunnelOptions, deps: TcpProxyDeps): void {
  const where = `${opts.label} -> ${opts.cluster}`;
  const cluster = deps.clusters.get(opts.cluster);
  if (!cluster) return opts.onFailure('NC', `${where}: cluster not found`);
  const host = cluster.pick();
  if (!host) return opts.onFailure('UH', `${where}: no healthy host`);
  host.active++;
  host.total++;
  // Over the endpoint's transport: mesh mTLS for a sidecar's tlsMode endpoints, as Envoy's tcp_proxy.
  const { socket: upstream, secure } = cluster.openConnection(host, { allowHalfOpen: true });
  const timers: NodeJS.Timeout[] = [];
  let connected = false;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    host.active--;
    for (const t of timers) clearTimeout(t);
  };
  const failConnect = (why: string): void => {
    if (finished) return;
    cluster.recordResult(host, { local: 'connect-failure' });
    upstream.destroy();
    finish();
    opts.onFailure('UF', `${where}: ${why}`);
  };
  const abort = (why: string): void => {
    deps.log('debug', `${where}: ${why}`);
    upstream.destroy();
    downstream.destroy();
    finish();
  };
  const gate = admissionGate(downstream, upstream, head, opts, abort);
  const connectTimeout = cluster.spec.connectTimeoutMs;
  if (connectTimeout > 0) timers.push(setTimeout(() => connected || failConnect(`connect to ${host.key} timed out after ${connectTimeout} ms`), connectTimeout));
  upstream.once(secure ? 'secureConnect' : 'connect', () => {
    connected = true;
    // Envoy maps a local-origin connect success to a 200 when errors are not split.
    cluster.recordResult(host, { status: 200 });
    opts.onEstablished?.(downstream);
    if (head.length > 0 && !opts.admit) upstream.write(head);
    // pipe() passes each side's end (half-close) on to the other.
    upstream.pipe(downstream);
    if (!opts.admit) downstream.pipe(upstream, { end: opts.halfClose });
    else gate.connected();
    if (!opts.halfClose) downstream.once('end', () => abort('the client ended the tunnel'));
    if (opts.idleTimeoutMs > 0) {
      const idle = setTimeout(() => abort(`idle for ${opts.idleTimeoutMs} ms`), opts.idleTimeoutMs);
      timers.push(idle);
      const active = (): void => {
        idle.refresh();
      };
      downstream.on('data', active);
      upstream.on('data', active);
    }
    if (opts.maxDurationMs > 0) timers.push(setTimeout(() => abort(`maximum duration ${opts.maxDurationMs} ms reached`), opts.maxDurationMs));
    // One side fully closed: the other gets what is queued for it, then closes too (Envoy closes both).
    upstream.once('close', () => {
      closeAfterFlush(downstream);
      finish();
    });
    downstream.once('close', () => {
      closeAfterFlush(upstream);
      finish();
    });
  });
  upstream.on('error', (e: Error) => (connected ? abort(`upstream ${host.key}: ${e.message}`) : failConnect(`connect to ${host.key}: ${e.message}`)));
  downstream.on('error', (e: Error) => abort(`downstream: ${e.message}`));
  downstream.once('close', () => connected || abort('downstream closed before the upstream connection was up'));
}

/** A connection whose filter chain ends in a tcp_proxy: tunnelled, or closed when the tunnel fails. */
export function proxyTcpConnection(downstream: net.Socket, head: Buffer, config: TcpProxyConfig, deps: TcpProxyDeps): void {
  if (config.networkRbac.length === 0) return tunnel(downstream, head, config, deps, undefined);
  // Envoy's network RBAC decides on the connection's first bytes (ONE_TIME_ON_FIRST_BYTE), which the
  // tcp_proxy reads only once its upstream is connected (a server that speaks first is heard).
  // The server name is the tls_inspector's (bytes it read come as `head`), else none, as in Envoy.
  const hello = head.length > 0 ? inspectClientHello(head) : undefined;
  const admit = (): boolean => {
    const allowed = checkRbac(config.networkRbac, {
      peer: downstream.remoteAddress ?? '',
      remote: downstream.remoteAddress ?? '',
      localAddress: downstream.localAddress ?? '',
      localPort: downstream.localPort ?? 0,
      serverName: serverNameOf(downstream) || (hello?.kind === 'tls' ? hello.serverName ?? '' : ''),
      peerCertificate: peerNames(downstream),
    }, (filter, ok) => deps.stats?.rbac(undefined, filter.statPrefix, ok));
    if (!allowed) deps.log('debug', `tcp_proxy ${config.statPrefix}: connection from ${downstream.remoteAddress ?? '?'} denied by RBAC; closing`);
    return allowed;
  };
  tunnel(downstream, head, config, deps, admit);
}

function tunnel(downstream: net.Socket, head: Buffer, config: TcpProxyConfig, deps: TcpProxyDeps, admit: TunnelOptions['admit']): void {
  openTunnel(downstream, head, {
    ...(admit ? { admit } : {}),
    cluster: pickCluster(config.cluster, deps.random).name,
    label: `tcp_proxy ${config.statPrefix}`,
    idleTimeoutMs: config.idleTimeoutMs,
    maxDurationMs: config.maxDurationMs,
    halfClose: true,
    onFailure: (_flag, why) => {
      deps.log('debug', `${why}; closing the connection`);
      downstream.destroy();
    },
  }, deps);
}
