// The embedded default as a user meets it: `meshwork up -d`, then the real kubectl doing the scenario's
// steps on both contexts with the unchanged scenario YAML, exec + real curl in the sleep pod, apply
// idempotence, apiserver-style rejections, and a kill -9 of the hosting process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processRunning } from '../../src/os/proc.js';
import { MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { until } from '../helpers/until.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;

/** Whether a process runs (a killed orphan stays a zombie until init reaps it: not running). */
const runs = processRunning;
const VERSION_OF: Record<(typeof CONTEXTS)[number], string> = { 'cluster-1': 'v1', 'cluster-2': 'v2' };

describe('local clusters driven by the real kubectl', { timeout: 240_000 }, () => {
  const env = new MeshworkEnv(110);
  const scenario = scenarioDir();
  const file = (name: string) => join(scenario, name);

  before(async () => {
    const up = await env.up(2);
    assert.equal(up.code, 0, `meshwork up -d failed: ${up.stderr}${up.stdout}`);
    assert.match(up.stdout, /export KUBECONFIG=/);
  });
  after(() => env.cleanup());

  async function waitForPods(context: string, namespace: string, selector: string, count: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const out = await env.kubectlOk(context, ['get', 'pods', '-n', namespace, '-l', selector, '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
      const ready = out.split('\n').filter((l) => l === 'True').length;
      if (ready === count) return;
      if (Date.now() > deadline) throw new Error(`${context}: ${ready}/${count} pods ready for ${selector} in ${namespace}`);
      await sleep(100);
    }
  }

  test('status lists both clusters as Ready', async () => {
    const res = await env.meshwork(['status', '-o', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as { clusters: Array<{ name: string; status: string }> };
    assert.deepEqual(report.clusters.map((c) => `${c.name}=${c.status}`), ['cluster-1=Ready', 'cluster-2=Ready']);
  });

  test('the scenario deploys on both contexts with unchanged YAML', async () => {
    for (const ctx of CONTEXTS) {
      await env.kubectlOk(ctx, ['create', 'namespace', 'sample']);
      await env.kubectlOk(ctx, ['label', 'namespace', 'sample', 'istio.io/rev=asm-managed-stable', '--overwrite']);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld.yaml'), '-l', 'service=helloworld']);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld.yaml'), '-l', `version=${VERSION_OF[ctx]}`]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('sleep.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld-destinationrule.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld-virtualservice.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld-gateway.yaml')]);
      await env.kubectlOk(ctx, ['create', 'namespace', 'istio-gateway']);
      await env.kubectlOk(ctx, ['label', 'namespace', 'istio-gateway', 'istio.io/rev=asm-managed-stable', '--overwrite']);
      await env.kubectlOk(ctx, ['apply', '-n', 'istio-gateway', '-f', file('istio-ingressgateway')]);
    }
    await env.kubectlOk('cluster-1', ['apply', '-n', 'istio-gateway', '-f', file('backendconfig.yaml')]);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'istio-gateway', '-f', file('multiclusterservice.yaml')]);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'istio-gateway', '-f', file('multiclusteringress.yaml')]);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', file('helloworld-gateway-canary.yaml')]);

    for (const ctx of CONTEXTS) {
      await waitForPods(ctx, 'sample', 'app=helloworld', 1);
      await waitForPods(ctx, 'sample', 'app=sleep', 1);
      const names = await env.kubectlOk(ctx, ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'jsonpath={.items[*].metadata.name}']);
      assert.match(names, new RegExp(`^helloworld-${VERSION_OF[ctx]}-[a-z0-9]{6,10}-[a-z0-9]{5}$`));
      const kinds = await env.kubectlOk(ctx, ['get', 'virtualservices,destinationrules,gateways', '-n', 'sample', '-o', 'name']);
      assert.match(kinds, /virtualservice\.networking\.istio\.io\/helloworld\n/);
      assert.match(kinds, /destinationrule\.networking\.istio\.io\/helloworld\n/);
      assert.match(kinds, /gateway\.networking\.istio\.io\/helloworld-gateway\n/);
    }
    const mci = await env.kubectlOk('cluster-1', ['get', 'multiclusteringress', '-n', 'istio-gateway', '-o', 'name']);
    assert.equal(mci.trim(), 'multiclusteringress.networking.gke.io/istio-ingressgateway');
  });

  test('get -o wide, -o jsonpath and -o custom-columns show pod IPs from each cluster\'s range', async () => {
    const wide = await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'sample', '-o', 'wide']);
    assert.match(wide.split('\n')[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    assert.match(wide, /helloworld-v1-\S+\s+1\/1\s+Running\s+0\s+\S+\s+127\.110\.\d+\.\d+\s+cluster-1-node/);
    const ips = await env.kubectlOk('cluster-2', ['get', 'pods', '-n', 'sample', '-o', 'jsonpath={.items[*].status.podIP}']);
    for (const ip of ips.trim().split(' ')) assert.match(ip, /^127\.120\.\d+\.\d+$/);
    const columns = await env.kubectlOk('cluster-2', ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'custom-columns=NAME:.metadata.name,VERSION:.metadata.labels.version,IP:.status.podIP', '--no-headers']);
    assert.match(columns.trim(), /^helloworld-v2-\S+\s+v2\s+127\.120\.\d+\.\d+$/);
  });

  test('exec into the sleep pod: real curl reaches helloworld by pod IP', async () => {
    const ip = (await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    const sleepPod = (await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'sample', '-l', 'app=sleep', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    const out = await env.kubectlOk('cluster-1', ['exec', '-n', 'sample', sleepPod, '-c', 'sleep', '--', 'curl', '-sS', `http://${ip}:5000/hello`]);
    assert.match(out, /^Hello version: v1, instance: helloworld-v1-[a-z0-9]+-[a-z0-9]{5}\n$/);
    const hostname = await env.kubectlOk('cluster-1', ['exec', '-n', 'sample', sleepPod, '--', 'sh', '-c', 'echo $HOSTNAME; exit 3']).catch((err: Error) => err.message);
    assert.match(hostname, /exited 3/);
    assert.match(hostname, new RegExp(sleepPod));
  });

  test('applying the same file twice is a no-op; a changed field is patched', async () => {
    const rv = async () => (await env.kubectlOk('cluster-1', ['get', 'virtualservice', 'helloworld', '-n', 'sample', '-o', 'jsonpath={.metadata.resourceVersion}'])).trim();
    const before = await rv();
    const again = await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', file('helloworld-virtualservice.yaml')]);
    assert.match(again, /virtualservice\.networking\.istio\.io\/helloworld unchanged/);
    assert.equal(await rv(), before);

    const changed = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: helloworld
spec:
  hosts:
  - helloworld
  http:
  - route:
    - destination:
        host: helloworld
        subset: v1
      weight: 50
    - destination:
        host: helloworld
        subset: v2
      weight: 50
`;
    const patched = await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', '-'], changed);
    assert.match(patched, /virtualservice\.networking\.istio\.io\/helloworld configured/);
    const weights = await env.kubectlOk('cluster-1', ['get', 'vs', 'helloworld', '-n', 'sample', '-o', 'jsonpath={.spec.http[0].route[*].weight}']);
    assert.equal(weights.trim(), '50 50');
    assert.notEqual(await rv(), before);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', file('helloworld-virtualservice.yaml')]);
  });

  test('a changed Deployment template rolls out new pods', async () => {
    await env.kubectlOk('cluster-2', ['set', 'env', 'deployment/helloworld-v2', '-n', 'sample', 'ROLL=1']);
    await env.kubectlOk('cluster-2', ['rollout', 'status', 'deployment/helloworld-v2', '-n', 'sample', '--timeout=30s']);
    const env2 = await env.kubectlOk('cluster-2', ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'jsonpath={.items[*].spec.containers[0].env[0].value}']);
    assert.equal(env2.trim(), '1');
  });

  test('bad objects are rejected as the apiserver rejects them, and nothing is stored', async () => {
    const badWeight = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: bad-weight
spec:
  hosts: [helloworld]
  http:
  - route:
    - destination: {host: helloworld}
      weight: "eighty"
`;
    const r1 = await env.kubectl('cluster-1', ['apply', '-n', 'sample', '-f', '-'], badWeight);
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /is invalid: spec\.http\[0\]\.route\[0\]\.weight/);
    const noSelector = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: no-selector
spec:
  template:
    metadata: {labels: {app: x}}
    spec:
      containers: [{name: x, image: curlimages/curl}]
`;
    const r2 = await env.kubectl('cluster-1', ['apply', '-n', 'sample', '-f', '-'], noSelector);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /spec\.selector: Required value/);
    const unknownKind = `apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
`;
    const r3 = await env.kubectl('cluster-1', ['apply', '-n', 'sample', '-f', '-'], unknownKind);
    assert.notEqual(r3.code, 0);
    assert.match(r3.stderr, /no matches for kind "Widget" in version "example\.com\/v1"/);
    const stored = await env.kubectl('cluster-1', ['get', 'vs/bad-weight', 'deployment/no-selector', '-n', 'sample', '--ignore-not-found', '-o', 'name']);
    assert.equal(stored.stdout.trim(), '');
  });

  test('kill -9 of the hosting process, then up: pods and the edge Envoy kept running and are adopted, objects are back', async () => {
    const pid = env.hostPid();
    const podsOf = async (ctx: string) =>
      (await env.kubectlOk(ctx, ['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[*].containerID}/{.status.containerStatuses[*].restartCount}{"\\n"}{end}'])).trim().split('\n').sort();
    const before = { 'cluster-1': await podsOf('cluster-1'), 'cluster-2': await podsOf('cluster-2') };
    const edgePids = env.edgeEnvoyPids();
    assert.equal(edgePids.length, 1, 'one MultiClusterIngress, one edge Envoy');
    process.kill(pid, 'SIGKILL');
    await sleep(200);
    for (const edge of edgePids) assert.ok(runs(edge), `edge Envoy ${edge} died with its host`);
    const up = await env.up(2);
    assert.equal(up.code, 0, `second up failed: ${up.stderr}${up.stdout}`);
    for (const ctx of CONTEXTS) {
      assert.deepEqual(await podsOf(ctx), before[ctx], `${ctx}: pods were restarted instead of adopted`);
      const vs = await env.kubectlOk(ctx, ['get', 'vs', '-n', 'sample', '-o', 'name']);
      assert.match(vs, /helloworld/);
    }
    await until('the MCI controller adopted the edge', 20_000, async () => (/adopted the running Envoy/.test(readFileSync(join(env.stateDir, 'meshwork.log'), 'utf8')) ? true : undefined));
    assert.deepEqual(env.edgeEnvoyPids(), edgePids, 'the same edge Envoy serves the VIP');
    const ip = (await env.kubectlOk('cluster-2', ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    const sleepPod = (await env.kubectlOk('cluster-2', ['get', 'pods', '-n', 'sample', '-l', 'app=sleep', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    const out = await env.kubectlOk('cluster-2', ['exec', '-n', 'sample', sleepPod, '--', 'curl', '-sS', `http://${ip}:5000/hello`]);
    assert.match(out, /^Hello version: v2, instance: helloworld-v2-/);
  });

  test('delete removes objects; deleting a namespace removes what is in it', async () => {
    await env.kubectlOk('cluster-2', ['delete', '-n', 'sample', '-f', file('sleep.yaml')]);
    const left = await env.kubectlOk('cluster-2', ['get', 'deployments', '-n', 'sample', '-o', 'name']);
    assert.doesNotMatch(left, /sleep/);
    await env.kubectlOk('cluster-2', ['delete', 'namespace', 'istio-gateway', '--timeout=30s']);
    const ns = await env.kubectl('cluster-2', ['get', 'namespace', 'istio-gateway']);
    assert.notEqual(ns.code, 0);
    assert.match(ns.stderr, /namespaces "istio-gateway" not found/);
  });
});

describe('down, then up again', { timeout: 120_000 }, () => {
  const env = new MeshworkEnv(230);
  after(() => env.cleanup());

  test('a stopped state folder starts again with `up -d`', async () => {
    assert.equal((await env.up(1)).code, 0);
    const down = await env.meshwork(['down']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopped cluster-1/);
    const status = await env.meshwork(['status']);
    assert.match(status.stdout, /cluster-1\s+Stopped/);
    const again = await env.up(1);
    assert.equal(again.code, 0, again.stderr + again.stdout);
  });

  test('down after the hosting process was killed stops the pods it left running', async () => {
    await env.kubectlOk('cluster-1', ['run', 'idle', '--image', 'curlimages/curl']);
    let podPid = 0;
    await until('the pod runs', 20_000, async () => {
      const id = (await env.kubectlOk('cluster-1', ['get', 'pod', 'idle', '-o', 'jsonpath={.status.containerStatuses[0].containerID}'])).trim();
      podPid = Number(id.replace('meshwork://', ''));
      return podPid > 0 ? true : undefined;
    });
    process.kill(env.hostPid(), 'SIGKILL');
    await sleep(300);
    assert.ok(runs(podPid), 'the pod outlives its host');
    const down = await env.meshwork(['down']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /\d+ pod processes it left running/);
    assert.equal(runs(podPid), false, 'down stopped the pod');
  });
});
