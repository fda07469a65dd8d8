// One L4 case request: a TCP connection (or a TLS one, with the request's SNI, through a listener that
// passes the handshake on) that sends the body and reads what comes back; with `connect`, first an
// HTTP/1.1 CONNECT through the listener (as an app behind https_proxy sends it), the connection then
// carrying the tunnel. The observation: status 200 and the upstream's name when an upstream greeted
// (the CONNECT answer's status when it was refused), 0 when the proxy closed the connection without
// one; the body is what the client read, plus how the connection ended:
//   `|closed` the proxy closed it while the client held it open for `holdMs` (an idle timeout),
//   `|open` still open when the client gave up holding it.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { CaseRequest, Observation } from './case.js';

const GREETING = /^upstream=(\S+)/;

/** Sends CONNECT and reads the answer's head; resolves the status and any bytes after the head. */
function connectThrough(socket: net.Socket, authority: string): Promise<{ status: number; rest: Buffer; head: string }> {
  return new Promise((resolve) => {
    let seen = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      seen = Buffer.concat([seen, c]);
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const head = seen.subarray(0, end).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), rest: seen.subarray(end + 4), head });
    };
    socket.on('data', onData);
    socket.once('close', () => resolve({ status: 0, rest: Buffer.alloc(0), head: '' }));
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n\r\n`);
  });
}

async function open(address: { host: string; port: number }, req: CaseRequest): Promise<{ socket: net.Socket; refused?: number; body?: string }> {
  if (!req.connect) {
    return {
      socket: req.protocol === 'tls'
        ? tls.connect({ host: address.host, port: address.port, servername: req.sni, rejectUnauthorized: false })
        : net.connect({ host: address.host, port: address.port }),
    };
  }
  const raw = net.connect({ host: address.host, port: address.port });
  raw.on('error', () => {});
  await new Promise<void>((resolve) => raw.once('connect', resolve).once('close', resolve));
  const answer = await connectThrough(raw, req.connect);
  if (answer.status !== 200) {
    // The proxy's refusal: its status and body are the observation.
    const body = await new Promise<string>((resolve) => {
      let text = answer.rest.toString();
      raw.on('data', (c: Buffer) => (text += c.toString()));
      raw.once('close', () => resolve(text));
      raw.resume();
      setTimeout(() => resolve(text), 2000).unref();
    });
    raw.destroy();
    return { socket: raw, refused: answer.status, body };
  }
  if (answer.rest.length > 0) raw.unshift(answer.rest);
  return { socket: req.protocol === 'tls' ? tls.connect({ socket: raw, servername: req.sni, rejectUnauthorized: false }) : raw };
}

export async function sendL4(address: { host: string; port: number }, req: CaseRequest): Promise<Observation> {
  const started = performance.now();
  const opened = await open(address, req);
  if (opened.refused !== undefined) return { status: opened.refused, upstream: undefined, headers: {}, body: opened.body ?? '', elapsedMs: performance.now() - started };
  const { socket } = opened;
  return new Promise((resolve) => {
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
    const send = (): void => {
      if (req.halfClose) socket.end(payload);
      else socket.write(payload);
    };
    if (req.protocol === 'tls') socket.once('secureConnect', send);
    else if (req.connect) send();
    else socket.once('connect', send);
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
    socket.resume();
    setTimeout(() => finish('|timeout'), 10_000 + (req.holdMs ?? 0)).unref();
  });
}
