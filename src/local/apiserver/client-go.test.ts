// A real client-go against the API server, configured as Prometheus' Kubernetes discovery configures its
// client (ContentType protobuf, so Accept is protobuf only; a shared informer: list with limit and
// resourceVersion=0, then watch with bookmarks from the list's resourceVersion): interop/k8s-watch-client,
// built with the machine's Go (on PATH or /usr/local/go/bin) into ~/.cache/meshwork/k8s-watch-client/<hash>.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../../repo.js';
import type { TestCluster } from './test-support.js';
import { startTestCluster, TOKEN } from './test-support.js';

const SOURCES = join(REPO_ROOT, 'interop', 'k8s-watch-client');

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The built client, building it when its sources or the Go version changed (the first build downloads client-go). */
function watchClient(): string {
  const go = ['go', '/usr/local/go/bin/go'].find((g) => spawnSync(g, ['version'], { stdio: 'ignore' }).status === 0);
  if (!go) throw new Error('no Go toolchain (go on PATH or /usr/local/go/bin/go): the client-go interop client cannot be built; install Go 1.26');
  const version = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim();
  const files = readdirSync(SOURCES).filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum').sort();
  const key = sha256(JSON.stringify([version, ...files.map((f) => [f, sha256(readFileSync(join(SOURCES, f)))])])).slice(0, 16);
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'meshwork', 'k8s-watch-client', key);
  const binary = join(dir, 'k8s-watch-client');
  if (existsSync(binary)) return binary;
  mkdirSync(dirname(dir), { recursive: true });
  const scratch = mkdtempSync(join(dirname(dir), '.tmp-'));
  const build = spawnSync(go, ['build', '-mod=readonly', '-trimpath', '-o', join(scratch, 'k8s-watch-client'), '.'], { cwd: SOURCES, encoding: 'utf8', timeout: 15 * 60_000 });
  if (build.status !== 0) {
    rmSync(scratch, { recursive: true, force: true });
    throw new Error(`go build in ${SOURCES} failed (exit ${build.status}): ${build.stderr}`);
  }
  try {
    renameSync(scratch, dir);
  } catch {
    rmSync(scratch, { recursive: true, force: true }); // built by a parallel run meanwhile
  }
  return binary;
}

interface Line {
  event: string;
  kind?: string;
  name?: string;
  namespace?: string;
  targetPort?: string;
  created?: string;
  error?: string;
}

describe('client-go (as Prometheus\' Kubernetes discovery) against the API server', { timeout: 20 * 60_000 }, () => {
  let c: TestCluster;
  let binary = '';
  let caFile = '';
  let tokenFile = '';

  before(async () => {
    binary = watchClient();
    c = await startTestCluster({ watch: { bookmarkIntervalMs: 300 } });
    caFile = join(c.dir, 'ca.crt');
    tokenFile = join(c.dir, 'token');
    writeFileSync(caFile, c.caPem);
    writeFileSync(tokenFile, TOKEN);
  });
  after(() => c?.close());

  const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'img', ports: [{ containerPort: 80 }] }] } });

  /** Runs the client for `seconds`, calling `meanwhile` once it has synced; its JSON lines. */
  async function informer(resource: string, seconds: number, meanwhile: () => Promise<void>): Promise<Line[]> {
    const child = execFile(binary, ['-server', c.server.url, '-ca', caFile, '-token-file', tokenFile, '-resource', resource, '-seconds', String(seconds)], { timeout: (seconds + 20) * 1000 });
    let out = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 10_000;
    while (!out.includes('"synced"')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the informer did not sync: ${out}${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await meanwhile();
    const code = await exited;
    assert.equal(code, 0, stderr);
    return out.trim().split('\n').map((l) => JSON.parse(l) as Line);
  }

  test('pods: listed, then added and deleted through the watch, in protobuf, with no watch error', async () => {
    assert.equal((await c.request('POST', '/api/v1/namespaces/default/pods', { body: pod('listed') })).status, 201);
    const lines = await informer('pods', 3, async () => {
      assert.equal((await c.request('POST', '/api/v1/namespaces/default/pods', { body: pod('watched') })).status, 201);
      assert.equal((await c.request('DELETE', '/api/v1/namespaces/default/pods/listed')).status, 200);
    });
    assert.deepEqual(lines.filter((l) => l.event === 'error'), [], 'no watch error');
    assert.deepEqual(lines.filter((l) => l.event !== 'update').map((l) => `${l.event} ${l.name ?? ''}`.trim()), ['add listed', 'synced', 'add watched', 'delete listed']);
    assert.match(lines[0]!.created ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'creationTimestamp decoded');
    assert.ok(c.auditLines.some((l) => /GET \/api\/v1\/pods\?.*watch=true/.test(l) && /allowWatchBookmarks=true/.test(l)), 'watched with bookmarks');
  });

  test('services and endpoints: a named target port survives the protobuf round trip', async () => {
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'watched' }, ports: [{ port: 80, targetPort: 'http' }] } };
    assert.equal((await c.request('POST', '/api/v1/namespaces/default/services', { body: service })).status, 201);
    const services = await informer('services', 1, async () => {});
    assert.deepEqual(services.filter((l) => l.event === 'add').map((l) => [l.name, l.targetPort]), [['web', 'http']]);
    const endpoints = await informer('endpoints', 1, async () => {});
    assert.deepEqual(endpoints.filter((l) => l.event === 'error'), []);
  });
});
