// Sidecar overhead on the real embedded mesh: latency at a fixed rate of GET helloworld:5000/hello
//   (1) through the client sidecar (sleep pod's outbound proxy :15001) and the server sidecar,
//   (2) to the helloworld pod IP (server sidecar only),
//   (3) to the helloworld app IP (no sidecar),
// measured from this machine with the open-loop client. Prints a table; writes bench/results/sidecar.json.
// Each path runs at every rate of RATES: a low one shows the added latency of an idle sidecar, 1000 rps
// how it holds under load. Run: npm run bench:sidecar. Knobs (environment): BENCH_SECONDS (10),
// RATES (100,1000), SUBNET_BASE (160).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/cli/output.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import type { FixedRateConfig, FixedRateResult } from './lib/fixed-rate-client.js';
import { fixedRate } from './lib/load.js';
import { appIpOf, startMesh } from './lib/mesh.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATES = (process.env.RATES ?? '100,1000').split(',').map(Number).filter((n) => n > 0);
const SUBNET_BASE = Number(process.env.SUBNET_BASE ?? 160);
const say = (line: string): void => void process.stderr.write(`${line}\n`);

interface Row {
  rate: number;
  path: string;
  target: string;
  result: FixedRateResult;
}

const rows: Row[] = [];
const load0 = loadavg()[0];
const mesh = await startMesh(SUBNET_BASE, say);
try {
  const [sleepIp] = await mesh.podIPs('cluster-1', 'sample', 'app=sleep');
  const [helloIp] = await mesh.podIPs('cluster-1', 'sample', 'app=helloworld');
  if (!sleepIp || !helloIp) throw new Error(`cluster-1: no Running sleep (${sleepIp}) or helloworld (${helloIp}) pod`);
  const appIp = appIpOf(helloIp);
  const base = { durationS: SECONDS, warmupS: 2, connections: 64, timeoutMs: 5000 };
  const targets: Array<[string, Omit<FixedRateConfig, keyof typeof base | 'rate'>]> = [
    ['direct to the app (no sidecar)', { host: appIp, port: 5000, path: '/hello' }],
    ['pod IP (server sidecar)', { host: helloIp, port: 5000, path: '/hello', hostHeader: 'helloworld.sample:5000' }],
    ['client + server sidecar', { host: sleepIp, port: 15001, path: 'http://helloworld.sample:5000/hello', hostHeader: 'helloworld.sample:5000' }],
  ];
  for (const rate of RATES) {
    for (const [path, t] of targets) {
      say(`${path}: ${t.host}:${t.port} ${t.path}, ${SECONDS} s at ${rate} rps`);
      rows.push({ rate, path, target: `${t.host}:${t.port}`, result: await fixedRate({ ...base, rate, ...t }) });
    }
  }
} finally {
  await mesh.down();
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-');
const added = (v: number, d: number): string => (Number.isFinite(v) && Number.isFinite(d) ? `+${(v - d).toFixed(2)}` : '-');
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
const load1 = loadavg()[0];
process.stdout.write(`Sidecar overhead, ${SECONDS} s per rate and path (open loop), GET helloworld.sample:5000/hello (${machine}; load average ${load0.toFixed(1)} -> ${load1.toFixed(1)})\n\n`);
process.stdout.write(
  formatTable(
    ['RPS', 'PATH', 'OK/SENT', 'LOST', 'P50 MS', 'P90 MS', 'P99 MS', 'ADDED P50', 'ADDED P90', 'ADDED P99', 'ANSWERED BY'],
    rows.map(({ rate, path, result: r }) => {
      const direct = rows.find((d) => d.rate === rate)?.result ?? r;
      return [
        String(rate),
        path,
        `${r.ok}/${r.sent}`,
        String(r.timeouts + r.errors),
        ms(r.p50Ms),
        ms(r.p90Ms),
        ms(r.p99Ms),
        added(r.p50Ms, direct.p50Ms),
        added(r.p90Ms, direct.p90Ms),
        added(r.p99Ms, direct.p99Ms),
        Object.entries(r.bodies)
          .map(([b, n]) => `${/version: (v\d)/.exec(b)?.[1] ?? b.slice(0, 12)}:${n}`)
          .join(' '),
      ];
    }),
  ) + '\n',
);
mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'sidecar.json'), JSON.stringify({ machine, at: new Date().toISOString(), seconds: SECONDS, rates: RATES, loadavg: [load0, load1], rows }, null, 2) + '\n');
