// Bounded request loops for the chaos suite: one inside a pod (real curl through the pod's sidecar,
// keep-alive batches until a deadline) and one from the host (sequential fetches with timestamps), and
// the figures a disruption is judged by.
import { setTimeout as sleep } from 'node:timers/promises';
import type { MeshworkEnv } from './meshwork.js';

export interface Outcome {
  /** HTTP status, 0 when no response came (connection error, timeout). */
  status: number;
  body: string;
  /** ms, as curl's time_total or the host's clock. */
  ms: number;
  /** When the request started (host clock, ms since the epoch); only for host loops. */
  at?: number;
  /** The gateway the MCI edge chose (x-meshwork-edge-backend), for host loops against a VIP. */
  backend?: string;
}

export interface LoadRun {
  outcomes: Outcome[];
  startedAt: number;
  endedAt: number;
}

export interface LoadFigures {
  requests: number;
  failures: number;
  /** The slowest request: what retries and reconnects cost a client. */
  maxMs: number;
}

export function figures(run: LoadRun): LoadFigures {
  return {
    requests: run.outcomes.length,
    failures: run.outcomes.filter((o) => o.status !== 200).length,
    maxMs: Math.round(Math.max(0, ...run.outcomes.map((o) => o.ms))),
  };
}

/** How curl's -w marks the end of each transfer (bodies end with a newline or get one first). */
const TRANSFER_END = /^(\d{3}) ([\d.]+)$/;

export function parseCurlTransfers(text: string): Outcome[] {
  const out: Outcome[] = [];
  let body: string[] = [];
  for (const line of text.split('\n')) {
    const end = TRANSFER_END.exec(line);
    if (end) {
      out.push({ status: Number(end[1]), body: body.join('\n').trim(), ms: Number(end[2]) * 1000 });
      body = [];
    } else if (line !== '') {
      body.push(line);
    }
  }
  return out;
}

/**
 * GETs of `url` from the pod's `container` (curl batches of `batch` keep-alive requests, each through
 * the pod's sidecar) until `stop()` is called, `seconds` have passed or `maxRequests` were sent.
 * `stop()` ends the loop from a second exec (a stop file in the pod), so it works on any cluster.
 */
export function podLoad(
  env: MeshworkEnv,
  where: { context: string; namespace: string; pod: string; container: string },
  url: string,
  bounds: { seconds: number; maxRequests: number; batch?: number },
): { stop(): Promise<LoadRun>; done: Promise<LoadRun> } {
  const batch = bounds.batch ?? 200;
  const maxBatches = Math.ceil(bounds.maxRequests / batch);
  const urls = Array.from({ length: batch }, () => url).join(' ');
  const stopFile = `/tmp/meshwork-load-stop-${process.pid}-${Date.now()}`;
  const script = [
    `end=$(( $(date +%s) + ${bounds.seconds} )); n=0`,
    `while [ "$(date +%s)" -lt "$end" ] && [ "$n" -lt ${maxBatches} ] && [ ! -e ${stopFile} ]; do`,
    `  curl -s -m 5 -w '\\n%{http_code} %{time_total}\\n' ${urls}`,
    '  n=$((n+1))',
    'done',
    `rm -f ${stopFile}; exit 0`,
  ].join('\n');
  const exec = (args: string[]) => env.kubectl(where.context, ['exec', '-n', where.namespace, where.pod, '-c', where.container, '--', ...args]);
  const startedAt = Date.now();
  const done = exec(['sh', '-c', script]).then((res): LoadRun => {
    const endedAt = Date.now();
    if (res.code !== 0) throw new Error(`the request loop in ${where.context}/${where.pod} failed (${res.code}): ${res.stderr}`);
    return { outcomes: parseCurlTransfers(res.stdout), startedAt, endedAt };
  });
  return {
    done,
    async stop() {
      const res = await exec(['touch', stopFile]);
      if (res.code !== 0) throw new Error(`cannot stop the request loop in ${where.context}/${where.pod}: ${res.stderr}`);
      return done;
    },
  };
}

/** GETs of `url` from the host, `concurrency` at a time, until `stop()` is called or `maxMs` has passed. */
export function hostLoad(url: string, maxMs: number, concurrency = 1): { stop(): Promise<LoadRun> } {
  const outcomes: Outcome[] = [];
  const startedAt = Date.now();
  let stopped = false;
  const worker = async () => {
    while (!stopped && Date.now() - startedAt < maxMs) {
      const at = Date.now();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        const body = await res.text();
        outcomes.push({ at, status: res.status, body, ms: Date.now() - at, backend: res.headers.get('x-meshwork-edge-backend') ?? '' });
      } catch (err) {
        outcomes.push({ at, status: 0, body: String(err), ms: Date.now() - at });
        await sleep(5);
      }
    }
  };
  const workers = Promise.all(Array.from({ length: concurrency }, worker));
  return {
    async stop() {
      stopped = true;
      await workers;
      return { outcomes: outcomes.sort((a, b) => (a.at ?? 0) - (b.at ?? 0)), startedAt, endedAt: Date.now() };
    },
  };
}

/**
 * For a disruption at `t0`: the longest run of consecutive failed requests (from its first failure to
 * the next success) and the time from `t0` to the last failure (0 when nothing failed).
 */
export function failover(run: LoadRun, t0: number): { longestOutageMs: number; lastFailureAfterMs: number } {
  let longest = 0;
  let runStart: number | undefined;
  let lastFailure: number | undefined;
  for (const o of run.outcomes) {
    const at = o.at ?? 0;
    if (o.status !== 200) {
      runStart ??= at;
      lastFailure = at + o.ms;
    } else if (runStart !== undefined) {
      longest = Math.max(longest, at - runStart);
      runStart = undefined;
    }
  }
  if (runStart !== undefined) longest = Math.max(longest, run.endedAt - runStart);
  return { longestOutageMs: longest, lastFailureAfterMs: lastFailure === undefined ? 0 : Math.max(0, lastFailure - t0) };
}
