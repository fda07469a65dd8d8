// `meshwork up --apiserver real` as a user meets it: two clusters, each the real etcd, kube-apiserver
// and kube-controller-manager v1.34.4 on the local address plan (octets 64/65 and 74/75) with one
// process-kubelet node joined, the real kubectl through the written kubeconfig, `status`, the printed
// gaps, pods running on the nodes, and `down` stopping every process (pods by PID too).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processRunning } from '../../src/os/proc.js';
import { MeshworkEnv, type RunResult } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { until } from '../helpers/until.js';

const BASE = 64;

/** The process groups the node's kubelet recorded (kubelet/pids.json), still running. */
function podPids(stateDir: string, cluster: string): number[] {
  const file = join(stateDir, 'clusters', cluster, 'kubelet', 'pids.json');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return [...new Set([...text.matchAll(/"pgid":\s*(\d+)/g)].map((m) => Number(m[1])))].filter(processRunning);
}
const CONTEXTS = ['cluster-1', 'cluster-2'] as const;

describe('meshwork up --apiserver real', { timeout: 300_000 }, () => {
  const env = new MeshworkEnv(BASE);
  let up: RunResult;
  const pids = (cluster: string) => Object.values(JSON.parse(readFileSync(join(env.stateDir, 'clusters', cluster, 'control-plane-pids.json'), 'utf8')) as Record<string, number>);

  before(async () => {
    const started = Date.now();
    up = await env.meshwork(['up', '-d', '--clusters', '2', '--subnet-base', String(BASE), '--apiserver', 'real', '--timeout', '180'], 200_000);
    console.log(`up -d --apiserver real: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(up.code, 0, `meshwork up failed: ${up.stderr}${up.stdout}`);
  });
  after(() => env.cleanup());

  test('up says what the real mode does not do yet; each cluster has its node, Ready', async () => {
    assert.match(up.stdout, /not yet with --apiserver real: Services have no endpoints/);
    for (const context of CONTEXTS) {
      assert.equal((await env.kubectlOk(context, ['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{end}'])).trim(), `${context}-node=True`);
    }
    assert.match(up.stdout, /export KUBECONFIG=/);
  });

  test('up runs the mesh: installed into both, a control plane per cluster outside it, create-mesh; each watches the other', async () => {
    for (const [i, cluster] of ['cluster-1', 'cluster-2'].entries()) {
      const host = `127.${BASE + 10 * i}.0.1`;
      assert.match(up.stdout, new RegExp(`^${cluster}: mesh control plane \\(Kubernetes mode, outside the cluster\\) on ${host.replace(/\./g, '\\.')}: xDS and CA :15012, webhooks :15017, debug :15014$`, 'm'));
      const other = i === 0 ? 'cluster-2' : 'cluster-1';
      const registry = (await (await fetch(`http://${host}:15014/debug/registry`)).json()) as { clusters: Array<{ clusterId: string; remote: boolean; synced: boolean }> };
      assert.ok(registry.clusters.some((c) => c.clusterId === other && c.remote && c.synced), JSON.stringify(registry.clusters.map((c) => [c.clusterId, c.remote, c.synced])));
      assert.match(await env.kubectlOk(cluster, ['get', 'mutatingwebhookconfiguration', '-o', 'jsonpath={.items[*].webhooks[*].clientConfig.url}']), new RegExp(`https://${host.replace(/\./g, '\\.')}:15017/inject`));
    }
    assert.match(up.stdout, /^create-mesh: cluster-1, cluster-2 joined into one mesh$/m);
  });

  test('status lists both clusters as Ready', async () => {
    const res = await env.meshwork(['status', '-o', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as { clusters: Array<{ name: string; status: string }> };
    assert.deepEqual(report.clusters.map((c) => `${c.name}=${c.status}`), ['cluster-1=Ready', 'cluster-2=Ready']);
  });

  test('each context is a real kube-apiserver v1.34.4 with its own service range', async () => {
    for (const [i, context] of CONTEXTS.entries()) {
      const version = JSON.parse(await env.kubectlOk(context, ['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
      assert.equal(version.serverVersion.gitVersion, 'v1.34.4');
      const ip = (await env.kubectlOk(context, ['get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
      assert.equal(ip, `127.${BASE + 10 * i + 1}.0.1`);
    }
  });

  test("a Deployment's Pods from the real controller manager run on the cluster's own node", async () => {
    assert.match(await env.kubectlOk('cluster-2', ['get', 'nodes']), /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\ncluster-2-node\s+Ready\s+<none>\s+\S+\s+v1\.34\.4\n$/);
    await env.kubectlOk('cluster-2', ['create', 'deployment', 'web', '--image=docker.io/istio/examples-helloworld-v1', '--port=5000', '--replicas=2']);
    const pods = await until('2 Running pods of web', 60_000, async () => {
      const list = JSON.parse(await env.kubectlOk('cluster-2', ['get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: Array<{ spec: { nodeName?: string }; status: { phase?: string; podIP?: string } }> };
      return list.items.length === 2 && list.items.every((p) => p.status.phase === 'Running') ? list.items : undefined;
    });
    for (const pod of pods) {
      assert.equal(pod.spec.nodeName, 'cluster-2-node');
      assert.match(pod.status.podIP ?? '', new RegExp(`^127\\.${BASE + 10}\\.`));
    }
  });

  test("the scenario's workloads apply unchanged to the real API server, as the README's steps do, and run in the mesh", async () => {
    const helloworld = join(scenarioDir(), 'helloworld.yaml');
    await env.kubectlOk('cluster-1', ['create', 'namespace', 'sample']);
    await env.kubectlOk('cluster-1', ['label', 'namespace', 'sample', 'istio.io/rev=asm-managed-stable', '--overwrite']);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', helloworld, '-l', 'service=helloworld']);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', helloworld, '-l', 'version=v1']);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
    const deployments = (await env.kubectlOk('cluster-1', ['get', 'deployments', '-n', 'sample', '-o', 'name'])).trim().split('\n').sort();
    assert.deepEqual(deployments, ['deployment.apps/helloworld-v1', 'deployment.apps/sleep']);
    await until('a Running pod per scenario Deployment', 60_000, async () => {
      const phases = (await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'sample', '-o', 'jsonpath={range .items[*]}{.status.phase}{" "}{end}'])).trim().split(' ').filter(Boolean);
      return phases.length === 2 && phases.every((p) => p === 'Running') ? phases : undefined;
    });
    // up runs the mesh: the namespace's pods got their Envoy sidecars, which reach cluster-1's control
    // plane at its discovery address and take its config.
    const containers = (await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'sample', '-o', 'jsonpath={range .items[*]}{.spec.containers[*].name}{"\\n"}{end}'])).trim().split('\n').sort();
    assert.deepEqual(containers, ['helloworld istio-proxy', 'sleep istio-proxy']);
    await until('both sidecars SYNCED at cluster-1\'s control plane', 60_000, async () => {
      const syncz = (await (await fetch(`http://127.${BASE}.0.1:15014/debug/syncz`)).json()) as { proxies: Array<{ nodeId: string; types: Record<string, { state: string }> }> };
      const synced = syncz.proxies.filter((p) => p.nodeId.includes('.sample~') && ['LDS', 'RDS', 'CDS', 'EDS'].every((t) => p.types[t]?.state === 'SYNCED'));
      return synced.length === 2 ? synced : undefined;
    });
    // The README's request: kubectl exec into sleep, curl through its sidecar to helloworld.
    const hello = await until('helloworld answering sleep through its sidecar', 30_000, async () => {
      const res = await env.kubectl('cluster-1', ['exec', '-n', 'sample', 'deploy/sleep', '-c', 'sleep', '--', 'curl', '-sS', '-m', '5', 'helloworld.sample:5000/hello']);
      return res.code === 0 && /^Hello version: v1, instance: helloworld-v1-/.test(res.stdout) ? res.stdout : undefined;
    });
    assert.match(hello, /^Hello version: v1/);
    // The Service's ClusterIP comes from cluster-1's range; no kube-proxy serves it yet.
    assert.match((await env.kubectlOk('cluster-1', ['get', 'service', 'helloworld', '-n', 'sample', '-o', 'jsonpath={.spec.clusterIP}'])).trim(), new RegExp(`^127\\.${BASE + 1}\\.`));
  });

  test('down stops every etcd, kube-apiserver and kube-controller-manager, and every pod process', async () => {
    const all = CONTEXTS.flatMap((c) => pids(c));
    assert.equal(all.length, 6);
    assert.ok(all.every(processRunning), 'all six processes run before down');
    const pods = CONTEXTS.flatMap((c) => podPids(env.stateDir, c));
    assert.ok(pods.length >= 4, `pod processes recorded: ${pods.join(', ')}`);
    const down = await env.meshwork(['down'], 60_000);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(all.filter(processRunning), []);
    assert.deepEqual(pods.filter(processRunning), []);
  });
});

describe('meshwork up --apiserver real after a restart and a kill -9 of its host', { timeout: 300_000 }, () => {
  const env = new MeshworkEnv(BASE);
  const pids = () => Object.values(JSON.parse(readFileSync(join(env.stateDir, 'clusters', 'cluster-1', 'control-plane-pids.json'), 'utf8')) as Record<string, number>);
  const up = async () => {
    const res = await env.meshwork(['up', '-d', '--clusters', '1', '--subnet-base', String(BASE), '--apiserver', 'real', '--timeout', '180'], 200_000);
    assert.equal(res.code, 0, `meshwork up failed: ${res.stderr}${res.stdout}`);
  };
  before(up);
  after(() => env.cleanup());

  test('objects persist in etcd across down and up, with the same credentials; the node runs its pods again', async () => {
    await env.kubectlOk('cluster-1', ['create', 'configmap', 'kept', '--from-literal=k=v']);
    await env.kubectlOk('cluster-1', ['create', 'deployment', 'kept', '--image=docker.io/istio/examples-helloworld-v1', '--port=5000']);
    const running = async () => {
      const out = (await env.kubectlOk('cluster-1', ['get', 'pods', '-l', 'app=kept', '-o', 'jsonpath={.items[*].metadata.name} {.items[*].status.phase}'])).trim();
      return / Running$/.test(out) ? out.split(' ')[0] : undefined;
    };
    const before = await until('a Running pod of kept', 60_000, running);
    const pidsBefore = podPids(env.stateDir, 'cluster-1');
    assert.equal((await env.meshwork(['down'], 60_000)).code, 0);
    assert.deepEqual(pidsBefore.filter(processRunning), [], 'down stopped the pod');
    await up();
    assert.equal((await env.kubectlOk('cluster-1', ['get', 'configmap', 'kept', '-o', 'jsonpath={.data.k}'])).trim(), 'v');
    // The same pod object, its processes started again by the node after the restart.
    const after = await until('kept Running again', 60_000, async () => {
      const name = await running();
      return name && podPids(env.stateDir, 'cluster-1').length > 0 ? name : undefined;
    });
    assert.equal(after, before);
  });

  test('down after a kill -9 of the host stops the control plane and the pods it left running', async () => {
    const running = pids();
    assert.equal(running.length, 3);
    await env.kubectlOk('cluster-1', ['create', 'deployment', 'left', '--image=docker.io/istio/examples-helloworld-v1', '--port=5000']);
    await until('a Running pod of left', 60_000, async () => ((await env.kubectlOk('cluster-1', ['get', 'pods', '-l', 'app=left', '-o', 'jsonpath={.items[*].status.phase}'])).trim() === 'Running' ? true : undefined));
    const pods = podPids(env.stateDir, 'cluster-1');
    assert.ok(pods.length >= 1 && pods.every(processRunning));
    process.kill(env.hostPid(), 'SIGKILL');
    await until('the host to die', 10_000, async () => (processRunning(env.hostPid()) ? undefined : true));
    assert.ok(running.every(processRunning), 'etcd, kube-apiserver and kube-controller-manager outlive their host');
    const down = await env.meshwork(['down'], 60_000);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopping kube-apiserver \(pid \d+\) left running/);
    assert.deepEqual(running.filter(processRunning), []);
    assert.deepEqual(pods.filter(processRunning), []);
  });
});
