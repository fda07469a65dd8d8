// The contract between the API server (which serves pods/exec and pods/log) and the process kubelet
// (which runs the pods). The engine is kubelet.ts.
import type { Readable, Writable } from 'node:stream';

export interface ExecRequest {
  namespace: string;
  pod: string;
  /** Undefined = the pod's first container, as kubectl defaults. */
  container?: string;
  command: string[];
  tty: boolean;
  /** Present when the client sent stdin=true; ends when the client closes stdin. */
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Aborted when the client goes away: the command is killed. */
  signal: AbortSignal;
}

export interface LogRequest {
  namespace: string;
  pod: string;
  container?: string;
  follow: boolean;
  previous: boolean;
  tailLines?: number;
  timestamps: boolean;
  signal: AbortSignal;
}

/**
 * Throws StatusError (k8s/status.ts): 404 for an unknown pod or container, 400 when the container
 * is not running (`container "x" in pod "y" is waiting to start: ...`), as the real kubelet answers.
 */
export interface PodRuntime {
  /** Resolves with the command's exit code once it ends; a command that cannot start resolves 126/127 with a message on stderr. */
  exec(req: ExecRequest): Promise<{ exitCode: number }>;
  /** A stream of the container's log; with follow it stays open until the container ends or signal aborts. */
  logs(req: LogRequest): Readable;
}
