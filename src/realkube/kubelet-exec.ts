// `kubectl exec` on the node: kube-apiserver upgrades the kubelet's /exec/{ns}/{pod}/{container} to
// SPDY/3.1 (protocol v4.channel.k8s.io) and opens one stream per channel (error, stdin, stdout, stderr,
// resize), named by their `streamtype` header, as the real kubelet's remotecommand server takes them.
// The command runs through the kubelet's own exec (local/kubelet/exec.ts); its end is reported on the
// error stream as a metav1.Status (Success, or NonZeroExitCode with the code), then the connection ends.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import { StatusError } from '../k8s/status.js';
import type { PodRuntime } from '../local/kubelet/runtime.js';
import { exitStatus } from '../local/apiserver/exec.js';
import { SpdyServerConnection, type SpdyStream } from './spdy-connection.js';

const PROTOCOL = 'v4.channel.k8s.io';
const STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
  query: URLSearchParams;
}

function refuse(socket: Duplex, code: number, reason: string, message: string): void {
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
}

/** Serves one exec upgrade on `socket` (an upgrade request kube-apiserver sent). */
export function serveExecUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, runtime: PodRuntime, target: ExecTarget, log: (line: string) => void): void {
  const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim());
  if (!/spdy\/3\.1/i.test(String(req.headers.upgrade ?? ''))) return refuse(socket, 400, 'Bad Request', `exec needs an upgrade to SPDY/3.1, not "${String(req.headers.upgrade ?? '')}"`);
  if (!offered.includes(PROTOCOL)) return refuse(socket, 403, 'Forbidden', `unable to negotiate a stream protocol: the node speaks ${PROTOCOL}, the client offered ${offered.join(', ') || 'none'}`);
  const flag = (name: string) => target.query.get(name) === '1' || target.query.get(name) === 'true';
  const wants = { stdin: flag('input'), stdout: flag('output'), stderr: flag('error'), tty: flag('tty') };
  const command = target.query.getAll('command');
  const expected = 1 + Number(wants.stdin) + Number(wants.stdout) + Number(wants.stderr) + Number(wants.tty);

  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PROTOCOL}\r\n\r\n`);
  if (head.length > 0) socket.unshift(head);

  const streams = new Map<string, number>();
  const stdin = wants.stdin ? new PassThrough() : undefined;
  const abort = new AbortController();
  let started = false;
  const conn = new SpdyServerConnection(socket as never, {
    onStream(stream: SpdyStream) {
      const type = stream.headers.get('streamtype')?.[0] ?? '';
      streams.set(type, stream.id);
      if (!started && streams.size >= expected) {
        started = true;
        clearTimeout(timer);
        void run();
      }
    },
    onData(streamId, data, fin) {
      if (streamId !== streams.get('stdin') || !stdin) return;
      if (data.length > 0) stdin.write(data);
      if (fin) stdin.end();
    },
    onReset(streamId) {
      if (streamId === streams.get('stdin')) stdin?.end();
    },
    onClose() {
      clearTimeout(timer);
      abort.abort();
      stdin?.end();
    },
    onError(err) {
      log(`exec ${target.namespace}/${target.pod}/${target.container}: ${err.message}`);
      abort.abort();
    },
  });
  const timer = setTimeout(() => {
    log(`exec ${target.namespace}/${target.pod}/${target.container}: ${streams.size} of ${expected} streams opened within ${STREAM_CREATION_TIMEOUT_MS / 1000} s`);
    conn.close();
  }, STREAM_CREATION_TIMEOUT_MS);

  const writer = (type: string) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        const id = streams.get(type);
        if (id !== undefined) conn.send(id, chunk);
        done();
      },
    });

  async function run(): Promise<void> {
    let status: object;
    try {
      const { exitCode } = await runtime.exec({
        namespace: target.namespace,
        pod: target.pod,
        container: target.container,
        command,
        tty: wants.tty,
        ...(stdin ? { stdin } : {}),
        stdout: writer('stdout'),
        stderr: wants.stderr ? writer('stderr') : writer('stdout'),
        signal: abort.signal,
      });
      status = exitStatus(command, exitCode);
    } catch (err) {
      const e = err as Error;
      status = { metadata: {}, status: 'Failure', message: e.message, reason: err instanceof StatusError ? err.reason : 'InternalError', code: err instanceof StatusError ? err.code : 500 };
    }
    const errorStream = streams.get('error');
    if (errorStream !== undefined) conn.send(errorStream, Buffer.from(JSON.stringify(status)), true);
    for (const type of ['stdout', 'stderr']) {
      const id = streams.get(type);
      if (id !== undefined) conn.send(id, Buffer.alloc(0), true);
    }
    conn.close();
  }
}
