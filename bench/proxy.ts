// Proxy throughput and latency: the same 80/20 weighted split over keep-alive through the meshwork proxy
// (configured by a real ADS server), nginx and HAProxy, and straight to one upstream.
// Per peer: max requests/s from wrk at fixed concurrency, latency at a fixed rate (open-loop client),
// the peer's CPU seconds and memory from /proc. Prints a table; writes bench/results/proxy.json.
// Run: npm run bench:proxy   (peers: apt-get install -y wrk nginx-light haproxy)
// Knobs (environment): BENCH_SECONDS (10), RATE (1000), CONNECTIONS (64), PEERS (meshwork,nginx,haproxy,direct),
// PROXY_CPU (0), LOAD_CPU (1).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable } from '../src/cli/output.js';
import { edsCluster, httpListener, loadAssignment, routeConfig, weightedRoute } from '../src/proxy/testutil/envoy.js';
import { SnapshotCache } from '../src/xds/cache.js';
import { TYPE_URLS } from '../src/xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../src/xds/server.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
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
const PEERS = (process.env.PEERS ?? 'meshwork,nginx,haproxy,direct').split(',').map((s) => s.trim()).filter(Boolean);
const HOST = '127.0.0.1';
const NODE_ID = 'sidecar~127.0.0.1~bench-proxy.bench~bench.svc.cluster.local';
const CLUSTER_A = 'outbound|80|a|upstream.bench.svc.cluster.local';
const CLUSTER_B = 'outbound|80|b|upstream.bench.svc.cluster.local';

const programs = requirePrograms(['wrk', 'nginx', 'haproxy'], 'bench:proxy needs wrk (load), nginx (upstreams and a peer) and haproxy (a peer)');

interface Row {
  peer: string;
  maxRps: number;
  wrk: WrkResult;
  /** CPU seconds the peer used during the wrk run (undefined for direct: no proxy). */
  cpuSecondsMax?: number;
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

async function startUpstreams(portA: number, portB: number): Promise<void> {
  const conf = nginxConf(
    'upstreams',
    `  server { listen ${HOST}:${portA}; location / { return 200 "upstream-a\\n"; } }\n` +
      `  server { listen ${HOST}:${portB}; location / { return 200 "upstream-b\\n"; } }\n`,
  );
  // Not pinned: the upstreams take whatever CPU is left, the same for every peer.
  const p = startProcess('upstream nginx', programs.nginx, ['-p', work, '-c', conf]);
  procs.push(p);
  await waitForPort(p, HOST, portA);
  await waitForPort(p, HOST, portB);
}

async function startMeshworkProxy(port: number, portA: number, portB: number): Promise<{ proc: BenchProcess; xds: RunningXdsServer }> {
  const cache = new SnapshotCache();
  cache.setSnapshot(NODE_ID, {
    resources: {
      [TYPE_URLS.listener]: new Map([['bench', httpListener('bench', HOST, port, 'bench-routes')]]),
      [TYPE_URLS.route]: new Map([
        ['bench-routes', routeConfig('bench-routes', [{ name: 'upstream', domains: ['*'], routes: [weightedRoute({ prefix: '/' }, [[CLUSTER_A, 80], [CLUSTER_B, 20]])] }])],
      ]),
      [TYPE_URLS.cluster]: new Map([[CLUSTER_A, edsCluster(CLUSTER_A)], [CLUSTER_B, edsCluster(CLUSTER_B)]]),
      [TYPE_URLS.endpoint]: new Map([[CLUSTER_A, loadAssignment(CLUSTER_A, [{ port: portA }])], [CLUSTER_B, loadAssignment(CLUSTER_B, [{ port: portB }])]]),
    },
  });
  const xdsLog: string[] = [];
  const xds = await startXdsServer({ host: HOST, port: 0, cache, log: (l) => xdsLog.push(l) });
  const main = fileURLToPath(new URL('./lib/meshwork-proxy-main' + extname(fileURLToPath(import.meta.url)), import.meta.url));
  const proc = startProcess('meshwork proxy', process.execPath, [...process.execArgv, main, `${HOST}:${xds.port}`, NODE_ID], { cpu: PROXY_CPU });
  procs.push(proc);
  await waitForPort(proc, HOST, port, 15_000);
  return { proc, xds };
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

async function measure(peer: string, port: number, pid: number | undefined): Promise<Row> {
  const url = `http://${HOST}:${port}/`;
  // Warm-up: JIT, connection pools, upstream keep-alive connections.
  await wrk(programs.wrk, url, { connections: CONNECTIONS, seconds: 2, cpu: LOAD_CPU });
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const w = await wrk(programs.wrk, url, { connections: CONNECTIONS, seconds: SECONDS, cpu: LOAD_CPU });
  const cpu1 = pid ? cpuSeconds(pid) : 0;
  const fixed = await fixedRate({ host: HOST, port, path: '/', rate: RATE, durationS: SECONDS, warmupS: 2, connections: CONNECTIONS, timeoutMs: 5000 }, LOAD_CPU);
  const cpu2 = pid ? cpuSeconds(pid) : 0;
  const mem = pid ? memoryMiB(pid) : undefined;
  return {
    peer,
    maxRps: w.rps,
    wrk: w,
    fixed,
    ...(pid ? { cpuSecondsMax: cpu1 - cpu0, cpuShareAtRate: (cpu2 - cpu1) / (SECONDS + 2), rssMiB: mem?.rss, peakRssMiB: mem?.peak } : {}),
  };
}

const rows: Row[] = [];
const load0 = loadavg()[0];
try {
  const [portA, portB, portPeer] = [await freePort(), await freePort(), await freePort()];
  await startUpstreams(portA, portB);
  for (const peer of PEERS) {
    process.stderr.write(`${peer}: ${SECONDS} s wrk at ${CONNECTIONS} connections, then ${SECONDS} s at ${RATE} rps ...\n`);
    if (peer === 'direct') {
      rows.push(await measure('direct (upstream a)', portA, undefined));
      continue;
    }
    if (peer === 'meshwork') {
      const { proc, xds } = await startMeshworkProxy(portPeer, portA, portB);
      try {
        rows.push(await measure('meshwork proxy', portPeer, proc.pid));
      } finally {
        await proc.stop();
        await xds.close();
      }
    } else if (peer === 'nginx' || peer === 'haproxy') {
      const proc = peer === 'nginx' ? await startNginxProxy(portPeer, portA, portB) : await startHaproxy(portPeer, portA, portB);
      try {
        rows.push(await measure(peer === 'nginx' ? 'nginx' : 'haproxy', portPeer, proc.pid));
      } finally {
        await proc.stop();
      }
    } else throw new Error(`unknown peer '${peer}': use meshwork, nginx, haproxy, direct`);
  }
} finally {
  await stopAll(procs);
  rmSync(work, { recursive: true, force: true });
}

const direct = rows.find((r) => r.peer.startsWith('direct'));
const nginx = rows.find((r) => r.peer === 'nginx');
const ratio = (a: number, b: number | undefined): string => (b ? `${(a / b).toFixed(2)}x` : '-');
const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-');
const splitOf = (r: Row): string => {
  const a = r.fixed.bodies['upstream-a'] ?? 0;
  const b = r.fixed.bodies['upstream-b'] ?? 0;
  return a + b ? `${Math.round((100 * a) / (a + b))}/${Math.round((100 * b) / (a + b))}` : '-';
};
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
const load1 = loadavg()[0];
process.stdout.write(
  `Proxy throughput (wrk -t1 -c${CONNECTIONS} ${SECONDS}s) and latency at ${RATE} rps (open loop, ${SECONDS}s), 80/20 split over keep-alive; ` +
    `proxy on CPU ${PROXY_CPU}, load on CPU ${LOAD_CPU} (${machine}; load average ${load0.toFixed(1)} -> ${load1.toFixed(1)})\n\n`,
);
process.stdout.write(
  formatTable(
    ['PEER', 'MAX RPS', 'VS DIRECT', 'VS NGINX', 'ERRORS', `P50 MS@${RATE}`, 'P90 MS', 'P99 MS', 'CPU S (MAX RUN)', `CPU @${RATE}`, 'RSS MIB', 'SPLIT A/B'],
    rows.map((r) => [
      r.peer,
      r.maxRps.toFixed(0),
      ratio(r.maxRps, direct?.maxRps),
      ratio(r.maxRps, nginx?.maxRps),
      String(r.wrk.errors + r.fixed.errors + r.fixed.timeouts + (r.fixed.sent - r.fixed.ok - r.fixed.errors - r.fixed.timeouts)),
      ms(r.fixed.p50Ms),
      ms(r.fixed.p90Ms),
      ms(r.fixed.p99Ms),
      r.cpuSecondsMax !== undefined ? r.cpuSecondsMax.toFixed(2) : '-',
      r.cpuShareAtRate !== undefined ? `${(100 * r.cpuShareAtRate).toFixed(0)}%` : '-',
      r.rssMiB !== undefined ? r.rssMiB.toFixed(1) : '-',
      splitOf(r),
    ]),
  ) + '\n',
);
mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(REPO_ROOT, 'bench', 'results', 'proxy.json'),
  JSON.stringify({ machine, at: new Date().toISOString(), seconds: SECONDS, rate: RATE, connections: CONNECTIONS, proxyCpu: PROXY_CPU, loadCpu: LOAD_CPU, loadavg: [load0, load1], rows }, null, 2) + '\n',
);
