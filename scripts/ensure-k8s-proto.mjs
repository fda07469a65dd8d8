// Fetches Kubernetes' API definitions the local API server reads protobuf bodies with: the module zips
// of k8s.io/api and k8s.io/apimachinery from the Go module proxy, pinned by sha256 in
// k8s-proto.lock.json, of which only the packages the lock lists (and the packages their
// generated.proto imports) are kept: each one's generated.proto and its Go sources (the JSON names and
// omitempty rules are in the Go struct tags, not in the .proto). They go to .tools/k8s-proto/<version>,
// built in a temporary folder and renamed into place, so concurrent runs from several checkouts are safe.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listZipEntries, readZipEntries } from './zip-entries.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lockText = readFileSync(join(root, 'k8s-proto.lock.json'), 'utf8');
const lock = JSON.parse(lockText);
const lockSha256 = createHash('sha256').update(lockText).digest('hex');
const toolsDir = join(root, '.tools', 'k8s-proto');
const target = join(toolsDir, lock.version);

function installed() {
  try {
    return JSON.parse(readFileSync(join(target, 'manifest.json'), 'utf8')).lockSha256 === lockSha256;
  } catch {
    return false;
  }
}

/** The Go files that declare types: no tests, fuzzers, generated marshalling or docs. */
function isWantedFile(name) {
  if (name === 'generated.proto') return true;
  return name.endsWith('.go') && !/(_test|_fuzz|swagger_doc_generated)\.go$|^generated\.pb\.go$|^zz_generated\./.test(name);
}

async function download(module) {
  const url = `${lock.proxy}/${module.path}/@v/${lock.version}.zip`;
  let zip;
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    zip = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    throw new Error(`downloading ${url} failed (${err.cause?.message ?? err.message}): the local API server needs it to read kubectl's protobuf bodies; check the network (or a proxy) and run node scripts/ensure-k8s-proto.mjs again`);
  }
  const sha256 = createHash('sha256').update(zip).digest('hex');
  if (sha256 !== module.sha256) {
    throw new Error(`${url} has sha256 ${sha256}, but k8s-proto.lock.json pins ${module.sha256}: refusing to use it`);
  }
  return zip;
}

/** Reads entries with the `unzip` command when the machine has it, else with our own zip reader. */
function zipReader(zip, scratch, name) {
  const hasUnzip = spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0;
  if (!hasUnzip) return { names: listZipEntries(zip), read: (entry) => readZipEntries(zip, (n) => n === entry).get(entry) };
  const file = join(scratch, `${name.replaceAll('/', '_')}.zip`);
  writeFileSync(file, zip);
  const unzip = (args) => {
    const r = spawnSync('unzip', args, { maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`unzip ${args.join(' ')} failed: ${r.stderr.toString().trim()}`);
    return r.stdout;
  };
  return { names: unzip(['-Z1', file]).toString('utf8').split('\n').filter(Boolean), read: (entry) => unzip(['-p', file, entry]) };
}

function moduleOf(pkg, readers) {
  const module = lock.modules.map((m) => m.path).filter((m) => pkg.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
  if (!module) throw new Error(`${pkg} belongs to none of the modules of k8s-proto.lock.json (${lock.modules.map((m) => m.path).join(', ')})`);
  return { module, reader: readers.get(module) };
}

async function build(scratch) {
  const readers = new Map();
  for (const module of lock.modules) readers.set(module.path, zipReader(await download(module), scratch, module.path));
  const out = join(scratch, 'out');
  const queue = [...lock.packages];
  const done = new Set();
  while (queue.length > 0) {
    const pkg = queue.shift();
    if (done.has(pkg)) continue;
    done.add(pkg);
    const { module, reader } = moduleOf(pkg, readers);
    const prefix = `${module}@${lock.version}/${pkg.slice(module.length + 1)}/`;
    const files = reader.names.filter((n) => n.startsWith(prefix) && !n.slice(prefix.length).includes('/') && isWantedFile(n.slice(prefix.length)));
    if (!files.some((n) => n.endsWith('/generated.proto'))) throw new Error(`${pkg} has no generated.proto in ${module}@${lock.version}: fix the package list of k8s-proto.lock.json`);
    mkdirSync(join(out, pkg), { recursive: true });
    for (const entry of files) {
      const data = reader.read(entry);
      writeFileSync(join(out, pkg, entry.slice(prefix.length)), data);
      if (entry.endsWith('/generated.proto')) {
        for (const m of data.toString('utf8').matchAll(/^import "(k8s\.io\/[^"]+)\/generated\.proto";/gm)) queue.push(m[1]);
      }
    }
  }
  const packages = [...done].sort();
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify({ version: lock.version, lockSha256, packages }, null, 2)}\n`);
  return { out, packages };
}

if (installed()) process.exit(0);
mkdirSync(toolsDir, { recursive: true });
const scratch = mkdtempSync(join(toolsDir, `.tmp-${lock.version}-`));
try {
  console.error(`meshwork: fetching the Kubernetes ${lock.version} API definitions into ${target} ...`);
  const { out, packages } = await build(scratch);
  if (!installed()) {
    // An outdated folder of the same version (an older lock) is moved aside first: a folder cannot be renamed over.
    if (existsSync(target)) renameSync(target, join(scratch, 'outdated'));
    try {
      renameSync(out, target);
    } catch (err) {
      // Another checkout installed the same definitions at the same moment: theirs is as good as ours.
      if (!installed()) throw err;
    }
  }
  console.error(`meshwork: Kubernetes API definitions ${lock.version}: ${packages.length} packages`);
} catch (err) {
  console.error(`meshwork: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
