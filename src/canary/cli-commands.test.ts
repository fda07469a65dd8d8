// `meshwork canary ...` as a user runs it (the built CLI, a real process) against a local API server:
// start from flags and from a file, the spec changes as merge patches, status and status -w following
// status writes until a terminal phase, and the errors for a missing Canary and bad flags.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { startLocalCluster, type LocalCluster } from '../local/cluster.js';
import { buildKubeconfig } from '../k8s/kubeconfig.js';
import { REPO_ROOT } from '../repo.js';
import type { Canary, CanaryStatus } from '../config/canary/types.js';

let dir: string;
let cluster: LocalCluster | undefined;
let kubeconfig: string;
let custom: CustomObjectsApi;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function meshwork(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(REPO_ROOT, 'bin', 'meshwork.js'), ...args, '--kubeconfig', kubeconfig], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin?.end(input ?? '');
  });
}

const ref = (name: string) => ({ group: 'rollouts.meshwork.io', version: 'v1alpha1', namespace: 'sample', plural: 'canaries', name });
const getCanary = async (name: string) => (await custom.getNamespacedCustomObject(ref(name))) as Canary;

async function writeStatus(name: string, status: CanaryStatus): Promise<void> {
  const live = await getCanary(name);
  await custom.replaceNamespacedCustomObjectStatus({ ...ref(name), body: { ...live, status } });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canary-cli-'));
  cluster = await startLocalCluster({ name: 'cluster-1', subnetOctet: 243, dir: join(dir, 'cluster-1'), log: () => undefined });
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, buildKubeconfig([{ name: cluster.name, server: cluster.server, caPem: cluster.caPem, token: cluster.token }], cluster.name), { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  custom = kc.makeApiClient(CustomObjectsApi);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'sample' } } });
});
after(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('start from flags creates the Canary; -o json prints what the server stored; a second start is refused', async () => {
  const res = await meshwork(['canary', 'start', 'hello', '-n', 'sample', '--host', 'helloworld', '--baseline', 'v1', '--canary', 'v2', '--steps', '10,25,50', '--interval', '5s', '--success-rate', '95', '--max-p99', '800']);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout.trim(), 'canary.rollouts.meshwork.io/hello created');
  const live = await getCanary('hello');
  assert.deepEqual(live.spec.analysis.stepWeights, [10, 25, 50]);
  assert.deepEqual(live.spec.analysis.metrics.map((m) => [m.name, m.thresholdRange]), [['request-success-rate', { min: 95 }], ['request-duration', { max: 800 }]]);
  const again = await meshwork(['canary', 'start', 'hello', '-n', 'sample', '--host', 'helloworld', '--baseline', 'v1', '--canary', 'v2']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^error: .*canaries.rollouts.meshwork.io "hello" already exists/m);
});

test('start -f FILE (and from stdin) with kubectl\'s namespace rule; -f with spec flags is refused', async () => {
  const yaml = `apiVersion: rollouts.meshwork.io/v1alpha1
kind: Canary
metadata: {name: from-file}
spec:
  host: helloworld
  baseline: {subset: cluster-1}
  canary: {subset: cluster-2}
  analysis: {interval: 8s, stepWeights: [10, 25, 50], metrics: [{name: request-success-rate, thresholdRange: {min: 99}}]}
`;
  const file = join(dir, 'canary.yaml');
  writeFileSync(file, yaml);
  const res = await meshwork(['canary', 'start', '-f', file, '-n', 'sample', '-o', 'yaml']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^kind: Canary$/m);
  assert.match(res.stdout, /^ {2}namespace: sample$/m);
  assert.equal((await getCanary('from-file')).spec.baseline.subset, 'cluster-1');
  const stdin = await meshwork(['canary', 'start', '-f', '-', '-n', 'sample'], yaml.replace('from-file', 'from-stdin'));
  assert.equal(stdin.code, 0, stdin.stderr);
  assert.equal(stdin.stdout.trim(), 'canary.rollouts.meshwork.io/from-stdin created');
  const mixed = await meshwork(['canary', 'start', '-f', file, '-n', 'sample', '--steps', '10']);
  assert.equal(mixed.code, 1);
  assert.match(mixed.stderr, /-f and the spec flags .* exclude each other/);
});

test('bad flags are named and nothing is created', async () => {
  const res = await meshwork(['canary', 'start', 'bad', '-n', 'sample', '--host', 'helloworld', '--baseline', 'v1', '--canary', 'v2', '--steps', '50,25']);
  assert.equal(res.code, 1);
  assert.equal(res.stderr.trim(), 'error: --steps "50,25": steps must increase (50 then 25)');
  const missing = await meshwork(['canary', 'start', 'bad', '-n', 'sample']);
  assert.match(missing.stderr, /missing --host, --baseline, --canary/);
  await assert.rejects(getCanary('bad'), (err: { code?: number }) => err.code === 404);
});

test('a missing Canary is named as kubectl names it, by every command', async () => {
  for (const cmd of ['status', 'promote', 'pause', 'resume', 'abort']) {
    const res = await meshwork(['canary', cmd, 'nope', '-n', 'sample']);
    assert.equal(res.code, 1, cmd);
    assert.equal(res.stderr.trim(), 'error: canaries.rollouts.meshwork.io "nope" not found', cmd);
  }
});

test('promote, pause, resume and abort merge-patch spec and leave the rest alone', async () => {
  const before = await getCanary('hello');
  const changes = [['pause', 'paused', 'paused', true], ['resume', 'resumed', 'paused', false], ['promote', 'promoted', 'promote', true], ['abort', 'aborted', 'abort', true]] as const;
  for (const [cmd, verb, field, value] of changes) {
    const res = await meshwork(['canary', cmd, 'hello', '-n', 'sample']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `canary.rollouts.meshwork.io/hello ${verb}`);
    const live = await getCanary('hello');
    assert.equal(live.spec[field], value, `${cmd} sets spec.${field}`);
    if (cmd === 'abort') assert.equal(live.spec.promote, undefined, 'an abort takes back a pending promotion');
    if (cmd === 'resume') {
      // paused is false now: a second resume must still change the spec (a pause by a human edit ends with a new generation).
      const generation = live.metadata.generation!;
      assert.equal((await meshwork(['canary', 'resume', 'hello', '-n', 'sample'])).code, 0);
      const again = await getCanary('hello');
      assert.ok(again.metadata.generation! > generation, `generation ${generation} -> ${again.metadata.generation}`);
      assert.equal(again.spec.paused, undefined);
    }
    assert.deepEqual(live.spec.analysis, before.spec.analysis);
    assert.equal(live.spec.host, before.spec.host);
  }
});

test('status prints the table; -o json the object; -w redraws on each change and ends at a terminal phase', async () => {
  const progressing: CanaryStatus = {
    phase: 'Progressing', currentStep: 0, canaryWeight: 10, failedChecks: 0, routes: [], conditions: [], lastStepTime: new Date().toISOString(),
    lastAnalysis: { time: new Date().toISOString(), canaryWeight: 10, source: 'proxies', verdict: 'pass', reasons: [], canary: { requests: 40, successRate: 100, p99Ms: 3 }, baseline: { requests: 360, successRate: 100, p99Ms: 2.5 } },
  };
  await writeStatus('from-file', progressing);
  const table = await meshwork(['canary', 'status', 'from-file', '-n', 'sample']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^Progressing\s+1\/4\s+90\/10\s+0\/2\s/m);
  assert.match(table.stdout, /^canary\s+cluster-2\s+10\s+40\s+100%\s+3\.00ms$/m);
  assert.match(table.stdout, /^Verdict: pass \(at 10%, from proxies/m);
  const json = JSON.parse((await meshwork(['canary', 'status', 'from-file', '-n', 'sample', '-o', 'json'])).stdout) as Canary;
  assert.equal(json.status?.canaryWeight, 10);

  const watch = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'meshwork.js'), 'canary', 'status', 'from-file', '-n', 'sample', '-w', '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  watch.stdout.on('data', (c: Buffer) => (out += c.toString()));
  watch.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp) => {
    const deadline = Date.now() + 15_000;
    while (!re.test(out)) {
      if (Date.now() > deadline) throw new Error(`status -w never printed ${re}: ${out} ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitFor(/^Progressing\s+1\/4\s+90\/10/m);
  await writeStatus('from-file', { ...progressing, currentStep: 1, canaryWeight: 25 });
  await waitFor(/^Progressing\s+2\/4\s+75\/25/m);
  await writeStatus('from-file', { ...progressing, phase: 'Succeeded', currentStep: 3, canaryWeight: 100, conditions: [{ type: 'Promoted', status: 'True', reason: 'Succeeded', message: 'canary at 100 %', lastTransitionTime: new Date().toISOString() }] });
  assert.equal(await exited, 0, err);
  assert.match(out, /^Succeeded\s+4\/4\s+0\/100/m);
  assert.match(out, /^Promoted\s+True\s+Succeeded\s+\S+\s+canary at 100 %$/m);
  assert.equal(out.match(/^PHASE/gm)?.length, 3, `one table per change: ${out}`);
});
