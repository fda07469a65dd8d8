// Proxy throughput and latency: the same 80/20 weighted split over keep-alive through the meshwork proxy
// and Envoy (both configured over ADS by one real xDS server from one snapshot), nginx and HAProxy, and
// straight to one upstream.
// Per peer: max requests/s from wrk at fixed concurrency, the peer's CPU time per request served and its
// CPU utilisation during that run, latency at a fixed rate (open-loop client), memory from /proc.
// Prints two tables; writes bench/results/proxy.json.
// Run: npm run bench:proxy   (peers: apt-get install -y wrk nginx-light haproxy; Envoy: node scripts/ensure-envoy.mjs)
// Knobs (environment): BENCH_SECONDS (10), RATE (1000), CONNECTIONS (64),
// PEERS (meshwork,envoy,nginx,haproxy,direct), PROXY_CPU (0), LOAD_CPU (1), ACCESS_LOG (1; 0 turns the
// meshwork proxy's and Envoy's off, to see what it costs).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { formatTable } from '../src/mesh-cli/output.js';
import { envoyReady } from '../src/envoy/admin.js';
import { envoyBootstrap } from '../src/envoy/bootstrap.js';
import { envoyVersion, locateEnvoy } from '../src/envoy/locate.js';
import { EnvoySupervisor } from '../src/envoy/supervisor.js';
import { edsCluster, httpListener, loadAssignment, routeConfig, weightedRoute } from '../src/proxy/testutil/envoy.js';
import { SnapshotCache } from '../src/xds/cache.js';
import { TYPE_URLS } from '../src/xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../src/xds/server.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { benchCommit } from './lib/commit.js';
import type { FixedRateResult } from './lib/fixed-rate-client.js';
import { fixedRate, wrk, type WrkResult } from './lib/load.js';
import { requirePrograms } from './lib/peers.js';
import { cpuSeconds, memoryMiB } from './lib/procstat.js';
import { freePort, startProcess, stopAll, waitForPort, type BenchProcess } from './lib/procs.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.RATE ?? 1000);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 64);
const PROXY_CPU = Number(process.env.PROXY_CPU ?? 0);
const LOAD_CPU = Number(process.env.LOAD_CPU ?? 1);
const PEERS = (process.env.PEERS ?? 'meshwork,envoy,nginx,haproxy,direct').split(',').map((s) => s.trim()).filter(Boolean);
const ACCESS_LOG = (process.env.ACCESS_LOG ?? '1') !== '0';
const HOST = '127.0.0.1';
const NODE_ID = 'sidecar~127.0.0.1~bench-proxy.bench~bench.svc.cluster.local';
const CLUSTER_A = 'outbound|80|a|upstream.bench.svc.cluster.local';
const CLUSTER_B = 'outbound|80|b|upstream.bench.svc.cluster.local';

const STDOUT_ACCESS_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';

const programs = requirePrograms(['wrk', 'nginx', 'haproxy'], 'bench:proxy needs wrk (load), nginx (upstreams and a peer) and haproxy (a peer)');
const envoy = PEERS.includes('envoy') ? locateEnvoy() : undefined;
if (PEERS.includes('envoy') && !envoy) {
  process.stderr.write('bench:proxy: the envoy peer needs an envoy binary: node scripts/ensure-envoy.mjs (or MESHWORK_ENVOY=path, or PEERS without envoy)\n');
  process.exit(2);
}
const envoyBuild = envoy ? envoyVersion(envoy.path).version : undefined;

interface Row {
  peer: string;
  maxRps: number;
  wrk: WrkResult;
  /** Wall seconds of the wrk run as the bench timed it (wrk's start-up and exit included). */
  maxRunWallS: number;
  /** CPU seconds the peer used during the wrk run (undefined for direct: no proxy). */
  cpuSecondsMax?: number;
  /** The peer's CPU microseconds per request wrk got answered in that run. */
  cpuUsPerRequest?: number;
  /** The peer's CPU seconds per wall second during the wrk run: 1 is one core busy all the time. */
  cpuUtilMax?: number;
  /** The same for the upstream nginx (not pinned): what bounds a peer that is not saturated. */
  upstreamCpuUtilMax: number;
  /** Connections the upstreams accepted during the wrk run: keep-alive to the upstreams holds when this stays small. */
  upstreamConnsMax: number;
  /** CPU share of one core the peer used at the fixed rate. */
  cpuShareAtRate?: number;
  rssMiB?: number;
  peakRssMiB?: number;
  fixed: FixedRateResult;
}

const work = mkdtempSync(join(tmpdir(), 'meshwork-bench-proxy-'));
mkdirSync(join(work, 'tmp'));
const procs: BenchProcess[] = [];

function nginxConf(name: string, http: string): string {
  const file = join(work, `${name}.conf`);
  writeFileSync(
    file,
    `worker_processes 1;\nmaster_process off;\ndaemon off;\npid ${work}/${name}.pid;\nerror_log ${work}/${name}-error.log warn;\n` +
      `events { worker_connections 4096; }\n` +
      `http {\n  access_log off;\n  keepalive_requests 10000000;\n  keepalive_timeout 120s;\n` +
      `  client_body_temp_path ${work}/tmp/body;\n  proxy_temp_path ${work}/tmp/proxy;\n${http}}\n`,
  );
  return file;
}

async function startUpstreams(portA: number, portB: number, portStatus: number): Promise<BenchProcess> {
  const conf = nginxConf(
    'upstreams',
    `  server { listen ${HOST}:${portA}; location / { return 200 "upstream-a\\n"; } }\n` +
      `  server { listen ${HOST}:${portB}; location / { return 200 "upstream-b\\n"; } }\n` +
      `  server { listen ${HOST}:${portStatus}; location / { stub_status; } }\n`,
  );
  // Not pinned: the upstreams take whatever CPU is left, the same for every peer.
  const p = startProcess('upstream nginx', programs.nginx, ['-p', work, '-c', conf]);
  procs.push(p);
  await waitForPort(p, HOST, portA);
  await waitForPort(p, HOST, portB);
  await waitForPort(p, HOST, portStatus);
  return p;
}

/** Connections the upstream nginx has accepted so far (its stub_status), less the ones that asked (one each). */
function upstreamAccepts(portStatus: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // agent: false, a connection of its own: every call is one accept, whatever keep-alive would do.
    const req = httpGet({ host: HOST, port: portStatus, path: '/', agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const m = /accepts handled requests\s+(\d+)/.exec(text);
        if (m) resolve(Number(m[1]) - ++statusRequests);
        else reject(new Error(`upstream stub_status: cannot read accepts from ${JSON.stringify(text)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('upstream stub_status did not answer in 5 s')));
    req.on('error', reject);
  });
}
let statusRequests = 0;

/**
 * The one configuration the xDS-configured peers (meshwork proxy, Envoy) get from the same server: a
 * listener whose HTTP connection manager takes its routes over RDS, every path to two EDS clusters
 * weighted 80/20, one endpoint each. The HCM's stdout access log is what turns Envoy's on; the meshwork
 * proxy's access log is switched on by its process (meshwork-proxy-main.ts), as the agent does in a pod.
 */
function benchSnapshot(port: number, portA: number, portB: number): SnapshotCache {
  const listener = httpListener('bench', HOST, port, 'bench-routes') as { filter_chains: Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }> };
  if (ACCESS_LOG) listener.filter_chains[0]!.filters[0]!.typed_config.access_log = [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': STDOUT_ACCESS_LOG } }];
  const cache = new SnapshotCache();
  cache.setSnapshot(NODE_ID, {
    resources: {
      [TYPE_URLS.listener]: new Map([['bench', listener]]),
      [TYPE_URLS.route]: new Map([
        ['bench-routes', routeConfig('bench-routes', [{ name: 'upstream', domains: ['*'], routes: [weightedRoute({ prefix: '/' }, [[CLUSTER_A, 80], [CLUSTER_B, 20]])] }])],
      ]),
      [TYPE_URLS.cluster]: new Map([[CLUSTER_A, edsCluster(CLUSTER_A)], [CLUSTER_B, edsCluster(CLUSTER_B)]]),
      [TYPE_URLS.endpoint]: new Map([[CLUSTER_A, loadAssignment(CLUSTER_A, [{ port: portA }])], [CLUSTER_B, loadAssignment(CLUSTER_B, [{ port: portB }])]]),
    },
  });
  return cache;
}

async function startMeshworkProxy(xds: RunningXdsServer, port: number): Promise<BenchProcess> {
  const main = fileURLToPath(new URL('./lib/meshwork-proxy-main' + extname(fileURLToPath(import.meta.url)), import.meta.url));
  const proc = startProcess('meshwork proxy', process.execPath, [...process.execArgv, main, `${HOST}:${xds.port}`, NODE_ID, ACCESS_LOG ? 'access-log' : 'no-access-log'], { cpu: PROXY_CPU });
  procs.push(proc);
  await waitForPort(proc, HOST, port, 15_000);
  return proc;
}

/** Envoy as the agent runs it (its bootstrap and command line, one worker thread), pinned like the other peers. */
async function startEnvoy(binary: string, xds: RunningXdsServer, port: number): Promise<BenchProcess> {
  const bootstrapPath = join(work, 'envoy-bootstrap.json');
  const adminPath = join(work, 'envoy-admin-address');
  rmSync(adminPath, { force: true });
  writeFileSync(
    bootstrapPath,
    JSON.stringify(
      envoyBootstrap({
        nodeId: NODE_ID,
        cluster: 'bench',
        metadata: { CLUSTER_ID: 'bench', NAMESPACE: 'bench' },
        xdsAddress: `${HOST}:${xds.port}`,
        podIp: HOST,
        adminPort: 0,
        prometheusPort: 0,
      }),
    ),
  );
  const args = new EnvoySupervisor({
    binary,
    bootstrapPath,
    concurrency: 1,
    logLevel: 'warning',
    drainTimeS: 0,
    extraArgs: ['--admin-address-path', adminPath],
    log: () => {},
  }).args();
  const proc = startProcess('envoy', binary, args, { cpu: PROXY_CPU });
  procs.push(proc);
  await waitForPort(proc, HOST, port, 15_000);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = existsSync(adminPath) ? readFileSync(adminPath, 'utf8').trim() : '';
    const [adminHost, adminPort] = text.split(':');
    const ready = text ? await envoyReady({ host: adminHost!, port: Number(adminPort) }) : { ready: false, reason: 'no admin address yet' };
    if (ready.ready) return proc;
    if (Date.now() > deadline) throw new Error(`envoy not ready after 15 s (${ready.reason}):\n${proc.output()}`);
    await sleep(50);
  }
}

async function startNginxProxy(port: number, portA: number, portB: number): Promise<BenchProcess> {
  const conf = nginxConf(
    'proxy-nginx',
    `  upstream backends { server ${HOST}:${portA} weight=80; server ${HOST}:${portB} weight=20; keepalive ${CONNECTIONS}; }\n` +
      `  server { listen ${HOST}:${port}; location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection ""; } }\n`,
  );
  const p = startProcess('nginx proxy', programs.nginx, ['-p', work, '-c', conf], { cpu: PROXY_CPU });
  procs.push(p);
  await waitForPort(p, HOST, port);
  return p;
}

async function startHaproxy(port: number, portA: number, portB: number): Promise<BenchProcess> {
  const file = join(work, 'haproxy.cfg');
  writeFileSync(
    file,
    [
      'global',
      '  nbthread 1',
      '  maxconn 4000',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 60s',
      '  timeout server 60s',
      '  option http-keep-alive',
      '  http-reuse always',
      'frontend bench',
      `  bind ${HOST}:${port}`,
      '  default_backend upstreams',
      'backend upstreams',
      '  balance roundrobin',
      `  server a ${HOST}:${portA} weight 80`,
      `  server b ${HOST}:${portB} weight 20`,
      '',
    ].join('\n'),
  );
  const p = startProcess('haproxy', programs.haproxy, ['-f', file, '-db'], { cpu: PROXY_CPU });
  procs.push(p);
  await waitForPort(p, HOST, port);
  return p;
}

async function measure(peer: string, port: number, pid: number | undefined, upstream: { pid: number; statusPort: number }): Promise<Row> {
  const url = `http://${HOST}:${port}/`;
  // Warm-up: JIT, connection pools, upstream keep-alive connections.
  await wrk(programs.wrk, url, { connections: CONNECTIONS, seconds: 2, cpu: LOAD_CPU });
  const accepts0 = await upstreamAccepts(upstream.statusPort);
  const [cpu0, up0, t0] = [pid ? cpuSeconds(pid) : 0, cpuSeconds(upstream.pid), performance.now()];
  const w = await wrk(programs.wrk, url, { connections: CONNECTIONS, seconds: SECONDS, cpu: LOAD_CPU });
  const [cpu1, up1, t1] = [pid ? cpuSeconds(pid) : 0, cpuSeconds(upstream.pid), performance.now()];
  const accepts1 = await upstreamAccepts(upstream.statusPort);
  const fixed = await fixedRate({ host: HOST, port, path: '/', rate: RATE, durationS: SECONDS, warmupS: 2, connections: CONNECTIONS, timeoutMs: 5000 }, LOAD_CPU);
  const cpu2 = pid ? cpuSeconds(pid) : 0;
  const mem = pid ? memoryMiB(pid) : undefined;
  const wallS = (t1 - t0) / 1000;
  return {
    peer,
    maxRps: w.rps,
    wrk: w,
    maxRunWallS: wallS,
    upstreamCpuUtilMax: (up1 - up0) / wallS,
    upstreamConnsMax: accepts1 - accepts0,
    fixed,
    ...(pid
      ? {
          cpuSecondsMax: cpu1 - cpu0,
          cpuUsPerRequest: ((cpu1 - cpu0) * 1e6) / Math.max(1, w.requests),
          cpuUtilMax: (cpu1 - cpu0) / wallS,
          cpuShareAtRate: (cpu2 - cpu1) / (SECONDS + 2),
          rssMiB: mem?.rss,
          peakRssMiB: mem?.peak,
        }
      : {}),
  };
}

const rows: Row[] = [];
const commit = benchCommit();
const load0 = loadavg();
let xds: RunningXdsServer | undefined;
try {
  const [portA, portB, portPeer, portStatus] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const upstreams = await startUpstreams(portA, portB, portStatus);
  const upstream = { pid: upstreams.pid, statusPort: portStatus };
  if (PEERS.includes('meshwork') || PEERS.includes('envoy')) {
    xds = await startXdsServer({ host: HOST, port: 0, cache: benchSnapshot(portPeer, portA, portB), log: () => {} });
  }
  for (const peer of PEERS) {
    process.stderr.write(`${peer}: ${SECONDS} s wrk at ${CONNECTIONS} connections, then ${SECONDS} s at ${RATE} rps ...\n`);
    if (peer === 'direct') {
      rows.push(await measure('direct (upstream a)', portA, undefined, upstream));
      continue;
    }
    let proc: BenchProcess;
    let name: string;
    if (peer === 'meshwork') [proc, name] = [await startMeshworkProxy(xds!, portPeer), 'meshwork proxy'];
    else if (peer === 'envoy') [proc, name] = [await startEnvoy(envoy!.path, xds!, portPeer), 'envoy'];
    else if (peer === 'nginx') [proc, name] = [await startNginxProxy(portPeer, portA, portB), 'nginx'];
    else if (peer === 'haproxy') [proc, name] = [await startHaproxy(portPeer, portA, portB), 'haproxy'];
    else throw new Error(`unknown peer '${peer}': use meshwork, envoy, nginx, haproxy, direct`);
    try {
      rows.push(await measure(name, portPeer, proc.pid, upstream));
    } finally {
      await proc.stop();
    }
  }
} finally {
  await stopAll(procs);
  await xds?.close();
  rmSync(work, { recursive: true, force: true });
}

const direct = rows.find((r) => r.peer.startsWith('direct'));
const nginx = rows.find((r) => r.peer === 'nginx');
const envoyRow = rows.find((r) => r.peer === 'envoy');
const ratio = (a: number | undefined, b: number | undefined): string => (a !== undefined && b ? `${(a / b).toFixed(2)}x` : '-');
const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-');
const pct = (v: number | undefined): string => (v !== undefined ? `${(100 * v).toFixed(0)}%` : '-');
/** The weighted split seen in the response bodies of the fixed-rate run; a proxy off 80/20 by more than 3 points is marked. */
const splitOf = (r: Row): string => {
  const a = r.fixed.bodies['upstream-a'] ?? 0;
  const b = r.fixed.bodies['upstream-b'] ?? 0;
  if (!(a + b)) return '-';
  const pa = Math.round((100 * a) / (a + b));
  const verdict = r === direct ? '' : Math.abs(pa - 80) <= 3 ? ' ok' : ' WRONG';
  return `${pa}/${100 - pa}${verdict}`;
};
const lost = (r: Row): number => r.wrk.errors + r.fixed.errors + r.fixed.timeouts + (r.fixed.sent - r.fixed.ok - r.fixed.errors - r.fixed.timeouts);
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}${envoyBuild ? `, envoy ${envoyBuild}` : ''}`;
const load1 = loadavg();
const loads = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' ');
process.stdout.write(
  `Proxy throughput (wrk -t1 -c${CONNECTIONS} ${SECONDS}s) and latency at ${RATE} rps (open loop, ${SECONDS}s), 80/20 split over keep-alive; ` +
    `proxy on CPU ${PROXY_CPU}, load on CPU ${LOAD_CPU} (commit ${commit}; ${machine}; load average 1/5/15 min ${loads(load0)} -> ${loads(load1)})\n` +
    (ACCESS_LOG
      ? `Access log: on for the meshwork proxy and Envoy (stdout, a pipe the bench reads), off for nginx and HAProxy. Envoy: --concurrency 1.\n`
      : `Access log: off for every peer (ACCESS_LOG=0). Envoy: --concurrency 1.\n`) +
    `PEER CPU is the peer's CPU seconds per wall second of the max run (100% = one core): a peer well under 100% was not the ` +
    `bottleneck (wrk or the upstream on the other core was), so its MAX RPS and the max-rps ratios understate it; CPU US/REQ does not.\n` +
    `CLIENT LAG P99 = how late the fixed-rate client's timer woke (ms): high means the machine starved the client, and that row's latency too.\n\n`,
);
process.stdout.write(
  formatTable(
    ['PEER', 'MAX RPS', 'VS NGINX', 'VS ENVOY', 'VS DIRECT', 'CPU US/REQ', 'US/REQ VS NGINX', 'US/REQ VS ENVOY', 'PEER CPU', 'UPSTREAM CPU', 'UPSTREAM CONNS', 'ERRORS'],
    rows.map((r) => [
      r.peer,
      r.maxRps.toFixed(0),
      ratio(r.maxRps, nginx?.maxRps),
      ratio(r.maxRps, envoyRow?.maxRps),
      ratio(r.maxRps, direct?.maxRps),
      r.cpuUsPerRequest !== undefined ? r.cpuUsPerRequest.toFixed(1) : '-',
      ratio(r.cpuUsPerRequest, nginx?.cpuUsPerRequest),
      ratio(r.cpuUsPerRequest, envoyRow?.cpuUsPerRequest),
      pct(r.cpuUtilMax),
      pct(r.upstreamCpuUtilMax),
      String(r.upstreamConnsMax),
      String(lost(r)),
    ]),
  ) + '\n\n',
);
process.stdout.write(
  formatTable(
    ['PEER', `P50 MS@${RATE}`, 'P90 MS', 'P99 MS', 'CLIENT LAG P99', `CPU @${RATE}`, 'RSS MIB', 'SPLIT A/B'],
    rows.map((r) => [r.peer, ms(r.fixed.p50Ms), ms(r.fixed.p90Ms), ms(r.fixed.p99Ms), ms(r.fixed.lagP99Ms), pct(r.cpuShareAtRate), r.rssMiB !== undefined ? r.rssMiB.toFixed(1) : '-', splitOf(r)]),
  ) + '\n',
);
mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(REPO_ROOT, 'bench', 'results', 'proxy.json'),
  JSON.stringify(
    { machine, commit, at: new Date().toISOString(), seconds: SECONDS, rate: RATE, connections: CONNECTIONS, proxyCpu: PROXY_CPU, loadCpu: LOAD_CPU, accessLog: ACCESS_LOG, envoy: envoyBuild, loadavg: [load0, load1], rows },
    null,
    2,
  ) + '\n',
);
