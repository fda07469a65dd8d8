// One command run in a pod's container through the API server (pods/exec over WebSocket), its stdin
// fed from a string, its stdout streamed to a callback as it arrives.

import { PassThrough, Writable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { apiErrorMessage } from '../k8s/client/client.js';
import { CommandError } from './io.js';

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdin?: string;
  onStdout: (chunk: string) => void;
  /** Kill the wait (not the remote process, which ends when the connection closes). */
  timeoutMs: number;
}

export interface ExecResult {
  exitCode: number;
  stderr: string;
  /** The Status message of a failed command (`command terminated with non-zero exit code`). */
  message?: string;
}

/** Exit code from the Status the API server sends when the command ends. */
export function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : 1;
}

export async function execInPod(kc: KubeConfig, req: ExecRequest): Promise<ExecResult> {
  let stderr = '';
  const stdout = new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _enc, done) {
      req.onStdout(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      done();
    },
  });
  const stderrStream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      stderr += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      done();
    },
  });
  let stdin: PassThrough | null = null;
  if (req.stdin !== undefined) {
    stdin = new PassThrough();
    stdin.end(req.stdin);
  }
  let status: V1Status | undefined;
  const where = `${req.namespace}/${req.pod} (container ${req.container})`;
  let ws: Awaited<ReturnType<Exec['exec']>>;
  try {
    ws = await new Exec(kc).exec(req.namespace, req.pod, req.container, req.command, stdout, stderrStream, stdin, false, (s) => {
      status = s;
    });
  } catch (err) {
    throw new CommandError(`exec in ${where} failed: ${apiErrorMessage(err)}`);
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new CommandError(`exec in ${where} did not finish within ${Math.round(req.timeoutMs / 1000)} s`));
    }, req.timeoutMs);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(new CommandError(`exec in ${where}: ${err.message}`));
    });
  });
  if (!status) throw new CommandError(`exec in ${where}: the connection closed without an exit status${stderr ? `; stderr: ${stderr.trim()}` : ''}`);
  return { exitCode: exitCodeOf(status), stderr, ...(status.status !== 'Success' && status.message ? { message: status.message } : {}) };
}
