// One L4 case request: a TCP connection (or a TLS one, with the request's SNI, through a listener that
// passes the handshake on) that sends the body and reads what comes back. The observation: status 200
// and the upstream's name when an upstream greeted, status 0 when the proxy closed the connection
// without one; the body is what the client read, plus how the connection ended:
//   `|closed` the proxy closed it while the client held it open for `holdMs` (an idle timeout),
//   `|open` still open when the client gave up holding it.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { CaseRequest, Observation } from './case.js';

const GREETING = /^upstream=(\S+)/;

export function sendL4(address: { host: string; port: number }, req: CaseRequest): Promise<Observation> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket: net.Socket =
      req.protocol === 'tls'
        ? tls.connect({ host: address.host, port: address.port, servername: req.sni, rejectUnauthorized: false })
        : net.connect({ host: address.host, port: address.port });
    let text = '';
    let lastDataAt = started;
    let done = false;
    let holdTimer: NodeJS.Timeout | undefined;
    const payload = req.body ?? 'ping';
    const finish = (ending: string): void => {
      if (done) return;
      done = true;
      if (holdTimer) clearTimeout(holdTimer);
      socket.destroy();
      const upstream = GREETING.exec(text)?.[1];
      resolve({
        status: upstream ? 200 : 0,
        upstream,
        headers: {},
        body: `${text}${ending}`,
        elapsedMs: ending === '|closed' ? performance.now() - lastDataAt : performance.now() - started,
      });
    };
    const onConnected = (): void => {
      if (req.halfClose) socket.end(payload);
      else socket.write(payload);
    };
    if (req.protocol === 'tls') socket.once('secureConnect', onConnected);
    else socket.once('connect', onConnected);
    socket.on('data', (c: Buffer) => {
      text += c.toString();
      lastDataAt = performance.now();
      // The greeting line and the echo are in: hold the connection open, or end it.
      if (!text.endsWith(payload) || !text.includes('\n')) return;
      if (req.holdMs) holdTimer = setTimeout(() => finish('|open'), req.holdMs);
      else socket.end();
    });
    socket.on('error', () => finish(text ? '|reset' : ''));
    socket.on('close', () => finish(req.holdMs && holdTimer ? '|closed' : ''));
    setTimeout(() => finish('|timeout'), 10_000 + (req.holdMs ?? 0)).unref();
  });
}
