// The real Kubernetes control plane (etcd, kube-apiserver and kube-controller-manager v1.34.4, built by
// scripts/ensure-kube-binaries.mjs) on 127.62.0.1, driven with the real kubectl through a kubeconfig
// written by local/kubeconfig.ts: a Deployment becomes a ReplicaSet and Pods made by the real
// controller manager, and the `kubernetes` Service gets the first ClusterIP of our scheme.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { mergeKubeconfigFile } from '../local/kubeconfig.js';
import { processRunning } from '../os/proc.js';
import { requireKubeBinaries } from './binaries.js';
import { startRealControlPlane, type RealControlPlane } from './control-plane.js';

const run = promisify(execFile);
const OCTET = 62;
const dir = mkdtempSync(join(tmpdir(), 'meshwork-realkube-'));
const kubeconfig = join(dir, 'kubeconfig');
let plane: RealControlPlane | undefined;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, '--context', 'real-1', ...args], { timeout: 30_000 });
  return stdout;
}

async function eventually<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await attempt();
    if (last !== undefined) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
}

interface Owned {
  metadata: { name: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[]; managedFields?: { manager: string }[] };
  spec?: { nodeName?: string };
  status?: { replicas?: number; phase?: string };
}

before(async () => {
  const binaries = requireKubeBinaries();
  const started = Date.now();
  plane = await startRealControlPlane({ name: 'real-1', subnetOctet: OCTET, dir: join(dir, 'real-1'), binaries, log: (line) => console.log(line) });
  console.log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  mergeKubeconfigFile(kubeconfig, [{ name: 'real-1', server: plane.server, caPem: plane.caPem, token: plane.token }], 'real-1');
});

after(async () => {
  const pids = plane ? Object.values(plane.pids) : [];
  await plane?.stop();
  for (const pid of pids) assert.equal(processRunning(pid), false, `process ${pid} still runs after stop()`);
  rmSync(dir, { recursive: true, force: true });
});

test('kubectl reaches the real kube-apiserver v1.34.4 with our kubeconfig, as admin', async () => {
  const version = JSON.parse(await kubectl('version', '-o', 'json')) as { serverVersion: { gitVersion: string } };
  assert.equal(version.serverVersion.gitVersion, 'v1.34.4');
  assert.equal((await kubectl('auth', 'can-i', '*', '*')).trim(), 'yes');
  const whoami = JSON.parse(await kubectl('auth', 'whoami', '-o', 'json')) as { status: { userInfo: { username: string; groups: string[] } } };
  assert.equal(whoami.status.userInfo.username, 'admin');
  assert.ok(whoami.status.userInfo.groups.includes('system:masters'));
});

test('the kubernetes Service has the first ClusterIP of 127.63.0.0/16', async () => {
  assert.equal((await kubectl('get', 'service', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}')).trim(), `127.${OCTET + 1}.0.1`);
  // A Service of ours gets an address in the same range from the real allocator.
  await kubectl('create', 'service', 'clusterip', 'web', '--tcp=80:8080');
  const ip = (await kubectl('get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}')).trim();
  assert.match(ip, new RegExp(`^127\\.${OCTET + 1}\\.\\d+\\.\\d+$`));
});

test('a Deployment applied with kubectl gets its ReplicaSet and Pods from the real kube-controller-manager', async () => {
  const manifest = join(dir, 'web.yaml');
  writeFileSync(
    manifest,
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: web, namespace: default, labels: {app: web}}',
      'spec:',
      '  replicas: 2',
      '  selector: {matchLabels: {app: web}}',
      '  template:',
      '    metadata: {labels: {app: web}}',
      '    spec: {containers: [{name: web, image: registry.k8s.io/pause:3.10}]}',
      '',
    ].join('\n'),
  );
  assert.match(await kubectl('apply', '-f', manifest), /deployment\.apps\/web created/);

  const replicaSet = await eventually('a ReplicaSet of web with 2 replicas', 60_000, async () => {
    const list = JSON.parse(await kubectl('get', 'replicasets', '-l', 'app=web', '-o', 'json')) as { items: Owned[] };
    return list.items.find((rs) => rs.status?.replicas === 2);
  });
  assert.deepEqual(
    replicaSet.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.controller]),
    [['Deployment', 'web', true]],
  );
  assert.ok(replicaSet.metadata.managedFields?.some((f) => f.manager === 'kube-controller-manager'), 'the ReplicaSet is written by kube-controller-manager');

  const pods = await eventually('2 Pods of web', 60_000, async () => {
    const list = JSON.parse(await kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')) as { items: Owned[] };
    return list.items.length === 2 ? list.items : undefined;
  });
  for (const pod of pods) {
    assert.deepEqual(pod.metadata.ownerReferences?.map((o) => [o.kind, o.name]), [['ReplicaSet', replicaSet.metadata.name]]);
    // No node and no scheduler here: the pods wait, as on a cluster without nodes.
    assert.equal(pod.spec?.nodeName, undefined);
    assert.equal(pod.status?.phase, 'Pending');
  }
  // The table kubectl prints comes from the real server too.
  assert.match(await kubectl('get', 'deployment', 'web'), /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+0\/2\s+2\s+0\s+/);
});
