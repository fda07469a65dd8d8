// How long the README's main command takes: `meshwork demo` on a fresh state folder (clusters, install,
// create-mesh, samples, steps 4-8 with 1000 requests per measured split). Prints a table; writes
// bench/results/demo.json. Run: npm run bench:demo
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/mesh-cli/output.js';
import { MESHWORK_BIN, REPO_ROOT } from '../test/helpers/paths.js';

const stateDir = mkdtempSync(join(tmpdir(), 'meshwork-bench-demo-'));
let output = '';
let seconds = 0;
let ok = false;
try {
  const t = performance.now();
  try {
    output = execFileSync(process.execPath, [MESHWORK_BIN, 'demo', '--state-dir', stateDir, '--subnet-base', String(process.env.SUBNET_BASE ?? 200)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    ok = true;
  } catch (err) {
    output = String((err as { stdout?: string }).stdout ?? (err as Error).message);
  }
  seconds = (performance.now() - t) / 1000;
} finally {
  execFileSync(process.execPath, [MESHWORK_BIN, 'down', '--state-dir', stateDir], { stdio: 'ignore' });
  rmSync(stateDir, { recursive: true, force: true });
}
const steps = output.split('\n').filter((l) => /^\s+(PASS|FAIL)\s{2}/.test(l)).map((l) => l.trim());
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
process.stdout.write(`meshwork demo on a fresh state folder (${machine})\n\n`);
process.stdout.write(formatTable(['STEP', 'VERDICT'], steps.map((s) => [s.slice(6), s.slice(0, 4)])) + '\n');
process.stdout.write(`\ntotal: ${seconds.toFixed(1)} s, exit ${ok ? 0 : 'non-zero'}\n`);
mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'demo.json'), JSON.stringify({ machine, at: new Date().toISOString(), seconds, ok, steps }, null, 2) + '\n');
if (!ok) process.exitCode = 1;
