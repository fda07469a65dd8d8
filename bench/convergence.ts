// Config convergence on the real embedded mesh: the time from `kubectl apply` of a VirtualService with
// new weights (to both clusters at once) until every proxy connected to either control plane has been
// sent a new RDS version and ACKed it, read from each control plane's /debug/syncz.
// Prints a table; writes bench/results/convergence.json.
// Run: npm run bench:convergence. Knobs (environment): APPLIES (10), SUBNET_BASE (160).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTable } from '../src/mesh-cli/output.js';
import { REPO_ROOT, scenarioDir } from '../test/helpers/paths.js';
import { percentile } from './lib/fixed-rate-client.js';
import { startMesh, type BenchMesh } from './lib/mesh.js';

const APPLIES = Number(process.env.APPLIES ?? 10);
const SUBNET_BASE = Number(process.env.SUBNET_BASE ?? 160);
const TIMEOUT_MS = 30_000;
const say = (line: string): void => void process.stderr.write(`${line}\n`);

interface RdsState {
  nodeId: string;
  sent?: string;
  acked?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every proxy's RDS versions from one /debug/syncz (newest stream per node wins). */
async function rdsStates(debugUrl: string): Promise<RdsState[]> {
  const res = await fetch(`${debugUrl}/debug/syncz`);
  if (!res.ok) throw new Error(`${debugUrl}/debug/syncz: HTTP ${res.status}`);
  const body: unknown = await res.json();
  if (!isRecord(body) || !Array.isArray(body.proxies)) throw new Error(`${debugUrl}/debug/syncz: expected {proxies: [...]}`);
  const byNode = new Map<string, RdsState>();
  for (const p of body.proxies) {
    if (!isRecord(p) || typeof p.nodeId !== 'string') continue;
    const rds = isRecord(p.types) && isRecord(p.types.RDS) ? p.types.RDS : {};
    byNode.set(p.nodeId, {
      nodeId: p.nodeId,
      ...(typeof rds.sentVersion === 'string' ? { sent: rds.sentVersion } : {}),
      ...(typeof rds.ackedVersion === 'string' ? { acked: rds.ackedVersion } : {}),
    });
  }
  return [...byNode.values()];
}

async function allStates(urls: string[]): Promise<RdsState[]> {
  return (await Promise.all(urls.map(rdsStates))).flat();
}

function virtualService(v1: number): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: helloworld
  namespace: sample
spec:
  hosts: [helloworld]
  http:
  - route:
    - destination: {host: helloworld, subset: v1}
      weight: ${v1}
    - destination: {host: helloworld, subset: v2}
      weight: ${100 - v1}
`;
}

function kubectlApply(mesh: BenchMesh, context: string, yaml: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--context', context, 'apply', '-f', '-'], { env: { ...process.env, KUBECONFIG: mesh.kubeconfig }, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl --context ${context} apply failed (${code}): ${err}`))));
    child.stdin.end(yaml);
  });
}

interface Sample {
  weight: number;
  proxies: number;
  /** From starting kubectl apply (both clusters at once) until the last proxy ACKed. */
  fromApplyMs: number;
  /** From both kubectl processes having returned until the last proxy ACKed (0 if it was earlier). */
  fromReturnMs: number;
}

const samples: Sample[] = [];
const load0 = loadavg()[0];
const mesh = await startMesh(SUBNET_BASE, say);
try {
  const urls: string[] = [];
  for (const ctx of mesh.contexts) {
    const [ip] = await mesh.podIPs(ctx, 'istio-system', 'app=istiod');
    if (!ip) throw new Error(`${ctx}: no Running istiod pod`);
    urls.push(`http://${ip}:15014`);
  }
  for (const ctx of mesh.contexts) await mesh.kubectl(ctx, 'apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-destinationrule.yaml'));
  for (let i = 0; i <= APPLIES; i++) {
    const weight = i % 2 === 0 ? 80 : 70 - (i % 5) * 10;
    await sleep(1000); // let the previous push settle, so each apply is measured from a quiet mesh
    const before = new Map((await allStates(urls)).map((s) => [s.nodeId, s.sent]));
    const yaml = virtualService(weight);
    const t0 = performance.now();
    const applied = Promise.all(mesh.contexts.map((ctx) => kubectlApply(mesh, ctx, yaml))).then(() => performance.now());
    let doneAt: number | undefined;
    let proxies = 0;
    while (doneAt === undefined) {
      const states = await allStates(urls);
      proxies = states.length;
      if (states.length > 0 && states.every((s) => s.sent !== undefined && s.sent !== before.get(s.nodeId) && s.acked === s.sent)) doneAt = performance.now();
      else if (performance.now() - t0 > TIMEOUT_MS) {
        const pending = states.filter((s) => !(s.sent !== before.get(s.nodeId) && s.acked === s.sent)).map((s) => `${s.nodeId} sent=${s.sent} acked=${s.acked}`);
        throw new Error(`apply #${i} (v1 weight ${weight}) not ACKed by every proxy after ${TIMEOUT_MS / 1000} s: ${pending.join('; ')}`);
      } else await sleep(5);
    }
    const returnedAt = await applied;
    // The first apply creates the VirtualService; it is a warm-up and is not counted.
    if (i > 0) samples.push({ weight, proxies, fromApplyMs: doneAt - t0, fromReturnMs: Math.max(0, doneAt - returnedAt) });
    say(`apply #${i}: v1 weight ${weight}, ${proxies} proxies ACKed after ${(doneAt - t0).toFixed(0)} ms${i === 0 ? ' (warm-up, not counted)' : ''}`);
  }
} finally {
  await mesh.down();
}

const stat = (key: 'fromApplyMs' | 'fromReturnMs'): string[] => {
  const sorted = Float64Array.from(samples.map((s) => s[key])).sort();
  return [percentile(sorted, 50), percentile(sorted, 99), sorted[sorted.length - 1]].map((v) => v.toFixed(0));
};
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
const load1 = loadavg()[0];
process.stdout.write(
  `Config convergence: VirtualService weight change applied to 2 clusters until every proxy ACKed the new RDS, ${samples.length} applies, ` +
    `${samples[0]?.proxies ?? 0} proxies (${machine}; load average ${load0.toFixed(1)} -> ${load1.toFixed(1)})\n\n`,
);
process.stdout.write(
  formatTable(
    ['MEASURED FROM', 'P50 MS', 'P99 MS', 'MAX MS'],
    [
      ['kubectl apply started', ...stat('fromApplyMs')],
      ['kubectl apply returned', ...stat('fromReturnMs')],
    ],
  ) + '\n',
);
mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'convergence.json'), JSON.stringify({ machine, at: new Date().toISOString(), loadavg: [load0, load1], samples }, null, 2) + '\n');
