// `kubectl port-forward` on the node: kube-apiserver upgrades the kubelet's /portForward/{ns}/{pod} to
// SPDY/3.1 (protocol portforward.k8s.io) and opens, per forwarded connection, an error stream and a data
// stream with the same `requestid` and the pod's `port`, as the real kubelet's port-forward server takes
// them. The node connects to the pod's port on loopback (a pod's ports are its processes' listeners on
// its IP; with a sidecar, the app's own IP first: "localhost in the pod" is both) and copies both ways.
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SpdyServerConnection, type SpdyStream } from './spdy-connection.js';

const PROTOCOL = 'portforward.k8s.io';

export interface PortForwardTarget {
  namespace: string;
  pod: string;
  /** The addresses to try, in order, for the pod's port. */
  addresses: string[];
}

interface Pair {
  port: number;
  data?: number;
  error?: number;
  socket?: Socket;
}

export function servePortForwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: PortForwardTarget, log: (line: string) => void): void {
  const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim());
  if (!/spdy\/3\.1/i.test(String(req.headers.upgrade ?? '')) || !offered.includes(PROTOCOL)) {
    const message = `port-forward needs an upgrade to SPDY/3.1 with protocol ${PROTOCOL} (offered: ${offered.join(', ') || 'none'})`;
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
    return;
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PROTOCOL}\r\n\r\n`);
  if (head.length > 0) socket.unshift(head);

  const pairs = new Map<string, Pair>();
  const byStream = new Map<number, Pair>();
  const conn = new SpdyServerConnection(socket as never, {
    onStream(stream: SpdyStream) {
      const type = stream.headers.get('streamtype')?.[0];
      const port = Number(stream.headers.get('port')?.[0]);
      // Without a request id, the real kubelet pairs an error stream with the data stream two ids on.
      const requestId = stream.headers.get('requestid')?.[0] ?? String(type === 'data' ? stream.id - 2 : stream.id);
      const pair = pairs.get(requestId) ?? { port };
      pairs.set(requestId, pair);
      byStream.set(stream.id, pair);
      if (type === 'data') pair.data = stream.id;
      else if (type === 'error') pair.error = stream.id;
      if (pair.data !== undefined && pair.error !== undefined && !pair.socket) open(requestId, pair);
    },
    onData(streamId, data, fin) {
      const pair = byStream.get(streamId);
      if (!pair?.socket || streamId !== pair.data) return;
      if (data.length > 0) pair.socket.write(data);
      if (fin) pair.socket.end();
    },
    onReset(streamId) {
      byStream.get(streamId)?.socket?.destroy();
    },
    onClose() {
      for (const pair of pairs.values()) pair.socket?.destroy();
    },
    onError(err) {
      log(`port-forward ${target.namespace}/${target.pod}: ${err.message}`);
    },
  });

  function open(requestId: string, pair: Pair, attempt = 0): void {
    const address = target.addresses[attempt]!;
    const tcp = connect({ host: address, port: pair.port });
    pair.socket = tcp;
    let connected = false;
    tcp.on('connect', () => {
      connected = true;
    });
    tcp.on('data', (chunk: Buffer) => conn.send(pair.data!, chunk));
    tcp.on('end', () => conn.send(pair.data!, Buffer.alloc(0), true));
    tcp.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && err.code === 'ECONNREFUSED' && attempt + 1 < target.addresses.length) {
        open(requestId, pair, attempt + 1);
        return;
      }
      const message = `error forwarding port ${pair.port} to pod ${target.namespace}/${target.pod}: ${err.message}`;
      log(`port-forward request ${requestId}: ${message}`);
      conn.send(pair.error!, Buffer.from(message), true);
      conn.send(pair.data!, Buffer.alloc(0), true);
    });
    tcp.on('close', () => {
      if (pair.socket !== tcp) return;
      conn.send(pair.error!, Buffer.alloc(0), true);
    });
  }
}
