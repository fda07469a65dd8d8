// Upstream servers for tests: node:http (and node:http2) servers on 127.0.0.1 that answer with their
// own name, can be told to fail, and count what they served.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';

export interface TestUpstream {
  name: string;
  port: number;
  served: number;
  /** Status to answer with (200 by default); the body is always the server's name. */
  status: number;
  /** Delay before answering, ms. */
  delayMs: number;
  lastHeaders: http.IncomingHttpHeaders | undefined;
  lastPath: string | undefined;
  close(): Promise<void>;
}

export async function startUpstream(name: string, opts: { http2?: boolean } = {}): Promise<TestUpstream> {
  const sockets = new Set<net.Socket>();
  const state: TestUpstream = {
    name,
    port: 0,
    served: 0,
    status: 200,
    delayMs: 0,
    lastHeaders: undefined,
    lastPath: undefined,
    close: async () => undefined,
  };
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    state.served++;
    state.lastHeaders = req.headers;
    state.lastPath = req.url;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (): void => {
        const body = `${name} ${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`.trimEnd();
        if (res instanceof http2.Http2ServerResponse) res.writeHead(state.status, { 'content-type': 'text/plain', 'x-upstream': name });
        else res.writeHead(state.status, { 'content-type': 'text/plain', 'x-upstream': name });
        res.end(body);
      };
      if (state.delayMs > 0) setTimeout(answer, state.delayMs);
      else answer();
    });
  };
  const server = opts.http2 ? http2.createServer(handler) : http.createServer(handler);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  state.port = typeof addr === 'object' && addr ? addr.port : 0;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}

/** A port that was free a moment ago (bind 0, read, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A port nothing listens on (for connect failures). */
export const closedPort = freePort;
