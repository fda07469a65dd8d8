// How long `meshwork up -d` takes to have 2 clusters ready with the scenario's samples running:
// cold (fresh state folder, then kubectl apply of the samples) and warm (down, then up again with the
// samples already stored). Prints a table; writes bench/results/up.json. Run: npm run bench:up
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTable } from '../src/mesh-cli/output.js';
import { EXAMPLE_DIR, MESHWORK_BIN, REPO_ROOT } from '../test/helpers/paths.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const stateDir = mkdtempSync(join(tmpdir(), 'meshwork-bench-up-'));
const kubeconfig = join(stateDir, 'kubeconfig');

function meshwork(...args: string[]): void {
  execFileSync(process.execPath, [MESHWORK_BIN, ...args, '--state-dir', stateDir], { stdio: 'pipe' });
}
function kubectl(context: string, ...args: string[]): string {
  return execFileSync('kubectl', ['--context', context, ...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
}
async function allSamplePodsReady(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const ctx of ['cluster-1', 'cluster-2']) {
    for (;;) {
      const ready = kubectl(ctx, 'get', 'pods', '-n', 'sample', '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}').trim().split(' ');
      if (ready.length === 2 && ready.every((s) => s === 'True')) break;
      if (Date.now() > deadline) throw new Error(`${ctx}: sample pods not ready after 60 s`);
      await sleep(25);
    }
  }
}

const rows: Array<{ phase: string; seconds: number }> = [];
try {
  let t = performance.now();
  meshwork('up', '-d', '--subnet-base', '150');
  rows.push({ phase: 'cold: up -d (2 empty clusters)', seconds: (performance.now() - t) / 1000 });
  t = performance.now();
  for (const [ctx, version] of [['cluster-1', 'v1'], ['cluster-2', 'v2']] as const) {
    kubectl(ctx, 'create', 'namespace', 'sample');
    kubectl(ctx, 'apply', '-n', 'sample', '-f', join(EXAMPLE_DIR, 'helloworld.yaml'), '-l', 'service=helloworld');
    kubectl(ctx, 'apply', '-n', 'sample', '-f', join(EXAMPLE_DIR, 'helloworld.yaml'), '-l', `version=${version}`);
    kubectl(ctx, 'apply', '-n', 'sample', '-f', join(EXAMPLE_DIR, 'sleep.yaml'));
  }
  await allSamplePodsReady();
  rows.push({ phase: 'cold: apply samples until pods Ready', seconds: (performance.now() - t) / 1000 });
  for (let i = 1; i <= ROUNDS; i++) {
    meshwork('down');
    t = performance.now();
    meshwork('up', '-d', '--subnet-base', '150');
    const upDone = performance.now();
    await allSamplePodsReady();
    rows.push({ phase: `warm #${i}: up -d returns`, seconds: (upDone - t) / 1000 });
    rows.push({ phase: `warm #${i}: up -d until sample pods Ready`, seconds: (performance.now() - t) / 1000 });
  }
} finally {
  try {
    meshwork('down');
  } catch (err) {
    process.stderr.write(`down failed: ${(err as Error).message}\n`);
  }
  rmSync(stateDir, { recursive: true, force: true });
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
process.stdout.write(`meshwork up, 2 clusters with helloworld + sleep in each (${machine})\n\n`);
process.stdout.write(formatTable(['PHASE', 'SECONDS'], rows.map((r) => [r.phase, r.seconds.toFixed(2)])) + '\n');
mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'up.json'), JSON.stringify({ machine, at: new Date().toISOString(), rows }, null, 2) + '\n');
