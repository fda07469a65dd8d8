// An open-loop HTTP/1.1 load generator: sends GETs at a fixed rate over keep-alive connections,
// whatever the answers' latency (wrk2's model; wrk2 is not packaged by Debian). Runs in its own process
// (pinned to a core by the caller) so its event loop does not share the bench's.
//
// The process entry is fixed-rate-main.ts; load.ts starts it.
// Latency counts from the moment the request is handed to the connection pool: waiting for a free
// connection counts, the timer loop's own wake-up delay (up to ~1 ms with setTimeout) does not.
// `lagP99Ms` reports that delay; the rate is kept by sending every request that is due on each wake-up.
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FixedRateConfig {
  host: string;
  port: number;
  /** Request target: '/path', or an absolute URL to talk to an HTTP proxy in proxy form. */
  path: string;
  /** Host header (default host:port). */
  hostHeader?: string;
  /** Requests per second. */
  rate: number;
  /** Measured seconds, after warmupS unmeasured ones. */
  durationS: number;
  warmupS: number;
  /** Most keep-alive connections open at once. */
  connections: number;
  /** Outstanding requests at the end are counted as timeouts after this long. */
  timeoutMs: number;
}

export interface FixedRateResult {
  rate: number;
  durationS: number;
  sent: number;
  ok: number;
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
  /** Response bodies (first 80 characters) and how often each came back: shows the weighted split. */
  bodies: Record<string, number>;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  lagP99Ms: number;
  firstError?: string;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export async function runFixedRate(cfg: FixedRateConfig): Promise<FixedRateResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.connections, maxFreeSockets: cfg.connections });
  const headers = { host: cfg.hostHeader ?? `${cfg.host}:${cfg.port}` };
  const intervalMs = 1000 / cfg.rate;
  const total = Math.round((cfg.warmupS + cfg.durationS) * cfg.rate);
  const warmupCount = Math.round(cfg.warmupS * cfg.rate);
  const latencies: number[] = [];
  const lags: number[] = [];
  const statuses: Record<string, number> = {};
  const bodies: Record<string, number> = {};
  let sent = 0;
  let ok = 0;
  let errors = 0;
  let outstanding = 0;
  let firstError: string | undefined;

  const one = (measured: boolean): void => {
    outstanding++;
    const sentAt = performance.now();
    const req = http.request({ host: cfg.host, port: cfg.port, path: cfg.path, method: 'GET', headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 80) body += c;
      });
      res.on('end', () => {
        outstanding--;
        if (!measured) return;
        latencies.push(performance.now() - sentAt);
        const code = String(res.statusCode ?? 0);
        statuses[code] = (statuses[code] ?? 0) + 1;
        if (res.statusCode !== undefined && res.statusCode < 400) ok++;
        const key = body.trim().slice(0, 80);
        bodies[key] = (bodies[key] ?? 0) + 1;
      });
    });
    req.on('error', (err) => {
      outstanding--;
      if (!measured) return;
      errors++;
      firstError ??= err.message;
    });
    req.end();
  };

  const start = performance.now();
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && start + next * intervalMs <= now) {
      const due = start + next * intervalMs;
      const measured = next >= warmupCount;
      if (measured) lags.push(now - due);
      one(measured);
      sent++;
      next++;
    }
    // setTimeout(1) wakes within about a millisecond; sends that are due are caught up on wake.
    await sleep(Math.max(0, Math.min(1, start + next * intervalMs - performance.now())));
  }
  const deadline = performance.now() + cfg.timeoutMs;
  while (outstanding > 0 && performance.now() < deadline) await sleep(5);
  const timeouts = outstanding;
  agent.destroy();

  const sorted = Float64Array.from(latencies).sort();
  const sortedLag = Float64Array.from(lags).sort();
  return {
    rate: cfg.rate,
    durationS: cfg.durationS,
    sent: sent - warmupCount,
    ok,
    errors,
    timeouts,
    statuses,
    bodies,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
    meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    lagP99Ms: percentile(sortedLag, 99),
    ...(firstError ? { firstError } : {}),
  };
}
