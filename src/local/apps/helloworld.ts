// The scenario's sample app (istio/examples-helloworld-v1/-v2) as a built-in: GET /hello answers
// "Hello version: <version>, instance: <pod name>\n", GET /health answers 200, anything else 404.
// Run as its own process by the kubelet: `helloworld.(ts|js) --version=v1 --port=5000`.
// ERROR_RATE (env, 0 to 1, e.g. 0.2) makes that share of /hello requests fail with 500, drawn at random
// per request: a bad release to roll back, without touching the mesh's config.
import { createServer, type Server } from 'node:http';
import { exitWithParent, isMainModule, parseAppArgs } from './app-process.js';

export interface HelloworldOptions {
  version: string;
  /** Answered as `instance:`; the real app prints the container's hostname, which is the pod name. */
  instance: string;
  host: string;
  port: number;
}

export interface HelloworldBehaviour {
  /** Share of /hello requests answered 500 (0 = none). */
  errorRate?: number;
  /** The draw per request (tests fix it). */
  random?: () => number;
}

/** ERROR_RATE as a share from 0 to 1; anything else is refused (a typo must not pass for a healthy app). */
export function parseErrorRate(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 0;
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new Error(`ERROR_RATE "${value}": expected a share from 0 to 1, e.g. 0.2 for one request in five`);
  return rate;
}

export function createHelloworldServer(opts: Pick<HelloworldOptions, 'version' | 'instance'> & HelloworldBehaviour): Server {
  const random = opts.random ?? Math.random;
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/hello' && (opts.errorRate ?? 0) > 0 && random() < opts.errorRate!) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Internal Server Error (ERROR_RATE ${opts.errorRate}), version: ${opts.version}, instance: ${opts.instance}\n`);
      console.log(`${req.socket.remoteAddress ?? '-'} "GET /hello" 500`);
      return;
    }
    if (req.method === 'GET' && path === '/hello') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Hello version: ${opts.version}, instance: ${opts.instance}\n`);
      console.log(`${req.socket.remoteAddress ?? '-'} "GET /hello" 200`);
      return;
    }
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('404 Not Found\n');
  });
}

function main(): void {
  const args = parseAppArgs(process.argv.slice(2));
  const version = args.get('version') ?? 'v1';
  const port = Number(args.get('port') ?? '5000');
  const host = process.env.MESHWORK_BIND_IP || process.env.POD_IP || '127.0.0.1';
  const instance = process.env.HOSTNAME || process.env.POD_NAME || 'helloworld';
  let errorRate: number;
  try {
    errorRate = parseErrorRate(process.env.ERROR_RATE);
  } catch (err) {
    console.error(`helloworld: ${(err as Error).message}`);
    process.exit(1);
  }
  exitWithParent();
  const server = createHelloworldServer({ version, instance, errorRate });
  server.on('error', (err) => {
    console.error(`helloworld: cannot serve on ${host}:${port}: ${err.message}`);
    process.exit(1);
  });
  server.listen(port, host, () => console.log(`helloworld ${version} serving on http://${host}:${port}${errorRate > 0 ? ` (ERROR_RATE ${errorRate}: that share of /hello answers 500)` : ''}`));
  process.on('SIGTERM', () => {
    console.log('helloworld: SIGTERM, shutting down');
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

if (isMainModule(import.meta.url)) main();
