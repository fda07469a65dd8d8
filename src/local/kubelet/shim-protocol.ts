// What the kubelet and its container monitors (shim.ts) share: the monitor's spec, its state file and
// its messages.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { LogRotation } from './container-log.js';

export interface ShimSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Give the container a stdin pipe that the monitor holds open (built-in apps exit at its EOF). */
  stdin: boolean;
  log: { dir: string; namespace: string; pod: string; container: string; rotation: LogRotation };
  /** Where the monitor records the instance: ShimState, rewritten atomically. */
  stateFile: string;
}

export interface ShimState {
  shimPid: number;
  /** Process group of the container (= pid of its main process). */
  pgid?: number;
  startedMs?: number;
  /** Set once the main process is gone and its output is in the log. */
  exit?: { code: number; signal: NodeJS.Signals | null; finishedMs: number };
  /** The process could not be started. */
  error?: string;
}

/** The one message a monitor sends its kubelet: the container runs (its exit is in the state file). */
export type ShimMessage = { type: 'started'; pgid: number; startedMs: number };

export function readShimState(file: string): ShimState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ShimState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

export function writeShimState(file: string, state: ShimState): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(state) + '\n');
  renameSync(tmp, file);
}
