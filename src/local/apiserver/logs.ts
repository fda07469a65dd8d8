// pods/log: the container's log from the pod runtime, streamed as text/plain.
import type { ServerResponse } from 'node:http';
import { badRequest, StatusError } from '../../k8s/status.js';
import { queryBool, queryInt, sendStatusError, toStatusError } from './http.js';
import type { ApiContext } from './options.js';
import type { ResourceRoute } from './routes.js';
import { getStoredOr404 } from './update.js';

export function noPodRuntime(what: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: this cluster has no pod runtime attached: ${what} is not available`);
}

export function serveLogs(ctx: ApiContext, route: ResourceRoute, res: ServerResponse, query: URLSearchParams): void {
  getStoredOr404(ctx, route);
  const runtime = ctx.opts.podRuntime;
  if (!runtime) throw noPodRuntime('pods/log');
  const tailLines = queryInt(query, 'tailLines');
  if (tailLines !== undefined && tailLines < 0) throw badRequest('tailLines: Invalid value: must be greater than or equal to 0');
  const abort = new AbortController();
  const stream = runtime.logs({
    namespace: route.namespace ?? '',
    pod: route.name ?? '',
    container: query.get('container') || undefined,
    follow: queryBool(query, 'follow'),
    previous: queryBool(query, 'previous'),
    tailLines,
    timestamps: queryBool(query, 'timestamps'),
    signal: abort.signal,
  });
  const stop = (): void => {
    abort.abort();
    stream.destroy();
  };
  res.on('close', stop);
  // Headers wait for the first byte (or the end) so that an error the runtime reports up front is
  // still a proper Status with its status code.
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  };
  stream.on('data', (chunk: Buffer | string) => {
    start();
    res.write(chunk);
  });
  stream.on('end', () => {
    start();
    res.end();
  });
  stream.on('error', (err) => {
    if (!started) {
      started = true;
      sendStatusError(res, toStatusError(err));
      return;
    }
    ctx.log(`pods/log ${route.namespace}/${route.name}: stream failed after start: ${err.message}`);
    res.destroy(err);
  });
}
