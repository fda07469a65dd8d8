// The real Kubernetes control plane, for src/realkube/ and `meshwork up --apiserver real`:
// kube-apiserver and kube-controller-manager of Kubernetes v1.34.4 and etcd, built with the machine's Go
// from the Go module proxy (interop/kube-binaries: go.mod + go.sum pin every module) into
// ~/.cache/meshwork/kube-v1.34.4/<key>/, outside the clone so CI and every checkout reuse them. The key
// is the hash of go.mod, go.sum, the etcd main, the build flags and the Go version: a change of any
// rebuilds. A cold build downloads ~0.5 GB of modules and compiles for many minutes (docs/kubernetes-mode.md).
//
// Bringing your own binaries instead (nothing is built for what you bring):
//   --kube-apiserver PATH --kube-controller-manager PATH --etcd PATH   (each alone is fine)
//   KUBEBUILDER_ASSETS=DIR   controller-runtime's envtest layout: DIR/kube-apiserver and DIR/etcd
//                            (and DIR/kube-controller-manager when there; envtest ships none, so that one
//                            is then built unless given by flag)
// `--where` builds nothing and prints, as JSON, the path of each binary (or null) and where it came from.
// MESHWORK_SKIP_KUBE_BINARIES=1 builds nothing on purpose (the real-Kubernetes tests then fail, naming it).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = join(root, 'interop', 'kube-binaries');
const KUBE_VERSION = 'v1.34.4';
const NAMES = ['kube-apiserver', 'kube-controller-manager', 'etcd'];
const PACKAGES = { 'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver', 'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager', etcd: './etcd' };
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

// As the Kubernetes release build: static (no cgo), stripped, and the version the binaries report.
const versionPkg = 'k8s.io/component-base/version';
const LDFLAGS = ['-s', '-w', `-X ${versionPkg}.gitVersion=${KUBE_VERSION}`, `-X ${versionPkg}.gitMajor=1`, `-X ${versionPkg}.gitMinor=34`, `-X ${versionPkg}.gitTreeState=clean`].join(' ');
const BUILD_ARGS = ['build', '-mod=readonly', '-trimpath', `-ldflags=${LDFLAGS}`];

function parseArgs(argv) {
  const given = {};
  let where = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--where') where = true;
    else if (arg.startsWith('--') && NAMES.includes(arg.slice(2))) {
      const value = argv[++i];
      if (!value) throw new Error(`${arg} needs a path to the binary`);
      given[arg.slice(2)] = resolve(value);
    } else throw new Error(`unknown argument ${arg}: use --where, --kube-apiserver PATH, --kube-controller-manager PATH, --etcd PATH`);
  }
  return { given, where };
}

const goCommand = () => ['go', '/usr/local/go/bin/go'].find((g) => spawnSync(g, ['version'], { stdio: 'ignore' }).status === 0);

function cacheDir(go) {
  const goVersion = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim();
  const files = ['go.mod', 'go.sum', join('etcd', 'main.go')];
  const key = sha256(JSON.stringify([goVersion, BUILD_ARGS, ...files.map((f) => [f, sha256(readFileSync(join(sources, f)))])])).slice(0, 16);
  const base = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'meshwork', `kube-${KUBE_VERSION}`);
  return { dir: join(base, key), base, goVersion };
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Where each binary comes from: a flag, KUBEBUILDER_ASSETS, or the build cache (null when none has it). */
function locate(given, go) {
  const assets = process.env.KUBEBUILDER_ASSETS;
  const built = go ? cacheDir(go).dir : undefined;
  const found = {};
  for (const name of NAMES) {
    if (given[name]) {
      if (!executable(given[name])) throw new Error(`--${name} ${given[name]}: not an executable file`);
      found[name] = { path: given[name], from: 'flag' };
    } else if (assets && executable(join(assets, name))) {
      found[name] = { path: join(assets, name), from: 'KUBEBUILDER_ASSETS' };
    } else if (built && executable(join(built, name))) {
      found[name] = { path: join(built, name), from: 'built' };
    } else {
      found[name] = null;
    }
  }
  if (assets && (!found['kube-apiserver'] || found['kube-apiserver'].from !== 'KUBEBUILDER_ASSETS') && !given['kube-apiserver']) {
    throw new Error(`KUBEBUILDER_ASSETS=${assets} has no executable kube-apiserver: point it at an envtest directory (kube-apiserver, etcd) or unset it`);
  }
  return found;
}

function build(go) {
  const { dir, base, goVersion } = cacheDir(go);
  console.error(`meshwork: building kube-apiserver, kube-controller-manager (Kubernetes ${KUBE_VERSION}) and etcd with ${goVersion} into ${dir}; a cold build downloads ~0.5 GB of Go modules and compiles for many minutes ...`);
  mkdirSync(base, { recursive: true });
  const scratch = mkdtempSync(join(base, '.tmp-'));
  const started = Date.now();
  try {
    const res = spawnSync(go, [...BUILD_ARGS, '-o', `${scratch}/`, ...NAMES.map((n) => PACKAGES[n])], {
      cwd: sources,
      stdio: 'inherit',
      env: { ...process.env, CGO_ENABLED: '0' },
    });
    if (res.status !== 0) throw new Error(`go build in ${sources} failed (exit ${res.status}); fix the error above, bring your own binaries (KUBEBUILDER_ASSETS or --kube-apiserver/--kube-controller-manager/--etcd), or set MESHWORK_SKIP_KUBE_BINARIES=1`);
    for (const name of NAMES) if (!executable(join(scratch, name))) throw new Error(`go build left no ${name} in ${scratch}`);
    try {
      renameSync(scratch, dir);
    } catch (err) {
      if (!NAMES.every((n) => executable(join(dir, n)))) throw err; // another checkout built the same key meanwhile
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const sizes = NAMES.map((n) => `${n} ${(statSync(join(dir, n)).size / 1e6).toFixed(0)} MB`).join(', ');
  console.error(`meshwork: built in ${((Date.now() - started) / 1000).toFixed(0)} s: ${sizes}`);
}

try {
  const { given, where } = parseArgs(process.argv.slice(2));
  const go = goCommand();
  let found = locate(given, go);
  if (!where && process.env.MESHWORK_SKIP_KUBE_BINARIES !== '1' && NAMES.some((n) => !found[n])) {
    if (!go) {
      throw new Error(`no Go toolchain here (go on PATH or /usr/local/go/bin/go), so ${NAMES.filter((n) => !found[n]).join(', ')} cannot be built: install Go 1.24+ or bring the binaries (KUBEBUILDER_ASSETS, --kube-apiserver/--kube-controller-manager/--etcd)`);
    }
    build(go);
    found = locate(given, go);
  }
  if (where) {
    console.log(JSON.stringify({ version: KUBE_VERSION, ...Object.fromEntries(NAMES.map((n) => [n, found[n]])) }));
  }
} catch (err) {
  console.error(`meshwork: ${err.message}`);
  process.exitCode = 1;
}
