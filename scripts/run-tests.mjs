// Runs every compiled test file (dist/**/*.test.js) with Node's test runner, then the end-to-end suites
// of the mesh once more on the meshwork data plane (the first run is on Envoy, the mesh's default).
// Node 20's --test takes no globs, so the files are listed here. Extra arguments filter by path substring.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return find(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}
const filters = process.argv.slice(2);
const files = find('dist').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const runTests = (list, env = {}) =>
  spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...list], { stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;

const status = runTests(files);
// The suites whose pods run sidecars and gateways: the same tests, every proxy the meshwork proxy.
// (test/e2e/prometheus.test.ts runs once: what it checks, discovery and scraping, is the same on both.)
const bothDataPlanes = files.filter((f) => /test[\\/]e2e[\\/](mesh|ingress|ingress-k8s|chaos|locality-failover|tcp-routes|zero-trust|gateway-https|telemetry-metrics|canary|dashboard-collector|rollout-status)\.test\.js$/.test(f));
let meshworkStatus = 0;
if (bothDataPlanes.length > 0) {
  console.log('\nThe mesh end-to-end suites again, on the meshwork data plane (MESHWORK_E2E_DATA_PLANE=meshwork):');
  meshworkStatus = runTests(bothDataPlanes, { MESHWORK_E2E_DATA_PLANE: 'meshwork' });
}
process.exit(status !== 0 ? status : meshworkStatus);
