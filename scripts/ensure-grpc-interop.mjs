// Installs what the gRPC xDS interop tests (src/grpc-interop/) run besides Node, each only when
// missing or outdated:
//   - grpc.testing's protos (interop/grpc-testing-proto.lock.json: a Maven Central jar pinned by sha256)
//     into .tools/grpc-testing-proto/<version>;
//   - the pinned grpcio wheel and protobuf (interop/python-client/requirements.txt, hashes required)
//     into .tools/grpcio, with the python that installed them recorded (the wheel fits that one only);
//   - the Go client (interop/go-client, go.mod + go.sum pinned) built into
//     ~/.cache/meshwork/go-client/<hash of its sources and the Go version>, outside the clone so CI reuses it.
// A machine without python3/pip or Go gets one line saying so: the interop tests then fail, naming it.
// `--where` installs nothing and prints, as JSON, where each part is (or null): the tests read this.
// MESHWORK_SKIP_GRPC_INTEROP=1 installs nothing on purpose (the interop tests then fail or skip, naming what is missing).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readZipEntries } from './zip-entries.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tools = join(root, '.tools');
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

// --- grpc.testing protos -------------------------------------------------------------------------
const protoLockText = readFileSync(join(root, 'interop', 'grpc-testing-proto.lock.json'), 'utf8');
const protoLock = JSON.parse(protoLockText);
const protoDir = join(tools, 'grpc-testing-proto', protoLock.version);
const protosInstalled = () => {
  try {
    return JSON.parse(readFileSync(join(protoDir, 'manifest.json'), 'utf8')).lockSha256 === sha256(protoLockText);
  } catch {
    return false;
  }
};

async function ensureProtos() {
  if (protosInstalled()) return;
  console.error(`meshwork: fetching grpc.testing protos (grpc-interop-testing ${protoLock.version}) into ${protoDir} ...`);
  let jar;
  try {
    const res = await fetch(protoLock.url);
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    jar = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    throw new Error(`downloading ${protoLock.url} failed (${err.cause?.message ?? err.message}): the gRPC interop tests need it; check the network and run node scripts/ensure-grpc-interop.mjs again`);
  }
  if (sha256(jar) !== protoLock.sha256) throw new Error(`${protoLock.url} has sha256 ${sha256(jar)}, but interop/grpc-testing-proto.lock.json pins ${protoLock.sha256}: refusing to use it`);
  const entries = readZipEntries(jar, (name) => protoLock.files.includes(name));
  const missing = protoLock.files.filter((f) => !entries.has(f));
  if (missing.length > 0) throw new Error(`${protoLock.url} lacks ${missing.join(', ')}: fix interop/grpc-testing-proto.lock.json`);
  mkdirSync(dirname(protoDir), { recursive: true });
  const scratch = mkdtempSync(join(dirname(protoDir), '.tmp-'));
  try {
    for (const [name, data] of entries) {
      mkdirSync(join(scratch, dirname(name)), { recursive: true });
      writeFileSync(join(scratch, name), data);
    }
    writeFileSync(join(scratch, 'manifest.json'), `${JSON.stringify({ version: protoLock.version, lockSha256: sha256(protoLockText), files: protoLock.files }, null, 2)}\n`);
    rmSync(protoDir, { recursive: true, force: true });
    try {
      renameSync(scratch, protoDir);
    } catch (err) {
      if (!protosInstalled()) throw err; // another checkout put the same files there at the same moment
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// --- grpcio (newest wheel) -----------------------------------------------------------------------
const requirements = join(root, 'interop', 'python-client', 'requirements.txt');
const grpcioDir = join(tools, 'grpcio');
const grpcioMarker = join(grpcioDir, '.installed.json');
const grpcioInstalled = () => {
  try {
    const marker = JSON.parse(readFileSync(grpcioMarker, 'utf8'));
    return marker.requirements === sha256(readFileSync(requirements)) && existsSync(marker.python) ? marker : undefined;
  } catch {
    return undefined;
  }
};

function ensureGrpcio() {
  if (grpcioInstalled()) return;
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0);
  if (!python) {
    console.error('meshwork: no python3 with pip here, so grpcio is not installed: the Python gRPC interop tests will fail');
    return;
  }
  const executable = spawnSync(python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  console.error(`meshwork: installing grpcio (${requirements}) into ${grpcioDir} ...`);
  mkdirSync(tools, { recursive: true });
  const scratch = mkdtempSync(join(tools, '.tmp-grpcio-'));
  try {
    const pip = spawnSync(
      executable,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--require-hashes', '--only-binary=:all:', '--target', scratch, '-r', requirements],
      { stdio: 'inherit', env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
    );
    if (pip.status !== 0) throw new Error(`installing grpcio failed (pip exit ${pip.status}); fix the error above, or set MESHWORK_SKIP_GRPC_INTEROP=1 to test without the interop clients`);
    const check = spawnSync(executable, ['-c', 'import grpc, google.protobuf; print(grpc.__version__)'], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: scratch } });
    if (check.status !== 0) throw new Error(`the installed grpcio does not import: ${check.stderr.trim()}`);
    writeFileSync(join(scratch, '.installed.json'), `${JSON.stringify({ requirements: sha256(readFileSync(requirements)), python: executable, grpcio: check.stdout.trim() })}\n`);
    rmSync(grpcioDir, { recursive: true, force: true });
    renameSync(scratch, grpcioDir);
    console.error(`meshwork: grpcio ${check.stdout.trim()} for ${executable}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// --- the Go client -------------------------------------------------------------------------------
const goSources = join(root, 'interop', 'go-client');
const goCommand = () => ['go', '/usr/local/go/bin/go'].find((g) => spawnSync(g, ['version'], { stdio: 'ignore' }).status === 0);

function goClientPath(go) {
  const version = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim();
  const files = readdirSync(goSources).filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum').sort();
  const key = sha256(JSON.stringify([version, ...files.map((f) => [f, sha256(readFileSync(join(goSources, f)))])])).slice(0, 16);
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'meshwork', 'go-client', key);
  return { dir: cache, binary: join(cache, 'xds-interop-client'), version };
}

function ensureGoClient() {
  const go = goCommand();
  if (!go) {
    console.error('meshwork: no Go toolchain here (go on PATH or /usr/local/go/bin/go), so the Go gRPC interop client is not built: its tests will fail');
    return;
  }
  const { dir, binary, version } = goClientPath(go);
  if (existsSync(binary)) return;
  console.error(`meshwork: building the Go gRPC interop client (${version}) into ${dir} ...`);
  mkdirSync(dirname(dir), { recursive: true });
  const scratch = mkdtempSync(join(dirname(dir), '.tmp-'));
  try {
    const build = spawnSync(go, ['build', '-mod=readonly', '-trimpath', '-o', join(scratch, 'xds-interop-client'), '.'], { cwd: goSources, stdio: 'inherit' });
    if (build.status !== 0) throw new Error(`go build in ${goSources} failed (exit ${build.status}); fix the error above, or set MESHWORK_SKIP_GRPC_INTEROP=1 to test without the interop clients`);
    try {
      renameSync(scratch, dir);
    } catch (err) {
      if (!existsSync(binary)) throw err;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv.includes('--where')) {
  const go = goCommand();
  const goClient = go ? goClientPath(go).binary : undefined;
  const grpcio = grpcioInstalled();
  console.log(JSON.stringify({
    protoDir: protosInstalled() ? protoDir : null,
    grpcio: grpcio ? { python: grpcio.python, path: grpcioDir, version: grpcio.grpcio } : null,
    goClient: goClient && existsSync(goClient) ? goClient : null,
    go: go ?? null,
  }));
} else if (process.env.MESHWORK_SKIP_GRPC_INTEROP !== '1') {
  try {
    await ensureProtos();
    ensureGrpcio();
    ensureGoClient();
  } catch (err) {
    console.error(`meshwork: ${err.message}`);
    process.exitCode = 1;
  }
}
