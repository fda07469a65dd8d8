// Raw TCP and TLS upstreams for the L4 cases, on 127.230.1.x like the HTTP ones. On connect each says
// who it is (`upstream=<name>`, and for TLS the SNI it was asked for: `sni=<name>`), then echoes what it
// receives until the client ends. The TLS one terminates with a self-signed certificate made for the
// test: the proxies in between pass the handshake through untouched (TLS PASSTHROUGH), never terminate it.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { EchoUpstream } from './upstream.js';

export interface L4UpstreamOptions {
  host: string;
  protocol: 'tcp' | 'tls';
  /** For 'tls': the certificate it presents. */
  certificate?: { certPem: string; keyPem: string };
}

export async function startL4Upstream(name: string, opts: L4UpstreamOptions): Promise<EchoUpstream> {
  const sockets = new Set<net.Socket>();
  const serve = (socket: net.Socket, greeting: string): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write(`${greeting}\n`);
    socket.pipe(socket);
  };
  let server: net.Server;
  if (opts.protocol === 'tls') {
    if (!opts.certificate) throw new Error(`TLS upstream ${name} needs a certificate`);
    server = tls.createServer({ cert: opts.certificate.certPem, key: opts.certificate.keyPem, allowHalfOpen: true }, (socket) =>
      serve(socket, `upstream=${name} sni=${socket.servername || '-'}`),
    );
  } else {
    server = net.createServer({ allowHalfOpen: true }, (socket) => serve(socket, `upstream=${name}`));
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host, resolve);
  });
  return {
    name,
    host: opts.host,
    port: (server.address() as net.AddressInfo).port,
    seen: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
