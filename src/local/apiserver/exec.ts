// pods/exec over WebSocket with the Kubernetes channel protocols (v5.channel.k8s.io, v4.channel.k8s.io):
// binary frames whose first byte is the channel: 0 stdin, 1 stdout, 2 stderr, 3 error (a Status with
// the exit code), 4 resize, and in v5 255 = close (the client closed its stdin).
import type { Duplex } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { badRequest, StatusError } from '../../k8s/status.js';
import { queryBool, toStatusError } from './http.js';
import { noPodRuntime } from './logs.js';
import type { ApiContext } from './options.js';
import type { ResourceRoute } from './routes.js';
import { getStoredOr404 } from './update.js';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

/** Picks the newest protocol the client offers, or false (the handshake then fails). */
export function chooseExecProtocol(offered: Set<string>): string | false {
  return EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false;
}

export interface ExecParams {
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Validates the exec request before the upgrade, so errors are plain HTTP Status answers. */
export function execParams(ctx: ApiContext, route: ResourceRoute, query: URLSearchParams): ExecParams {
  getStoredOr404(ctx, route);
  if (!ctx.opts.podRuntime) throw noPodRuntime('pods/exec');
  const command = query.getAll('command');
  if (command.length === 0) throw badRequest('you must specify at least 1 command');
  const params: ExecParams = {
    namespace: route.namespace ?? '',
    pod: route.name ?? '',
    container: query.get('container') || undefined,
    command,
    stdin: queryBool(query, 'stdin'),
    stdout: queryBool(query, 'stdout'),
    stderr: queryBool(query, 'stderr'),
    tty: queryBool(query, 'tty'),
  };
  if (!params.stdin && !params.stdout && !params.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  return params;
}

/** The Status sent on the error channel when the command ends, as the kubelet reports it. */
export function exitStatus(command: string[], exitCode: number): object {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

function frame(channel: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([channel]), data]);
}

/** A Writable that forwards what the runtime writes as frames of one channel. */
function channelWriter(ws: WebSocket, channel: number, onDrop: () => void): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      if (ws.readyState !== ws.OPEN) {
        onDrop();
        callback();
        return;
      }
      ws.send(frame(channel, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)), { binary: true }, (err) => {
        // A send that fails means the client is gone; the output is counted as dropped, not an error of the command.
        if (err) onDrop();
        callback();
      });
    },
  });
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Runs one exec session on an upgraded WebSocket; resolves when the socket is closed. */
export async function runExec(ctx: ApiContext, ws: WebSocket, params: ExecParams): Promise<number | undefined> {
  const runtime = ctx.opts.podRuntime;
  if (!runtime) throw noPodRuntime('pods/exec');
  const abort = new AbortController();
  const stdin = params.stdin ? new PassThrough() : undefined;
  let dropped = 0;
  const onDrop = (): void => {
    dropped++;
  };
  ws.on('message', (data, isBinary) => {
    const buf = toBuffer(data);
    if (!isBinary || buf.length === 0) return;
    const channel = buf[0];
    const payload = buf.subarray(1);
    if (channel === STDIN) stdin?.write(payload);
    else if (channel === CLOSE && payload[0] === STDIN) stdin?.end();
    // RESIZE: there are no terminals to resize here (pods are plain processes).
    else if (channel !== RESIZE) ctx.log(`pods/exec ${params.namespace}/${params.pod}: frame on unknown channel ${channel} ignored`);
  });
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  void closed.then(() => {
    abort.abort();
    stdin?.end();
  });
  ws.on('error', (err) => ctx.log(`pods/exec ${params.namespace}/${params.pod}: websocket error: ${err.message}`));

  let status: object;
  let exitCode: number | undefined;
  try {
    const result = await runtime.exec({
      namespace: params.namespace,
      pod: params.pod,
      container: params.container,
      command: params.command,
      tty: params.tty,
      stdin,
      stdout: channelWriter(ws, STDOUT, onDrop),
      stderr: channelWriter(ws, params.tty ? STDOUT : STDERR, onDrop),
      signal: abort.signal,
    });
    exitCode = result.exitCode;
    status = exitStatus(params.command, result.exitCode);
  } catch (err) {
    const e = toStatusError(err);
    status = { metadata: {}, status: 'Failure', message: e.message, reason: e.reason, code: e.code };
  }
  if (dropped > 0) ctx.log(`pods/exec ${params.namespace}/${params.pod}: ${dropped} output chunk(s) dropped after the client went away`);
  if (ws.readyState === ws.OPEN) {
    ws.send(frame(ERROR, Buffer.from(JSON.stringify(status))), { binary: true });
    ws.close(1000);
  }
  await closed;
  return exitCode;
}

/** Answers a failed upgrade on the raw socket with a Status body. */
export function rejectUpgrade(socket: Duplex, err: StatusError): void {
  const body = JSON.stringify(err.toJSON());
  socket.end(
    `HTTP/1.1 ${err.code} ${statusText(err.code)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function statusText(code: number): string {
  const texts: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' };
  return texts[code] ?? 'Error';
}

export function spdyNotSupported(): StatusError {
  return badRequest(
    'pods/exec is served over WebSocket only (v5.channel.k8s.io, v4.channel.k8s.io); SPDY is not supported by this API server. Use kubectl 1.30 or newer (or @kubernetes/client-node Exec), which speak WebSocket',
  );
}
