// Sidecar overhead on the real embedded mesh, per data plane: latency at a fixed rate of GET /hello on a
// helloworld app, measured from this machine with the open-loop client, along
//   (1) direct to the app (its app IP: no sidecar),
//   and for each data plane (the meshwork proxy, Envoy), on a helloworld + sleep pod pair of its own:
//   (2) to the helloworld pod IP (the server sidecar's inbound listener only),
//   (3) through the sleep pod's client sidecar (outbound listener :15001, in HTTP-proxy form) and the
//       helloworld pod's server sidecar: the pair every in-mesh call crosses.
// One mesh carries both pairs: `install --data-plane meshwork` in both clusters, and each pod names its
// data plane with the annotation proxy.meshwork.io/data-plane; every pod of the bench is in cluster-1,
// namespace sample, with Services hello-meshwork and hello-envoy so each pair stays on its own data plane.
// Prints a table; writes bench/results/sidecar.json.
// Run: npm run bench:sidecar. Knobs (environment): BENCH_SECONDS (10), RATES (100,1000), SUBNET_BASE (160),
// DATA_PLANES (meshwork,envoy), READY_TIMEOUT_S (90).
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { DATA_PLANE_ANNOTATION, parseDataPlane, type DataPlaneKind } from '../src/agent/data-plane.js';
import { formatTable } from '../src/mesh-cli/output.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import type { FixedRateConfig, FixedRateResult } from './lib/fixed-rate-client.js';
import { fixedRate } from './lib/load.js';
import { benchCommit } from './lib/commit.js';
import { appIpOf, startMesh, type BenchMesh } from './lib/mesh.js';
import { cpuSeconds } from './lib/procstat.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_S = 2;
const RATES = (process.env.RATES ?? '100,1000').split(',').map(Number).filter((n) => n > 0);
const SUBNET_BASE = Number(process.env.SUBNET_BASE ?? 160);
const DATA_PLANES = (process.env.DATA_PLANES ?? 'meshwork,envoy').split(',').map((s) => parseDataPlane(s, 'DATA_PLANES'));
const READY_TIMEOUT_S = Number(process.env.READY_TIMEOUT_S ?? 90);
const CONTEXT = 'cluster-1';
const NAMESPACE = 'sample';
const say = (line: string): void => void process.stderr.write(`${line}\n`);

/** A helloworld Service + Deployment and a sleep Deployment whose pods run `dataPlane` as their sidecar. */
function workloadYaml(dataPlane: DataPlaneKind): string {
  const podMeta = (app: string): string =>
    `    metadata:\n      labels: {app: ${app}, version: v1}\n      annotations: {${DATA_PLANE_ANNOTATION}: ${dataPlane}}\n`;
  return [
    `apiVersion: v1\nkind: Service\nmetadata: {name: hello-${dataPlane}, labels: {app: hello-${dataPlane}}}\n` +
      `spec:\n  ports: [{port: 5000, name: http}]\n  selector: {app: hello-${dataPlane}}\n`,
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hello-${dataPlane}}\nspec:\n  replicas: 1\n` +
      `  selector: {matchLabels: {app: hello-${dataPlane}}}\n  template:\n${podMeta(`hello-${dataPlane}`)}` +
      `    spec:\n      containers:\n      - name: helloworld\n        image: docker.io/istio/examples-helloworld-v1\n        ports: [{containerPort: 5000}]\n`,
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: sleep-${dataPlane}}\nspec:\n  replicas: 1\n` +
      `  selector: {matchLabels: {app: sleep-${dataPlane}}}\n  template:\n${podMeta(`sleep-${dataPlane}`)}` +
      `    spec:\n      containers:\n      - name: sleep\n        image: curlimages/curl\n        command: ["/bin/sleep", "infinity"]\n`,
  ].join('---\n');
}

async function deployWorkloads(mesh: BenchMesh): Promise<void> {
  await mesh.kubectl(CONTEXT, 'create', 'namespace', NAMESPACE);
  await mesh.kubectl(CONTEXT, 'label', 'namespace', NAMESPACE, 'istio.io/rev=asm-managed-stable');
  for (const dp of DATA_PLANES) {
    const file = join(mesh.stateDir, `bench-${dp}.yaml`);
    writeFileSync(file, workloadYaml(dp));
    say(`mesh: ${CONTEXT}: hello-${dp} and sleep-${dp} with annotation ${DATA_PLANE_ANNOTATION}: ${dp}`);
    await mesh.kubectl(CONTEXT, 'apply', '-n', NAMESPACE, '-f', file);
  }
}

interface Pair {
  dataPlane: DataPlaneKind;
  helloIp?: string;
  sleepIp?: string;
  /** What each pod's agent says it runs (istio_agent_data_plane_info on its status port). */
  runs?: { hello: string; sleep: string };
  /** Why this pair is not measured. */
  failure?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until app=hello-<dp> and app=sleep-<dp> each have a Ready pod with an istio-proxy container; the reason otherwise. */
async function waitPair(mesh: BenchMesh, dp: DataPlaneKind, deadline: number): Promise<Pair> {
  let last = '';
  for (;;) {
    last = await mesh.kubectl(CONTEXT, 'get', 'pods', '-n', NAMESPACE, '-l', `app in (hello-${dp},sleep-${dp})`, '-o',
      'jsonpath={range .items[*]}{.metadata.name}|{.metadata.labels.app}|{.status.phase}|{.status.podIP}|{.status.conditions[?(@.type=="Ready")].status}|{range .spec.containers[*]}{.name},{end}{"\\n"}{end}');
    const pods = last.trim().split('\n').filter(Boolean).map((l) => l.split('|'));
    const ready = (app: string) => pods.find((p) => p[1] === app && p[2] === 'Running' && p[4] === 'True' && p[5]?.includes('istio-proxy'));
    const hello = ready(`hello-${dp}`);
    const sleepPod = ready(`sleep-${dp}`);
    if (hello && sleepPod) return { dataPlane: dp, helloIp: hello[3], sleepIp: sleepPod[3] };
    if (Date.now() > deadline) {
      const logs: string[] = [];
      for (const p of pods) {
        const tail = await mesh.kubectl(CONTEXT, 'logs', '-n', NAMESPACE, p[0]!, '-c', 'istio-proxy', '--tail', '15').catch((err: Error) => `(no log: ${err.message.split('\n')[0]})`);
        logs.push(`--- ${p[0]} istio-proxy log (last 15 lines):\n${tail.trimEnd()}`);
      }
      return { dataPlane: dp, failure: `pods not Ready with a sidecar after ${READY_TIMEOUT_S} s:\n${last.trimEnd()}\n${logs.join('\n')}` };
    }
    await sleep(500);
  }
}

/** The data plane a pod's agent reports on its status port, e.g. "envoy (envoy 1.40.0)". */
async function runsOn(podIp: string): Promise<string> {
  try {
    const res = await fetch(`http://${podIp}:15021/stats/prometheus`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const m = /istio_agent_data_plane_info\{kind="([^"]+)",version="([^"]+)"\}/.exec(text);
    return m ? `${m[1]} (${m[2]})` : `unknown (status ${res.status}, no istio_agent_data_plane_info)`;
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  }
}

/** The PID of the process listening on ip:port (the sidecar's data plane: Envoy, or the agent running the meshwork proxy). */
function listenerPid(ip: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile('ss', ['-Hltnp', 'src', `${ip}:${port}`], { encoding: 'utf8', timeout: 5000 }, (err, out) => {
      const m = err ? null : /pid=(\d+)/.exec(out);
      resolve(m ? Number(m[1]) : undefined);
    });
  });
}

interface Row {
  rate: number;
  path: string;
  dataPlane?: DataPlaneKind;
  target: string;
  result?: FixedRateResult;
  /** CPU seconds per second of the sidecar data-plane processes on this path during the run (warm-up included). */
  sidecarCpu?: number;
  /** The processes counted in sidecarCpu. */
  sidecarPids?: number[];
  skipped?: string;
}

const rows: Row[] = [];
const pairs: Pair[] = [];
const load0 = loadavg();
const commit = benchCommit();
const mesh = await startMesh(SUBNET_BASE, say, { installArgs: ['--data-plane', 'meshwork'], workloads: deployWorkloads });
try {
  const deadline = Date.now() + READY_TIMEOUT_S * 1000;
  for (const dp of DATA_PLANES) {
    say(`mesh: waiting for hello-${dp} and sleep-${dp} (with sidecars) to be Ready`);
    const pair = await waitPair(mesh, dp, deadline);
    if (pair.helloIp && pair.sleepIp) {
      pair.runs = { hello: await runsOn(pair.helloIp), sleep: await runsOn(pair.sleepIp) };
      if (!pair.runs.hello.startsWith(`${dp} `) || !pair.runs.sleep.startsWith(`${dp} `)) {
        pair.failure = `asked for ${dp}, the agents run: hello ${pair.runs.hello}, sleep ${pair.runs.sleep}`;
      }
    }
    if (pair.failure) say(`${dp} pair: NOT MEASURED: ${pair.failure}`);
    else say(`${dp} pair: hello ${pair.helloIp} runs ${pair.runs!.hello}; sleep ${pair.sleepIp} runs ${pair.runs!.sleep}`);
    pairs.push(pair);
  }
  const appHost = pairs.find((p) => p.helloIp)?.helloIp;
  if (!appHost) throw new Error(`no helloworld pod is Running:\n${pairs.map((p) => p.failure).join('\n')}`);
  const base = { durationS: SECONDS, warmupS: WARMUP_S, connections: 64, timeoutMs: 5000 };
  type Target = { path: string; dataPlane?: DataPlaneKind; cfg?: Omit<FixedRateConfig, keyof typeof base | 'rate'>; sidecars: Array<[string, number]>; skipped?: string };
  const targets: Target[] = [{ path: 'direct to the app (no sidecar)', cfg: { host: appIpOf(appHost), port: 5000, path: '/hello' }, sidecars: [] }];
  for (const p of pairs) {
    const host = `hello-${p.dataPlane}.${NAMESPACE}:5000`;
    const skipped = p.failure ? `${p.dataPlane} pods not usable` : undefined;
    targets.push({
      path: `${p.dataPlane}: server sidecar (pod IP)`,
      dataPlane: p.dataPlane,
      ...(p.helloIp ? { cfg: { host: p.helloIp, port: 5000, path: '/hello', hostHeader: host } } : {}),
      sidecars: p.helloIp ? [[p.helloIp, 5000]] : [],
      ...(skipped ? { skipped } : {}),
    });
    targets.push({
      path: `${p.dataPlane}: client + server sidecar`,
      dataPlane: p.dataPlane,
      ...(p.sleepIp ? { cfg: { host: p.sleepIp, port: 15001, path: `http://${host}/hello`, hostHeader: host } } : {}),
      sidecars: p.sleepIp && p.helloIp ? [[p.sleepIp, 15001], [p.helloIp, 5000]] : [],
      ...(skipped ? { skipped } : {}),
    });
  }
  for (const rate of RATES) {
    for (const t of targets) {
      const target = t.cfg ? `${t.cfg.host}:${t.cfg.port}` : '-';
      if (t.skipped || !t.cfg) {
        rows.push({ rate, path: t.path, target, skipped: t.skipped ?? 'no pod', ...(t.dataPlane ? { dataPlane: t.dataPlane } : {}) });
        continue;
      }
      say(`${t.path}: ${target} ${t.cfg.path}, ${SECONDS} s at ${rate} rps`);
      const pids = (await Promise.all(t.sidecars.map(([ip, port]) => listenerPid(ip, port)))).filter((p): p is number => p !== undefined);
      const cpu = (): number => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
      const c0 = pids.length ? cpu() : 0;
      const t0 = Date.now();
      const result = await fixedRate({ ...base, rate, ...t.cfg });
      const sidecarCpu = pids.length === t.sidecars.length && pids.length > 0 ? (cpu() - c0) / ((Date.now() - t0) / 1000) : undefined;
      rows.push({ rate, path: t.path, target, result, ...(t.dataPlane ? { dataPlane: t.dataPlane } : {}), ...(sidecarCpu !== undefined ? { sidecarCpu, sidecarPids: pids } : {}) });
    }
  }
} finally {
  await mesh.down();
}

const ms = (v: number | undefined): string => (v !== undefined && Number.isFinite(v) ? v.toFixed(2) : '-');
const added = (v: number | undefined, d: number | undefined): string =>
  v !== undefined && d !== undefined && Number.isFinite(v) && Number.isFinite(d) ? `${v - d >= 0 ? '+' : ''}${(v - d).toFixed(2)}` : '-';
/** "v1 hello-envoy:1000": the version and the Deployment of the pods that answered. */
const answeredBy = (r: FixedRateResult): string =>
  Object.entries(r.bodies)
    .map(([b, n]) => {
      const m = /version: (v\d+), instance: (\S+)/.exec(b);
      const pod = m?.[2]?.replace(/-[a-z0-9]+-[a-z0-9]+$/, '') ?? '';
      return m ? `${m[1]} ${pod}:${n}` : `${b.slice(0, 24)}:${n}`;
    })
    .join(' ');
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
const load1 = loadavg();
const loads = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' ');
process.stdout.write(
  `Sidecar overhead, ${SECONDS} s per rate and path (open loop, 64 connections), GET /hello on helloworld v1 in ${CONTEXT} ` +
    `(commit ${commit}; ${machine}; load average 1/5/15 min ${loads(load0)} -> ${loads(load1)})\n` +
    `ADDED = minus the direct path at the same rate. SIDECAR CPU = CPU seconds per second of the path's sidecar data-plane processes ` +
    `(Envoy; the agent process running the meshwork proxy). CLIENT LAG P99 = how late the load client's own timer woke (ms): ` +
    `a high value means the machine starved the client, and that row's latency is the machine's too. Access log: on in the meshwork proxy (the agent's default); ` +
    `Envoy's is what the control plane's listeners configure.\n\n`,
);
process.stdout.write(
  formatTable(
    ['RPS', 'PATH', 'OK/SENT', 'NOT OK', 'P50 MS', 'P90 MS', 'P99 MS', 'ADDED P50', 'ADDED P90', 'ADDED P99', 'SIDECAR CPU', 'CLIENT LAG P99', 'ANSWERED BY'],
    rows.map(({ rate, path, result: r, sidecarCpu, skipped }) => {
      const direct = rows.find((d) => d.rate === rate && !d.dataPlane)?.result;
      if (!r) return [String(rate), path, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', `NOT MEASURED: ${skipped ?? ''}`];
      return [
        String(rate),
        path,
        `${r.ok}/${r.sent}`,
        String(r.sent - r.ok),
        ms(r.p50Ms),
        ms(r.p90Ms),
        ms(r.p99Ms),
        added(r.p50Ms, direct?.p50Ms),
        added(r.p90Ms, direct?.p90Ms),
        added(r.p99Ms, direct?.p99Ms),
        sidecarCpu !== undefined ? `${(100 * sidecarCpu).toFixed(0)}%` : '-',
        ms(r.lagP99Ms),
        answeredBy(r),
      ];
    }),
  ) + '\n',
);
for (const r of rows) {
  if (r.result && r.result.ok < r.result.sent) {
    process.stdout.write(`\n${r.rate} rps, ${r.path}: ${r.result.sent - r.result.ok} not OK (statuses ${JSON.stringify(r.result.statuses)}, ${r.result.timeouts} unanswered)${r.result.firstError ? `, first error: ${r.result.firstError}` : ''}`);
  }
}
for (const p of pairs) if (p.failure) process.stdout.write(`\n${p.dataPlane} pair not measured: ${p.failure}\n`);
process.stdout.write('\n');
mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(REPO_ROOT, 'bench', 'results', 'sidecar.json'),
  JSON.stringify({ machine, commit, at: new Date().toISOString(), seconds: SECONDS, rates: RATES, loadavg: [load0, load1], pairs, rows }, null, 2) + '\n',
);
