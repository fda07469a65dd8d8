// The built-in stand-in for Istio's tcp-echo sample (docker.io/istio/tcp-echo-server): it listens on
// each given port and answers every line it receives with `<prefix> <line>`, so which version served a
// TCP connection shows in the answer (Istio's TCP traffic shifting task: "one hello", "two hello").

import * as net from 'node:net';
import { exitWithParent, isMainModule, parseAppArgs } from './app-process.js';

export function createTcpEchoServer(prefix: string): net.Server {
  return net.createServer({ allowHalfOpen: true }, (socket) => {
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        socket.write(`${prefix} ${pending.slice(0, nl)}\n`);
        pending = pending.slice(nl + 1);
      }
    });
    socket.on('end', () => {
      if (pending) socket.write(`${prefix} ${pending}\n`);
      socket.end();
    });
    socket.on('error', () => socket.destroy());
  });
}

function main(): void {
  const args = parseAppArgs(process.argv.slice(2));
  const ports = (args.get('ports') ?? '9000').split(',').map(Number);
  const prefix = args.get('prefix') ?? 'hello';
  const host = process.env.MESHWORK_BIND_IP || process.env.POD_IP || '127.0.0.1';
  exitWithParent();
  const servers = ports.map((port) => {
    const server = createTcpEchoServer(prefix);
    server.on('error', (err) => {
      console.error(`tcp-echo: cannot serve on ${host}:${port}: ${err.message}`);
      process.exit(1);
    });
    server.listen(port, host, () => console.log(`tcp-echo (${prefix}) listening on ${host}:${port}`));
    return server;
  });
  process.on('SIGTERM', () => {
    for (const s of servers) s.close();
    process.exit(0);
  });
}

if (isMainModule(import.meta.url)) main();
