// One bound address serving HTTP/1.1 and HTTP/2 cleartext (prior knowledge) on the same port: the first
// bytes of each connection are compared with the HTTP/2 connection preface and the socket is handed to
// a node:http or a node:http2 server accordingly. An HTTP/1.1 CONNECT goes to the listener's CONNECT
// handler (405 without one).
// A listener with several filter chains (or a tls_inspector) first picks the chain per connection, as
// Envoy does; a chain ending in a tcp_proxy gets the raw connection. A chain with a
// DownstreamTlsContext terminates TLS first (tls/contexts.ts) and serves HTTP (ALPN) or its TCP proxy
// over the decrypted stream. The socket handed to the HTTP servers is tagged with its chain
// (chain-tag.ts), whose HTTP connection manager serves its requests.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import { plainHttpChain, type FilterChain, type Listener, type TcpProxyConfig } from '../model/listener.js';
import type { DownstreamTls } from '../model/tls.js';
import { checkPeer, secureContext, serverOptions } from '../tls/contexts.js';
import { recordConnectionTls } from '../tls/peer-certificate.js';
import type { SecretResolver } from '../tls/secrets.js';
import { tagChain } from './chain-tag.js';
import { h2SessionSockets, type DownstreamResponse } from './downstream.js';
import { CONNECT_NOT_SUPPORTED } from './connection-manager.js';
import { selectFilterChain } from './filter-chain-match.js';
import { inspectClientHello } from './tls-inspector.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export type RequestHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: DownstreamResponse) => void;

/** Envoy's default listener_filters_timeout: a connection whose ClientHello is not complete by then is closed. */
const LISTENER_FILTERS_TIMEOUT_MS = 15_000;

/** What a listener with filter chains needs besides its HTTP handler. */
export interface NetworkChains {
  /** The listener's current spec (it may change while the port stays bound). */
  listener(): Listener;
  /** A connection whose chain ends in a tcp_proxy: `socket` is paused, `head` was already read from it. */
  onTcp(socket: net.Socket, head: Buffer, config: TcpProxyConfig): void;
  /** An HTTP/1.1 CONNECT request: the socket is the caller's from here on. */
  onConnect(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void;
  /** Where TLS chains find their certificates. */
  secrets: SecretResolver;
}

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
    private readonly network?: NetworkChains,
  ) {
    this.h1 = http.createServer({ keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 }, handler);
    this.h1.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      if (this.network) return this.network.onConnect(req, socket, head);
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
      // The session's socket wraps the replaying stream, which knows the connection it replays.
      const replayed = (s.socket as unknown as { stream?: unknown }).stream;
      const real = replayed instanceof Duplex ? replayedSockets.get(replayed) : undefined;
      if (real) h2SessionSockets.set(s, real);
      s.once('close', () => this.h2Sessions.delete(s));
    });
    this.h2.on('sessionError', (e: Error) => this.log('debug', `listener ${host}:${port}: HTTP/2 session error: ${e.message}`));
    // noDelay: sockets handed over by `emit('connection')` skip http.Server's own setNoDelay, and
    // Nagle's algorithm against delayed ACKs costs ~40 ms per keep-alive request.
    // allowHalfOpen: a TCP proxy passes a client's FIN on and keeps answering; HTTP sockets get the
    // usual end-on-end below.
    this.tcp = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', (e: Error) => this.log('debug', `listener ${this.host}:${this.port}: socket error: ${e.message}`));
    const spec = this.network?.listener();
    const plain = spec && plainHttpChain(spec);
    if (!spec || plain) {
      if (plain) tagChain(socket, plain);
      this.sniffHttp(socket, Buffer.alloc(0));
      return;
    }
    const route = (head: Buffer, serverName: string | undefined, transportProtocol: 'tls' | 'raw_buffer', applicationProtocols: string[] = []): void => {
      const chain = selectFilterChain(this.network!.listener(), { destinationPort: this.port, serverName, transportProtocol, applicationProtocols });
      if (!chain) {
        this.log('debug', `listener ${this.host}:${this.port}: no filter chain matches (server name ${serverName ?? 'none'}, ${transportProtocol}); closing`);
        socket.destroy();
      } else if (chain.tls) {
        this.terminateTls(socket, head, chain, chain.tls);
      } else {
        this.serveChain(socket, head, chain);
      }
    };
    if (!spec.tlsInspector) {
      route(Buffer.alloc(0), undefined, 'raw_buffer');
      return;
    }
    let seen = Buffer.alloc(0);
    const timer = setTimeout(() => {
      this.log('debug', `listener ${this.host}:${this.port}: no complete ClientHello within ${LISTENER_FILTERS_TIMEOUT_MS} ms; closing`);
      socket.destroy();
    }, LISTENER_FILTERS_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const found = inspectClientHello(seen);
      if (found.kind === 'need-more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (found.kind === 'invalid') {
        this.log('debug', `listener ${this.host}:${this.port}: bad ClientHello (${found.reason}); closing`);
        socket.destroy();
      } else if (found.kind === 'tls') route(seen, found.serverName, 'tls', found.alpn);
      else route(seen, undefined, 'raw_buffer');
    };
    const onEnd = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
  }

  private serveChain(socket: net.Socket, head: Buffer, chain: FilterChain): void {
    if (chain.terminal.kind === 'tcp') {
      socket.pause();
      this.network!.onTcp(socket, head, chain.terminal.tcp);
    } else {
      tagChain(socket, chain);
      this.sniffHttp(socket, head);
    }
  }

  /**
   * The chain's DownstreamTlsContext: a TLS session over the connection (the bytes the inspector read
   * replayed first) with the certificates current now, the client certificate checked as Envoy checks
   * it, then the chain's HTTP (h2 when ALPN chose it) or TCP proxy over the decrypted stream.
   */
  /** Reads the whole ClientHello first (its ALPN decides the server's), then terminates TLS. */
  private terminateTls(socket: net.Socket, head: Buffer, chain: FilterChain, spec: DownstreamTls): void {
    let seen = head;
    const proceed = (): boolean => {
      const hello = inspectClientHello(seen);
      if (hello.kind === 'need-more') return false;
      socket.off('data', onData);
      socket.off('end', onEnd);
      clearTimeout(timer);
      socket.pause();
      this.startTls(socket, seen, chain, spec, hello.kind === 'tls' ? hello.alpn : []);
      return true;
    };
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      proceed();
    };
    const onEnd = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(() => {
      this.log('debug', `listener ${this.host}:${this.port}: no complete ClientHello within ${LISTENER_FILTERS_TIMEOUT_MS} ms; closing`);
      socket.destroy();
    }, LISTENER_FILTERS_TIMEOUT_MS);
    if (proceed()) return;
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.resume();
  }

  private startTls(socket: net.Socket, head: Buffer, chain: FilterChain, spec: DownstreamTls, offeredAlpn: readonly string[]): void {
    const context = secureContext(spec, this.network!.secrets);
    if (context instanceof Error) {
      this.log('warn', `listener ${this.host}:${this.port}: filter chain '${chain.name}' cannot terminate TLS: ${context.message}; closing`);
      socket.destroy();
      return;
    }
    socket.pause();
    // TLSSocket feeds bytes already buffered in the socket to the TLS engine before reading the handle.
    if (head.length > 0) socket.unshift(head);
    const secure = new tls.TLSSocket(socket, serverOptions(spec, context, offeredAlpn));
    this.sockets.add(secure);
    secure.once('close', () => this.sockets.delete(secure));
    secure.on('error', (e: Error) => this.log('debug', `listener ${this.host}:${this.port}: TLS: ${e.message}`));
    secure.once('secure', () => {
      const refusal = checkPeer(spec, secure);
      if (refusal) {
        this.log('debug', `listener ${this.host}:${this.port}: filter chain '${chain.name}': ${refusal}; closing`);
        secure.destroy();
        return;
      }
      const info = recordConnectionTls(secure);
      if (chain.terminal.kind === 'tcp') {
        this.serveChain(secure, Buffer.alloc(0), chain);
        return;
      }
      // The HTTP servers read the TLS socket (HTTP/2 through the replaying stream): it carries the chain.
      tagChain(secure, chain);
      if (info.alpn === 'h2') {
        // ALPN said h2: nothing to sniff. nghttp2 does not read a TLSSocket handed to a cleartext server:
        // it gets a stream over it, as the h2c path does.
        this.h2.emit('connection', replayingStream(secure, Buffer.alloc(0)));
      } else {
        // Over TLS the protocol is ALPN's; without ALPN, HTTP/1.1. Nothing has been read from the stream.
        secure.once('end', () => secure.end());
        this.h1.emit('connection', secure);
      }
    });
  }

  /** Hands the socket to the HTTP/1.1 or the HTTP/2 server; `initial`: bytes already read from it. */
  private sniffHttp(socket: net.Socket, initial: Buffer): void {
    // What a server without allowHalfOpen does: the client's FIN ends our side too, once written.
    socket.once('end', () => socket.end());
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer): boolean => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const isPrefix = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isPrefix && seen.length < H2_PREFACE.length) return false; // need more bytes to decide
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
      return true;
    };
    if (initial.length > 0 && onData(initial)) return;
    socket.on('data', onData);
    socket.resume();
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

/** Replaying stream -> the connection it replays (for the peer's address). */
const replayedSockets = new WeakMap<Duplex, net.Socket>();

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
  replayedSockets.set(d, socket);
  d.push(head);
  socket.on('data', (c: Buffer) => {
    if (!d.push(c)) socket.pause();
  });
  socket.once('end', () => d.push(null));
  socket.once('close', () => d.destroy());
  return d;
}
