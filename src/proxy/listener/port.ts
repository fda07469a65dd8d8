// One bound address serving HTTP/1.1 and HTTP/2 cleartext (prior knowledge) on the same port: the first
// bytes of each connection are compared with the HTTP/2 connection preface and the socket is handed to
// a node:http or a node:http2 server accordingly. CONNECT (HTTP/1.1) is answered 405.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { DownstreamResponse } from './downstream.js';
import { CONNECT_NOT_SUPPORTED } from './connection-manager.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export type RequestHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: DownstreamResponse) => void;

export class ListenerPort {
  private readonly tcp: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();

  constructor(
    readonly host: string,
    readonly port: number,
    handler: RequestHandler,
    private readonly log: Logger,
  ) {
    this.h1 = http.createServer({ keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 }, handler);
    this.h1.on('connect', (_req: http.IncomingMessage, socket: net.Socket) => {
      const body = Buffer.from(CONNECT_NOT_SUPPORTED);
      socket.end(`HTTP/1.1 405 Method Not Allowed\r\nserver: meshwork\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${CONNECT_NOT_SUPPORTED}`);
    });
    this.h1.on('clientError', (e: Error, socket: net.Socket) => {
      this.log('debug', `listener ${host}:${port}: bad HTTP/1.1 request: ${e.message}`);
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.h2 = http2.createServer({}, handler);
    this.h2.on('session', (s: http2.ServerHttp2Session) => {
      this.h2Sessions.add(s);
      s.once('close', () => this.h2Sessions.delete(s));
    });
    this.h2.on('sessionError', (e: Error) => this.log('debug', `listener ${host}:${port}: HTTP/2 session error: ${e.message}`));
    // noDelay: sockets handed over by `emit('connection')` skip http.Server's own setNoDelay, and
    // Nagle's algorithm against delayed ACKs costs ~40 ms per keep-alive request.
    this.tcp = net.createServer({ noDelay: true }, (socket) => this.sniff(socket));
  }

  private sniff(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', (e: Error) => this.log('debug', `listener ${this.host}:${this.port}: socket error: ${e.message}`));
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const isPrefix = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isPrefix && seen.length < H2_PREFACE.length) return; // need more bytes to decide
      socket.off('data', onData);
      socket.pause();
      if (isPrefix) {
        // nghttp2 reads the native handle and never sees bytes already taken from it: hand it a
        // stream that replays them first.
        this.h2.emit('connection', replayingStream(socket, seen));
      } else {
        socket.unshift(seen);
        this.h1.emit('connection', socket);
      }
      socket.resume();
    };
    socket.on('data', onData);
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.tcp.once('error', onError);
      this.tcp.listen({ host: this.host, port: this.port }, () => {
        this.tcp.off('error', onError);
        this.tcp.on('error', (e: Error) => this.log('error', `listener ${this.host}:${this.port}: ${e.message}`));
        resolve();
      });
    });
  }

  /** Stops accepting; open connections get `drainMs` to finish, then are closed. */
  close(drainMs = 0): Promise<void> {
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    this.h1.closeIdleConnections();
    for (const s of this.h2Sessions) s.close();
    const destroyAll = (): void => {
      for (const s of this.h2Sessions) s.destroy();
      for (const s of this.sockets) s.destroy();
    };
    if (drainMs <= 0) destroyAll();
    else setTimeout(destroyAll, drainMs).unref();
    return closed;
  }
}

/** A Duplex over `socket` whose readable side starts with `head` (bytes already read from it). */
function replayingStream(socket: net.Socket, head: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(e, cb) {
      socket.destroy(e ?? undefined);
      cb(e);
    },
  });
  d.push(head);
  socket.on('data', (c: Buffer) => {
    if (!d.push(c)) socket.pause();
  });
  socket.once('end', () => d.push(null));
  socket.once('close', () => d.destroy());
  return d;
}
