// Attaches a port-forward session to what the upgrade produced: a WebSocket tunnel (each binary
// message a run of SPDY bytes) or the raw socket after "101 Switching Protocols" to SPDY/3.1.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { PORTFORWARD_PROTOCOL, PortForwardSession, type PortForwardTarget } from './portforward.js';

export function isPortForwardPath(url: string | undefined): boolean {
  return /\/pods\/[^/]+\/portforward(\?|$)/.test(url ?? '');
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function serveTunnel(ws: WebSocket, target: PortForwardTarget, log: (msg: string) => void, onClose: () => void): void {
  const session = new PortForwardSession(
    target,
    {
      send: (bytes) => {
        if (ws.readyState === ws.OPEN) ws.send(bytes, { binary: true });
      },
      close: () => ws.close(1000),
    },
    log,
  );
  ws.on('message', (data, isBinary) => {
    if (isBinary) session.receive(toBuffer(data));
  });
  ws.on('error', (err) => log(`portforward ${target.namespace}/${target.pod}: websocket error: ${err.message}`));
  ws.on('close', () => {
    session.closed();
    onClose();
  });
}

export function serveSpdyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: PortForwardTarget, log: (msg: string) => void, onClose: () => void): void {
  const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((s) => s.trim());
  if (!offered.includes(PORTFORWARD_PROTOCOL)) {
    const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `X-Stream-Protocol-Version must offer ${PORTFORWARD_PROTOCOL}`, reason: 'BadRequest', code: 400 });
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    return;
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORTFORWARD_PROTOCOL}\r\n\r\n`);
  const session = new PortForwardSession(target, { send: (bytes) => socket.write(bytes), close: () => socket.end() }, log);
  if (head.length > 0) session.receive(head);
  socket.on('data', (chunk: Buffer) => session.receive(chunk));
  socket.on('close', () => {
    session.closed();
    onClose();
  });
}
