// xDS scale: how fast the control plane gets a config change to every connected sidecar, and what it costs.
// A separate process simulates N Envoy sidecars (one ADS stream and connection each, ACKing everything);
// this process runs the real ProxyPusher -> SnapshotCache -> ADS server path over a synthetic mesh of
// S services with E endpoints each over two clusters. Per (N, S): time to connect and receive full config;
// 3 weight changes (VirtualService 80/20 -> 70/30 -> 60/40 -> 50/50: every proxy's RDS changes) and
// 3 endpoint additions (one pod added to one service), each timed from the start of the push until every
// stream has ACKed; the xDS types and bytes pushed per stream; this process's CPU seconds and RSS.
// Prints a table; writes bench/results/xds-scale[-ns<K>][-sidecars][-delta].json.
// Run: npm run bench:xds
// Knobs (environment): N_LIST (100,1000,2000), S_LIST (100,1000), E (2), CHANGES (3), CASE_TIMEOUT_S (300),
// DEADLINE_S (1200): the whole run stops by itself after that (no new case or step starts).
// CASES (e.g. "100x100,1000x100"): explicit NxS pairs instead of the N_LIST x S_LIST grid.
// By default the simulated sidecars live in namespace `sample` of two clusters with the same config: one
// translation scope, so a push translates and encodes once and then hands every stream what changed for it.
// NAMESPACES=K spreads services and sidecars over K namespaces; SIDECARS=1 gives every namespace a Sidecar
// (egress ./*, istio-system/* and the first service of the next three namespaces: bench/lib/xds-mesh.ts),
// so a change to one service reaches only the proxies whose Sidecar imports it. DELTA=1: the simulated
// sidecars use incremental xDS (DeltaAggregatedResources) instead of SotW.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTable } from '../src/mesh-cli/output.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { StaticControlPlane, type PushTiming } from './lib/xds-control-plane.js';
import { nowMs, type LoadgenConfig, type LoadgenMessage, type StreamEvent } from './lib/xds-loadgen.js';
import { buildMesh, sidecarNode, type MeshSpec } from './lib/xds-mesh.js';
import { cpuSeconds } from './lib/procstat.js';

const list = (v: string | undefined, dflt: number[]): number[] => (v ? v.split(',').map((s) => Number(s.trim())).filter((n) => n > 0) : dflt);
const N_LIST = list(process.env.N_LIST, [100, 1000, 2000]);
const S_LIST = list(process.env.S_LIST, [100, 1000]);
const CASES: Array<[number, number]> = process.env.CASES
  ? process.env.CASES.split(',').map((c) => {
      const [n, s] = c.trim().split('x').map(Number);
      if (!(n > 0 && s > 0)) throw new Error(`CASES: '${c}' is not NxS`);
      return [n, s];
    })
  : S_LIST.flatMap((s) => N_LIST.map((n): [number, number] => [n, s]));
const E = Number(process.env.E ?? 2);
const NAMESPACES = Number(process.env.NAMESPACES ?? 0);
const SIDECARS = process.env.SIDECARS === '1';
const DELTA = process.env.DELTA === '1';
if (SIDECARS && !(NAMESPACES > 0)) throw new Error('SIDECARS=1 needs NAMESPACES=K (K > 0): a Sidecar per namespace');
const CHANGES = Number(process.env.CHANGES ?? 3);
const CASE_TIMEOUT_MS = Number(process.env.CASE_TIMEOUT_S ?? 300) * 1000;
const DEADLINE_MS = Number(process.env.DEADLINE_S ?? 1200) * 1000;
/** A step is over once every stream has ACKed something and nothing more arrived for this long. */
const QUIET_MS = 300;
const HOST = '127.0.0.1';

interface StepResult {
  kind: 'weight' | 'endpoint';
  /** Per stream: last ACK of the step minus push start, ms. */
  latenciesMs: number[];
  push: PushTiming;
  /** Push start until the last proxy's snapshot was set (pushes run in batches, interleaved with the writes). */
  pushLoopMs: number;
  /** xDS types received per stream, e.g. {RDS: 100}. */
  types: Record<string, number>;
  bytes: number;
  /** Resources carried by all responses of the step (SotW resends every subscribed resource of a changed type). */
  resources: number;
  responses: number;
  streamsDone: number;
  /** Streams whose config changed (what must reach them). */
  affected: number;
  /** Streams that received anything during the step. */
  received: number;
  timedOut: boolean;
}

interface CaseResult {
  proxies: number;
  services: number;
  endpointsPerService: number;
  connectMs: number;
  initialBytesPerStream: number;
  initialResourcesPerStream: number;
  steps: StepResult[];
  cpSeconds: number;
  cpRssPeakMiB: number;
  cpHeapPeakMiB: number;
  loadgenCpuSeconds: number;
  server: { responses: number; acks: number; nacks: number };
  streamErrors: string[];
  pushErrors: number;
  error?: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

class Loadgen {
  readonly events: StreamEvent[] = [];
  readonly errors: string[] = [];
  opened = false;
  private exited = false;
  private readonly exit: Promise<void>;
  lastEventAt = 0;

  constructor(readonly child: ChildProcess) {
    child.on('message', (m: LoadgenMessage) => {
      if (m.t === 'events') {
        for (const e of m.events) this.events.push(e);
        this.lastEventAt = nowMs();
      } else if (m.t === 'opened') this.opened = true;
      else if (m.t === 'stream-error' && this.errors.length < 50) this.errors.push(m.message);
    });
    let err = '';
    child.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4096)));
    this.exit = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exited = true;
        if (code !== 0 && code !== null) this.errors.push(`loadgen exited with code ${code}: ${err}`);
        resolve();
      }),
    );
  }

  get alive(): boolean {
    return !this.exited;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const pid = this.child.pid;
    if (pid === undefined) return;
    if (this.child.connected) this.child.send('stop');
    const done = await Promise.race([this.exit.then(() => true), sleep(3000).then(() => false)]);
    if (!done && !this.exited) {
      process.kill(pid, 'SIGKILL');
      await this.exit;
    }
  }
}

function startLoadgen(cfg: LoadgenConfig): Loadgen {
  const main = fileURLToPath(new URL('./lib/xds-loadgen-main' + extname(fileURLToPath(import.meta.url)), import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, main, JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  if (child.pid === undefined) throw new Error('could not start the xDS load generator');
  return new Loadgen(child);
}

async function until(what: string, deadline: number, check: () => boolean, lg: Loadgen): Promise<boolean> {
  while (!check()) {
    if (!lg.alive) throw new Error(`load generator died while waiting for ${what}: ${lg.errors.join('; ')}`);
    if (nowMs() > deadline) return false;
    await sleep(10);
  }
  return true;
}

const runDeadline = nowMs() + DEADLINE_MS;
const stepTimeout = (): number => Math.min(runDeadline, nowMs() + CASE_TIMEOUT_MS);

async function runStep(kind: StepResult['kind'], cp: StaticControlPlane, lg: Loadgen, n: number, spec: MeshSpec): Promise<StepResult> {
  const from = lg.events.length;
  const t0 = nowMs();
  const push = await cp.setMesh(buildMesh(spec));
  const pushLoopMs = nowMs() - t0;
  const deadline = stepTimeout();
  // Per stream: the types whose content changed for its node must each arrive (and be ACKed).
  const expected = Array.from({ length: n }, (_, i) => push.changedTypes.get(sidecarNode(i, NAMESPACES).id) ?? new Set<string>());
  const received = Array.from({ length: n }, () => new Set<string>());
  const done = new Map<number, number>();
  let scanned = from;
  let complete = 0;
  const scan = (): void => {
    for (; scanned < lg.events.length; scanned++) {
      const e = lg.events[scanned];
      done.set(e.stream, Math.max(done.get(e.stream) ?? 0, e.ackAt));
      received[e.stream]?.add(e.type);
    }
    complete = 0;
    for (let i = 0; i < n; i++) if ([...expected[i]].every((t) => received[i].has(t))) complete++;
  };
  // Then a quiet period, so anything pushed beyond what changed is counted too.
  const ok = await until(`${kind} change`, deadline, () => {
    scan();
    return complete >= n && nowMs() - lg.lastEventAt >= QUIET_MS;
  }, lg);
  scan();
  const types: Record<string, number> = {};
  let bytes = 0;
  let resources = 0;
  const stepEvents = lg.events.slice(from);
  for (const e of stepEvents) {
    types[e.type] = (types[e.type] ?? 0) + 1;
    bytes += e.bytes;
    resources += e.resources;
  }
  return {
    kind,
    latenciesMs: [...done.values()].map((at) => at - t0),
    push,
    pushLoopMs,
    types,
    bytes,
    resources,
    responses: stepEvents.length,
    streamsDone: complete,
    affected: expected.filter((types) => types.size > 0).length,
    received: new Set(stepEvents.map((e) => e.stream)).size,
    timedOut: !ok,
  };
}

async function runCase(n: number, s: number): Promise<CaseResult> {
  const spec: MeshSpec = { services: s, endpointsPerService: E, weightV1: 80, extraEndpoints: 0, namespaces: NAMESPACES, sidecars: SIDECARS };
  const cp = new StaticControlPlane(buildMesh(spec));
  const result: CaseResult = {
    proxies: n, services: s, endpointsPerService: E, connectMs: NaN, initialBytesPerStream: NaN, initialResourcesPerStream: NaN,
    steps: [], cpSeconds: NaN, cpRssPeakMiB: NaN, cpHeapPeakMiB: NaN, loadgenCpuSeconds: NaN, server: { responses: 0, acks: 0, nacks: 0 },
    streamErrors: [], pushErrors: 0,
  };
  let rssPeak = 0;
  let heapPeak = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
  };
  const sampler = setInterval(sample, 100);
  const cpu0 = process.cpuUsage();
  let lg: Loadgen | undefined;
  try {
    const port = await cp.start(HOST);
    const t0 = nowMs();
    lg = startLoadgen({ host: HOST, port, proxies: n, openBatch: 50, namespaces: NAMESPACES, delta: DELTA });
    const loadgen = lg;
    // Connected: every stream has ACKed all four types.
    const seen = new Map<number, Set<string>>();
    let scanned = 0;
    const ok = await until('initial config', stepTimeout(), () => {
      for (; scanned < loadgen.events.length; scanned++) {
        const e = loadgen.events[scanned];
        let set = seen.get(e.stream);
        if (!set) seen.set(e.stream, (set = new Set()));
        set.add(e.type);
      }
      let complete = 0;
      for (const set of seen.values()) if (set.size >= 4) complete++;
      return complete >= n && nowMs() - loadgen.lastEventAt >= QUIET_MS;
    }, loadgen);
    if (!ok) throw new Error(`only ${[...seen.values()].filter((x) => x.size >= 4).length}/${n} streams got LDS+RDS+CDS+EDS within the timeout`);
    const initial = loadgen.events.slice(0);
    result.connectMs = Math.max(...initial.map((e) => e.ackAt)) - t0;
    result.initialBytesPerStream = initial.reduce((a, e) => a + e.bytes, 0) / n;
    result.initialResourcesPerStream = initial.reduce((a, e) => a + e.resources, 0) / n;
    process.stderr.write(`  N=${n} S=${s}: connected in ${result.connectMs.toFixed(0)} ms\n`);

    const pastDeadline = (): boolean => {
      if (nowMs() <= runDeadline) return false;
      result.error = 'run deadline reached: remaining changes skipped';
      return true;
    };
    for (let c = 1; c <= CHANGES && !pastDeadline(); c++) {
      spec.weightV1 = 80 - 10 * c;
      const step = await runStep('weight', cp, loadgen, n, spec);
      result.steps.push(step);
      process.stderr.write(`  weight ${spec.weightV1}/${100 - spec.weightV1}: ${step.streamsDone}/${n} ACKed, ${step.received} received, ${step.affected} affected, max ${Math.max(...step.latenciesMs).toFixed(0)} ms\n`);
      if (step.timedOut) break;
    }
    for (let c = 1; c <= CHANGES && !pastDeadline(); c++) {
      spec.extraEndpoints = c;
      const step = await runStep('endpoint', cp, loadgen, n, spec);
      result.steps.push(step);
      process.stderr.write(`  endpoint +${c}: ${step.streamsDone}/${n} ACKed, ${step.received} received, ${step.affected} affected, max ${Math.max(...step.latenciesMs).toFixed(0)} ms\n`);
      if (step.timedOut) break;
    }
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    process.stderr.write(`  N=${n} S=${s} failed: ${result.error}\n`);
  } finally {
    sample();
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpu0);
    result.cpSeconds = (cpu.user + cpu.system) / 1e6;
    result.cpRssPeakMiB = rssPeak / 2 ** 20;
    result.cpHeapPeakMiB = heapPeak / 2 ** 20;
    result.server = cp.counters();
    result.pushErrors = cp.errors;
    if (lg) {
      try {
        if (lg.alive && lg.child.pid !== undefined) result.loadgenCpuSeconds = cpuSeconds(lg.child.pid);
      } catch (err) {
        process.stderr.write(`  reading load generator CPU failed: ${(err as Error).message}\n`);
      }
      await lg.stop();
      result.streamErrors = lg.errors;
    }
    await cp.stop();
    if (cp.errors > 0) process.stderr.write(`  ${cp.errors} push errors, first: ${cp.log.find((l) => l.startsWith('push')) ?? '-'}\n`);
  }
  return result;
}

const results: CaseResult[] = [];
for (const [n, s] of CASES) {
  if (nowMs() > runDeadline) {
    process.stderr.write(`deadline reached: skipping N=${n} S=${s}\n`);
    continue;
  }
  process.stderr.write(`N=${n} proxies, S=${s} services x ${E} endpoints ...\n`);
  results.push(await runCase(n, s));
}

const fmt = (v: number, digits = 0): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const rows: string[][] = [];
for (const r of results) {
  for (const kind of ['weight', 'endpoint'] as const) {
    const steps = r.steps.filter((st) => st.kind === kind);
    const lat = steps.flatMap((st) => st.latenciesMs).sort((a, b) => a - b);
    const types: Record<string, number> = {};
    for (const st of steps) for (const [t, c] of Object.entries(st.types)) types[t] = (types[t] ?? 0) + c;
    const perStreamChange = steps.length * r.proxies;
    const affected = steps.length ? Math.max(...steps.map((st) => st.affected)) : NaN;
    const received = steps.length ? Math.max(...steps.map((st) => st.received)) : NaN;
    // Per stream that received anything: what one affected proxy gets.
    const receivedStreams = steps.reduce((a, st) => a + st.received, 0);
    const typeText = Object.entries(types).sort().map(([t, c]) => `${t}x${fmt(c / perStreamChange, c % perStreamChange ? 2 : 0)}`).join(' ');
    const bytes = steps.reduce((a, st) => a + st.bytes, 0);
    const resources = steps.reduce((a, st) => a + st.resources, 0);
    const loop = steps.length ? steps.reduce((a, st) => a + st.pushLoopMs, 0) / steps.length : NaN;
    const incomplete = steps.some((st) => st.timedOut) ? ' (TIMEOUT)' : '';
    rows.push([
      String(r.proxies),
      String(r.services),
      kind + incomplete,
      r.error && steps.length === 0 ? `error: ${r.error.slice(0, 60)}` : `${steps.length}`,
      fmt(percentile(lat, 50)),
      fmt(percentile(lat, 99)),
      fmt(lat.length ? lat[lat.length - 1] : NaN),
      fmt(loop),
      typeText || '-',
      `${fmt(affected)}/${fmt(received)}`,
      fmt(receivedStreams ? resources / receivedStreams : NaN),
      fmt(receivedStreams ? bytes / receivedStreams / 1024 : NaN, 1),
      fmt(bytes / 2 ** 20, 1),
      fmt(r.connectMs),
      fmt(r.initialBytesPerStream / 1024, 0),
      fmt(r.cpSeconds, 1),
      fmt(r.cpRssPeakMiB),
    ]);
  }
}
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
process.stdout.write(
  `xDS scale: N simulated sidecars (one ADS connection each, ACK everything) vs the real translate -> cache -> ADS server; ` +
    `S services x ${E} endpoints over 2 clusters; latency = push start -> last stream's ACK, over ${CHANGES} changes (${machine}); ` +
    `${DELTA ? 'delta' : 'SotW'} ADS; ${NAMESPACES > 0 ? `${NAMESPACES} namespaces` : 'one namespace'}${SIDECARS ? ', a Sidecar in each' : ', no Sidecars'}\n` +
    `AFFECTED/RECEIVED: streams whose config changed / streams that received anything; RES and KIB per receiving stream\n\n`,
);
process.stdout.write(
  formatTable(
    ['N', 'S', 'CHANGE', 'RUNS', 'P50 MS', 'P99 MS', 'MAX MS', 'PUSH LOOP MS', 'TYPES/STREAM', 'AFFECTED/RECEIVED', 'RES/STREAM', 'KIB/STREAM', 'MIB TOTAL', 'CONNECT MS', 'INIT KIB/STREAM', 'CP CPU S', 'CP RSS MIB'],
    rows,
  ) + '\n',
);
for (const r of results) {
  if (r.error) process.stdout.write(`N=${r.proxies} S=${r.services}: ${r.error}\n`);
  if (r.streamErrors.length) process.stdout.write(`N=${r.proxies} S=${r.services}: ${r.streamErrors.length} stream errors, first: ${r.streamErrors[0]}\n`);
  if (r.server.nacks || r.pushErrors) process.stdout.write(`N=${r.proxies} S=${r.services}: ${r.server.nacks} NACKs, ${r.pushErrors} push errors\n`);
}
mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
const summary = results.map((r) => ({
  ...r,
  steps: r.steps.map((st) => {
    const lat = [...st.latenciesMs].sort((a, b) => a - b);
    const { latenciesMs: _all, ...rest } = st;
    return { ...rest, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: lat[lat.length - 1] ?? NaN };
  }),
}));
writeFileSync(
  join(REPO_ROOT, 'bench', 'results', `xds-scale${NAMESPACES > 0 ? `-ns${NAMESPACES}` : ''}${SIDECARS ? '-sidecars' : ''}${DELTA ? '-delta' : ''}.json`),
  JSON.stringify({ machine, at: new Date().toISOString(), endpointsPerService: E, changes: CHANGES, quietMs: QUIET_MS, namespaces: NAMESPACES, sidecars: SIDECARS, delta: DELTA, cases: summary }, null, 2) + '\n',
);
if (results.some((r) => r.error || r.steps.some((st) => st.timedOut))) process.exitCode = 1;
