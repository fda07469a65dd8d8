// scripts/ensure-k8s-proto.mjs against a local stand-in for the Go module proxy: module zips made here
// (python3's zipfile, deflated and stored entries), served over HTTP. It keeps only the listed packages
// and those their generated.proto imports, checks the pinned sha256, names the URL when the download
// fails, reads zips without the `unzip` command too, and concurrent runs end with one complete folder.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../../repo.js';

const VERSION = 'v9.9.9';

/** A zip of `files` (name -> text); entries ending in .go are stored, the rest deflated. */
function makeZip(path: string, files: Record<string, string>): Buffer {
  const script = [
    'import json, sys, zipfile',
    'files = json.load(sys.stdin)',
    'with zipfile.ZipFile(sys.argv[1], "w") as z:',
    '    for name, text in files.items():',
    '        z.writestr(name, text, zipfile.ZIP_STORED if name.endswith(".go") else zipfile.ZIP_DEFLATED)',
    '    z.comment = b"made for a test"',
  ].join('\n');
  execFileSync('python3', ['-c', script, path], { input: JSON.stringify(files) });
  return readFileSync(path);
}

function runScript(repo: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'scripts', 'ensure-k8s-proto.mjs')], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

describe('scripts/ensure-k8s-proto.mjs', () => {
  let dir: string;
  let server: Server;
  let proxyUrl: string;
  const zips = new Map<string, Buffer>();
  let requests = 0;

  const api = {
    'k8s.io/api@v9.9.9/core/v1/generated.proto': 'package k8s.io.api.core.v1;\nimport "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto";\n',
    'k8s.io/api@v9.9.9/core/v1/types.go': 'package v1\n',
    'k8s.io/api@v9.9.9/core/v1/types_test.go': 'package v1\n',
    'k8s.io/api@v9.9.9/core/v1/generated.pb.go': 'package v1\n',
    'k8s.io/api@v9.9.9/core/v1/zz_generated.deepcopy.go': 'package v1\n',
    'k8s.io/api@v9.9.9/apps/v1/generated.proto': 'package k8s.io.api.apps.v1;\n',
  };
  const machinery = {
    'k8s.io/apimachinery@v9.9.9/pkg/apis/meta/v1/generated.proto': 'package k8s.io.apimachinery.pkg.apis.meta.v1;\n',
    'k8s.io/apimachinery@v9.9.9/pkg/apis/meta/v1/time.go': 'package v1\n',
    'k8s.io/apimachinery@v9.9.9/pkg/apis/meta/v1/unstructured/helpers.go': 'package unstructured\n',
  };

  function repoWithLock(lock: object): string {
    const repo = mkdtempSync(join(dir, 'repo-'));
    mkdirSync(join(repo, 'scripts'));
    for (const f of ['ensure-k8s-proto.mjs', 'zip-entries.mjs']) copyFileSync(join(REPO_ROOT, 'scripts', f), join(repo, 'scripts', f));
    writeFileSync(join(repo, 'k8s-proto.lock.json'), JSON.stringify(lock));
    return repo;
  }

  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const goodLock = () => ({
    version: VERSION,
    proxy: proxyUrl,
    modules: [
      { path: 'k8s.io/api', sha256: sha(zips.get('k8s.io/api')!) },
      { path: 'k8s.io/apimachinery', sha256: sha(zips.get('k8s.io/apimachinery')!) },
    ],
    packages: ['k8s.io/api/core/v1'],
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ensure-k8s-proto-'));
    zips.set('k8s.io/api', makeZip(join(dir, 'api.zip'), api));
    zips.set('k8s.io/apimachinery', makeZip(join(dir, 'machinery.zip'), machinery));
    server = createServer((req, res) => {
      requests++;
      const m = /^\/(.+)\/@v\/(v[^/]+)\.zip$/.exec(req.url ?? '');
      const zip = m && m[2] === VERSION ? zips.get(m[1]) : undefined;
      res.writeHead(zip ? 200 : 404).end(zip);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the zip reader of machines without unzip reads deflated and stored entries', async () => {
    const { listZipEntries, readZipEntries } = (await import(pathToFileURL(join(REPO_ROOT, 'scripts', 'zip-entries.mjs')).href)) as {
      listZipEntries(zip: Buffer): string[];
      readZipEntries(zip: Buffer, wanted: (name: string) => boolean): Map<string, Buffer>;
    };
    const zip = zips.get('k8s.io/api')!;
    assert.deepEqual(listZipEntries(zip), Object.keys(api));
    const read = readZipEntries(zip, (n) => n.includes('core/v1/'));
    assert.deepEqual([...read.keys()], Object.keys(api).filter((n) => n.includes('core/v1/')));
    for (const [name, data] of read) assert.equal(data.toString(), api[name as keyof typeof api]);
    assert.throws(() => listZipEntries(Buffer.from('not a zip')), /not a zip archive/);
  });

  for (const [how, env] of [['with unzip', {}], ['without unzip', { PATH: '' }]] as const) {
    test(`installs the listed packages and their imports, ${how}`, async () => {
      const repo = repoWithLock(goodLock());
      const r = await runScript(repo, env);
      assert.equal(r.code, 0, r.stderr);
      const target = join(repo, '.tools', 'k8s-proto', VERSION);
      const manifest = JSON.parse(readFileSync(join(target, 'manifest.json'), 'utf8')) as { packages: string[]; lockSha256: string };
      assert.deepEqual(manifest.packages, ['k8s.io/api/core/v1', 'k8s.io/apimachinery/pkg/apis/meta/v1']);
      assert.equal(manifest.lockSha256, sha(readFileSync(join(repo, 'k8s-proto.lock.json'))));
      assert.deepEqual(readdirSync(join(target, 'k8s.io/api/core/v1')).sort(), ['generated.proto', 'types.go']);
      assert.deepEqual(readdirSync(join(target, 'k8s.io/apimachinery/pkg/apis/meta/v1')).sort(), ['generated.proto', 'time.go']);
      assert.ok(!existsSync(join(target, 'k8s.io/api/apps')), 'apps/v1 is neither listed nor imported');
      assert.deepEqual(readdirSync(join(repo, '.tools', 'k8s-proto')), [VERSION], 'no temporary folder is left');
      // Installed: a second run downloads nothing.
      const before = requests;
      assert.equal((await runScript(repo, env)).code, 0);
      assert.equal(requests, before);
    });
  }

  test('concurrent runs leave one complete folder; a changed lock replaces it', async () => {
    const repo = repoWithLock(goodLock());
    const runs = await Promise.all([runScript(repo), runScript(repo), runScript(repo)]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(join(repo, '.tools', 'k8s-proto')), [VERSION]);
    writeFileSync(join(repo, 'k8s-proto.lock.json'), JSON.stringify({ ...goodLock(), packages: ['k8s.io/api/core/v1', 'k8s.io/api/apps/v1'] }));
    assert.equal((await runScript(repo)).code, 0);
    assert.ok(existsSync(join(repo, '.tools', 'k8s-proto', VERSION, 'k8s.io/api/apps/v1/generated.proto')));
    assert.deepEqual(readdirSync(join(repo, '.tools', 'k8s-proto')), [VERSION]);
  });

  test('a zip that does not match the pinned sha256 is refused; a failed download names the URL', async () => {
    const lock = goodLock();
    lock.modules[1].sha256 = '0'.repeat(64);
    const wrong = await runScript(repoWithLock(lock));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`${proxyUrl}/k8s.io/apimachinery/@v/${VERSION}.zip has sha256 [0-9a-f]{64}, but k8s-proto.lock.json pins 0{64}: refusing to use it`));
    const missing = await runScript(repoWithLock({ ...goodLock(), version: 'v0.0.1' }));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`downloading ${proxyUrl}/k8s.io/api/@v/v0.0.1.zip failed \\(HTTP 404 Not Found\\)`));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await runScript(repoWithLock({ ...goodLock(), proxy: `http://127.0.0.1:${closedPort}` }));
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, new RegExp(`downloading http://127\\.0\\.0\\.1:${closedPort}/k8s\\.io/api/@v/v9\\.9\\.9\\.zip failed \\(connect ECONNREFUSED`));
  });
});
