import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../store/sqlite-store.js';
import { POD_TYPE } from './events.js';
import { nodeLoaderArgs } from './launch-plan.js';
import { ProcessRegistry } from './process-registry.js';
import { createPod, curl, harness, type Harness, isReady, pidOf, processAlive, waitFor, waitForPod } from './kubelet-testing.js';

const RUN_KUBELET = fileURLToPath(new URL(`./run-kubelet${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

test('kill -9 of a kubelet: built-in apps die with it, real commands are cleaned up by the next kubelet, pods come back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kubelet-restart-'));
  const storeFile = join(dir, 'store.db');
  const stateDir = join(dir, 'state');
  const seed = openSqliteStore({ path: storeFile });
  createPod(seed, 'hello', [{ name: 'helloworld', image: 'docker.io/istio/examples-helloworld-v1', ports: [{ containerPort: 5000 }] }]);
  createPod(seed, 'sleep', [{ name: 'sleep', image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'] }]);
  createPod(seed, 'idle', [{ name: 'curl', image: 'curlimages/curl' }]);
  seed.close();

  const child = spawn(process.execPath, [...nodeLoaderArgs(), RUN_KUBELET, `--store=${storeFile}`, `--state-dir=${stateDir}`, '--subnet=208', '--node=test-208-node', '--wait-ready=hello,sleep,idle'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let second: Harness | undefined;
  t.after(async () => {
    // Whatever happened above, leave no pod process behind (what a next kubelet would do).
    child.kill('SIGKILL');
    if (second) await second.kubelet.stop();
    await new ProcessRegistry(join(stateDir, 'pids.json'), () => undefined).killLeftovers();
    second?.store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('child kubelet ready', () => {
    if (child.exitCode !== null) throw new Error(`child kubelet exited ${child.exitCode}: ${stderr}`);
    return stdout.includes('\n');
  }, 20_000).catch((err: Error) => {
    throw new Error(`${err.message}; stdout: ${stdout}; stderr: ${stderr}; state: ${describeState(stateDir)}; pods: ${JSON.stringify(openSqliteStore({ path: storeFile }).list(POD_TYPE).items.map((i) => [i.metadata.name, i.spec, i.status]))}`);
  });
  const first: { pods: Record<string, { ip: string; pid: number }> } = JSON.parse(stdout.trim());
  const { hello, sleep, idle } = first.pods;
  assert.equal((await curl(`http://${hello.ip}:5000/hello`)).stdout, 'Hello version: v1, instance: hello\n');
  assert.ok(processAlive(hello.pid) && processAlive(sleep.pid) && processAlive(idle.pid));
  assert.match(readFileSync(`/proc/${sleep.pid}/environ`, 'latin1'), /MESHWORK_POD_UID=/);

  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await waitFor('helloworld exits on its own when its kubelet dies', () => !processAlive(hello.pid), 5000);
  await waitFor('the idle placeholder too', () => !processAlive(idle.pid), 5000);
  assert.ok(processAlive(sleep.pid), '/bin/sleep cannot notice: it is an orphan until the next kubelet starts');

  const store = openSqliteStore({ path: storeFile });
  const h = harness(208, { store, stateDir });
  second = h;
  await h.kubelet.ready;
  assert.equal(processAlive(sleep.pid), false, 'the leftover was killed before pods started again');
  assert.ok(h.lines.some((l) => l.includes(`killed leftover process ${sleep.pid} of sample/sleep/sleep`)), h.lines.join('\n'));
  const again = await waitForPod(store, 'sleep', 'sleep running again', (p) => isReady(p) && pidOf(p, 'sleep') !== sleep.pid);
  assert.equal(again.status?.containerStatuses?.[0]?.restartCount, 1);
  assert.ok(processAlive(pidOf(again, 'sleep')));
  const helloAgain = await waitForPod(store, 'hello', 'hello running again', (p) => isReady(p) && pidOf(p, 'helloworld') !== hello.pid);
  assert.equal(helloAgain.status?.podIP, hello.ip, 'a pod keeps its IP across kubelet restarts');
  assert.equal((await curl(`http://${hello.ip}:5000/hello`)).stdout, 'Hello version: v1, instance: hello\n');
});

test('a pid recorded in pids.json that belongs to an unrelated process is left alone', async (t) => {
  const h0 = harness(209);
  const stateDir = h0.stateDir;
  await h0.kubelet.stop();
  // An unrelated process (no pod marker) whose group is recorded as if a kubelet had started it.
  const stranger = spawn('/bin/sleep', ['30'], { detached: true, stdio: 'ignore' });
  t.after(() => stranger.kill('SIGKILL'));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(stateDir, 'pids.json'), JSON.stringify([{ pgid: stranger.pid, podUid: 'some-uid', owner: 'x/y/z' }]));
  const h = harness(209, { store: h0.store, stateDir });
  t.after(() => h.close());
  await h.kubelet.ready;
  assert.ok(processAlive(stranger.pid!), 'no MESHWORK_POD_UID marker: not ours, not killed');
  assert.equal(readFileSync(join(stateDir, 'pids.json'), 'utf8').trim(), '[]');
});

function describeState(stateDir: string): string {
  const parts: string[] = [];
  for (const f of ['pids.json', 'logs/sample_hello_helloworld.log']) {
    try {
      parts.push(`${f}: ${readFileSync(join(stateDir, f), 'utf8')}`);
    } catch (err) {
      parts.push(`${f}: ${(err as Error).message}`);
    }
  }
  return parts.join('\n');
}
