// `meshwork up -d`: start the hosting process in the background and return once it is ready.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, readUpState, statePaths, type UpState } from './state.js';
import { mkdirSync } from 'node:fs';

export interface DetachOptions {
  stateDir: string;
  /** Arguments of the foreground `up` to run in the background. */
  upArgs: string[];
  timeoutMs: number;
}

/**
 * Starts the hosting process and waits until its clusters are ready and every running proxy is synced
 * with its control plane; `progress` hears what is still pending (each time it changes).
 */
export async function startDetached(opts: DetachOptions, progress: (line: string) => void = () => undefined): Promise<UpState> {
  const paths = statePaths(opts.stateDir);
  mkdirSync(paths.dir, { recursive: true });
  const out = openSync(paths.logFile, 'a');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], 'up', ...opts.upArgs], {
    detached: true,
    stdio: ['ignore', out, out],
    env: process.env,
  });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the background meshwork process');

  const deadline = Date.now() + opts.timeoutMs;
  let said = '';
  let pending: string[] = [];
  while (Date.now() < deadline) {
    const state = readUpState(paths);
    if (state?.pid === pid) {
      if (state.ready && state.meshSynced) return state;
      if (state.error) throw new Error(`meshwork up failed: ${state.error} (log: ${paths.logFile})`);
      pending = state.meshPending ?? [];
      const now = pending.length > 0 ? `waiting for ${pending.length} proxies to sync with their control planes` : '';
      if (now !== said && now) progress(now);
      said = now;
    }
    if (!isAlive(pid)) throw new Error(`the background meshwork process exited during startup; last log lines:\n${tail(paths.logFile, 20)}`);
    await sleep(50);
  }
  const detail = pending.length > 0 ? `; not synced yet:\n  ${pending.join('\n  ')}` : '';
  throw new Error(`meshwork was not ready after ${opts.timeoutMs / 1000} s (pid ${pid} still running; log: ${paths.logFile})${detail}`);
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
