// The two load shapes every benchmark uses: wrk at fixed concurrency (max throughput) and the
// fixed-rate open-loop client (latency at a given rate), each in its own process, optionally pinned.
import { execFile } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FixedRateConfig, FixedRateResult } from './fixed-rate-client.js';
import { pinned } from './peers.js';

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const CLIENT_MAIN = fileURLToPath(new URL('./fixed-rate-main' + extname(fileURLToPath(import.meta.url)), import.meta.url));

/** Runs the fixed-rate client in a child process (tsx or compiled alike) and returns its result. */
export async function fixedRate(cfg: FixedRateConfig, cpu?: number): Promise<FixedRateResult> {
  const cmd = pinned(cpu, process.execPath, [...process.execArgv, CLIENT_MAIN, JSON.stringify(cfg)]);
  const out = await run(cmd.command, cmd.args, (cfg.warmupS + cfg.durationS) * 1000 + cfg.timeoutMs + 15_000);
  return JSON.parse(out) as FixedRateResult;
}

export interface WrkResult {
  rps: number;
  requests: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

/** Parses wrk's --latency report. */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  if (!rps || !requests) throw new Error(`cannot read wrk's report:\n${out}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  return {
    rps: Number(rps[1]),
    requests: Number(requests[1]),
    errors: (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
  };
}

/** wrk with one thread and `connections` keep-alive connections for `seconds`. */
export async function wrk(wrkPath: string, url: string, opts: { connections: number; seconds: number; cpu?: number }): Promise<WrkResult> {
  const cmd = pinned(opts.cpu, wrkPath, ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--latency', url]);
  return parseWrk(await run(cmd.command, cmd.args, opts.seconds * 1000 + 20_000));
}
