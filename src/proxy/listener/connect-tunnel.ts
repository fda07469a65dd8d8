// HTTP/1.1 CONNECT on a listener whose connection manager allows it (upgrade_configs CONNECT), as
// Envoy's CONNECT termination: the authority (host:port) picks the virtual host, a connect_matcher
// route whose action has upgrade_configs CONNECT + connect_config names the cluster; the proxy opens a
// TCP connection to one of its hosts, answers 200 and from then on copies raw bytes both ways. No
// route: 404; a route that does not terminate CONNECT: 405; no cluster / host / connection: 503.

import type * as http from 'node:http';
import type * as net from 'node:net';
import type { HttpConnectionManager } from '../model/listener.js';
import type { Router } from '../route/router.js';
import { pickCluster } from '../route/weighted.js';
import { CONNECT_FAILURE_BODY, NO_HEALTHY_UPSTREAM } from '../upstream/forward.js';
import { CONNECT_NOT_SUPPORTED } from './connection-manager.js';
import { openTunnel, type TcpProxyDeps } from './tcp-proxy.js';

const REASONS: Record<number, string> = { 200: 'OK', 404: 'Not Found', 405: 'Method Not Allowed', 503: 'Service Unavailable' };

function reply(socket: net.Socket, status: number, body: string): void {
  socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\nserver: meshwork\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export function serveConnect(req: http.IncomingMessage, socket: net.Socket, head: Buffer, hcm: HttpConnectionManager, router: Router | undefined, deps: TcpProxyDeps): void {
  socket.pause();
  if (!hcm.connectEnabled) return reply(socket, 405, CONNECT_NOT_SUPPORTED);
  const authority = req.url ?? '';
  const decision = router?.route({ method: 'CONNECT', authority, path: '', scheme: 'http', header: (name) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  } });
  if (!decision) return reply(socket, 404, '');
  const action = decision.route.action;
  if (action.kind !== 'forward' || !action.connect) return reply(socket, 405, CONNECT_NOT_SUPPORTED);
  openTunnel(socket, head, {
    cluster: pickCluster(action.cluster, deps.random).name,
    label: `CONNECT ${authority}`,
    idleTimeoutMs: action.connect.idleTimeoutMs,
    maxDurationMs: 0,
    halfClose: false,
    onEstablished: (s) => s.write('HTTP/1.1 200 OK\r\nserver: meshwork\r\n\r\n'),
    onFailure: (flag, why) => {
      deps.log('debug', why);
      reply(socket, 503, flag === 'NC' ? '' : flag === 'UH' ? NO_HEALTHY_UPSTREAM : CONNECT_FAILURE_BODY);
    },
  }, deps);
}
