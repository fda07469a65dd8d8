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
import { createPod, curl, getPod, harness, type Harness, isReady, pidOf, processAlive, waitFor, waitForPod } from './kubelet-testing.js';

const RUN_KUBELET = fileURLToPath(new URL(`./run-kubelet${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

test('kill -9 of a kubelet: every pod keeps running and serving; the next kubelet adopts them (same processes, IPs, restart counts) and follows their logs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kubelet-restart-'));
  const storeFile = join(dir, 'store.db');
  const stateDir = join(dir, 'state');
  const seed = openSqliteStore({ path: storeFile });
  createPod(seed, 'hello', [{ name: 'helloworld', image: 'docker.io/istio/examples-helloworld-v1', ports: [{ containerPort: 5000 }], readinessProbe: { tcpSocket: { port: 5000 }, periodSeconds: 1 } }]);
  createPod(seed, 'sleep', [{ name: 'sleep', image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'] }]);
  createPod(seed, 'idle', [{ name: 'curl', image: 'curlimages/curl' }]);
  createPod(seed, 'gone', [{ name: 'sleep', image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'] }]);
  seed.close();

  const child = spawn(process.execPath, [...nodeLoaderArgs(), RUN_KUBELET, `--store=${storeFile}`, `--state-dir=${stateDir}`, '--subnet=208', '--node=test-208-node', '--wait-ready=hello,sleep,idle,gone'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let second: Harness | undefined;
  t.after(async () => {
    // Whatever happened above, leave no pod process behind (what `meshwork down` does without a host).
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
  const { hello, sleep, idle, gone } = first.pods;
  assert.equal((await curl(`http://${hello.ip}:5000/hello`)).stdout, 'Hello version: v1, instance: hello\n');
  assert.match(readFileSync(`/proc/${sleep.pid}/environ`, 'latin1'), /MESHWORK_POD_UID=/);

  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // No kubelet: every pod runs on, the built-in app serves (its stdin is its monitor's, not the kubelet's).
  await new Promise((r) => setTimeout(r, 500));
  for (const [name, p] of Object.entries(first.pods)) assert.ok(processAlive(p.pid), `${name} (pid ${p.pid}) died with its kubelet`);
  assert.equal((await curl(`http://${hello.ip}:5000/hello`)).stdout, 'Hello version: v1, instance: hello\n', 'served while no kubelet ran');
  // One container ends while nobody watches: its monitor records the exit, the next kubelet starts the pod anew.
  process.kill(gone.pid, 'SIGKILL');
  await waitFor('the stray container is gone', () => !processAlive(gone.pid), 5000);

  const store = openSqliteStore({ path: storeFile });
  const h = harness(208, { store, stateDir });
  second = h;
  await h.kubelet.ready;
  for (const [name, p] of Object.entries({ hello, sleep, idle })) {
    assert.ok(processAlive(p.pid), `${name} was killed instead of adopted`);
    const pod = getPod(store, name)!;
    assert.equal(pidOf(pod, pod.spec.containers[0].name), p.pid, `${name} runs the same process`);
    assert.equal(pod.status?.containerStatuses?.[0]?.restartCount, 0, `${name} was not restarted`);
    assert.equal(pod.status?.podIP, p.ip);
    assert.ok(isReady(pod), `${name} stays Ready`);
  }
  assert.ok(h.lines.some((l) => l.includes('pod sample/hello adopted')), h.lines.join('\n'));
  const goneAgain = await waitForPod(store, 'gone', 'gone running again', (p) => isReady(p) && pidOf(p, 'sleep') !== gone.pid);
  assert.equal(goneAgain.status?.containerStatuses?.[0]?.restartCount, 1);

  // The adopted helloworld's new output reaches a follower, through the file its monitor writes.
  const ac = new AbortController();
  const follow = h.kubelet.logs({ namespace: 'sample', pod: 'hello', follow: true, previous: false, timestamps: false, signal: ac.signal });
  let followed = '';
  follow.on('data', (c: Buffer) => (followed += c.toString()));
  await curl(`http://${hello.ip}:5000/hello`);
  await waitFor('the request line followed', () => followed.split('\n').filter((l) => l.includes('"GET /hello" 200')).length >= 3, 5000);
  ac.abort();

  // An adopted container that exits is restarted by its new kubelet, which learns the exit from the monitor.
  process.kill(sleep.pid, 'SIGKILL');
  const sleepAgain = await waitForPod(store, 'sleep', 'adopted sleep restarted', (p) => isReady(p) && pidOf(p, 'sleep') !== sleep.pid);
  assert.equal(sleepAgain.status?.containerStatuses?.[0]?.restartCount, 1);
  assert.equal(sleepAgain.status?.containerStatuses?.[0]?.lastState.terminated?.exitCode, 137);
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
