// Scenario steps 2-5 as a user runs them: install the control plane into both local clusters, deploy
// the samples into a namespace labelled for injection, join the clusters, then measure splits from the
// sleep pod of each cluster with real curl through its sidecar, judged by a chi-square test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';
import { E2E_DATA_PLANE, MeshworkEnv, run, LOCAL_VERSION } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { parseAnswers, podName, sendFromPod, type Split } from '../helpers/traffic.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const URL = 'http://helloworld.sample:5000/hello';
const N = 1000;

function assertSplit(split: Split, weights: Record<string, number>, what: string): void {
  const versions = Object.keys(weights);
  const observed = versions.map((v) => split.byVersion[v] ?? 0);
  const other = Object.keys(split.byVersion).filter((v) => !versions.includes(v));
  assert.deepEqual(other, [], `${what}: unexpected versions ${other.join(', ')}`);
  assert.equal(split.failures, 0, `${what}: ${split.failures} failed requests`);
  const result = chiSquareTest(observed, versions.map((v) => weights[v]), SUITE_ALPHA);
  assert.ok(result.pass, `${what}: ${JSON.stringify(split.byVersion)} is not consistent with ${JSON.stringify(weights)} (p=${result.pValue.toExponential(2)})`);
}

describe(`the mesh across two local clusters (${E2E_DATA_PLANE} data plane)`, { timeout: 600_000 }, () => {
  const env = new MeshworkEnv(90);
  const file = (name: string) => join(scenarioDir(), name);
  const sleepPods: Record<string, string> = {};

  const send = (context: (typeof CONTEXTS)[number], count = N) => sendFromPod(env, context, 'sample', sleepPods[context], URL, count);
  const applyBoth = async (args: string[]) => {
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, args);
  };

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('sleep.yaml')]);
    }
    for (const ctx of CONTEXTS) {
      await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2);
      await env.waitPodsReady(ctx, 'sample', 'app=sleep', 2);
      sleepPods[ctx] = await podName(env, ctx, 'sample', 'app=sleep');
    }
  });
  after(() => env.cleanup());

  test('pods of a namespace labelled istio.io/rev get the sidecar, visible in the pod spec', async () => {
    const containers = await env.kubectlOk('cluster-1', ['get', 'pod', sleepPods['cluster-1'], '-n', 'sample', '-o', 'jsonpath={.spec.containers[*].name} {.metadata.annotations.sidecar\\.istio\\.io/status}']);
    assert.match(containers, /^sleep istio-proxy \{/);
  });

  test('before create-mesh each cluster sees only its own version', async () => {
    for (const ctx of CONTEXTS) {
      const split = await send(ctx, 200);
      assert.equal(split.failures, 0, `${ctx}: ${split.failures} failures`);
      assert.deepEqual(Object.keys(split.byVersion), [LOCAL_VERSION[ctx]], `${ctx}: ${JSON.stringify(split.byVersion)}`);
    }
  });

  test('after create-mesh: 50/50 across clusters from both sleep pods, no rules', async () => {
    const res = await env.meshwork(['create-mesh', 'cluster-1', 'cluster-2']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    for (const ctx of CONTEXTS) {
      const deadline = Date.now() + 20_000;
      while (Object.keys((await send(ctx, 20)).byVersion).length < 2) {
        assert.ok(Date.now() < deadline, `${ctx}: the other cluster's endpoints never arrived`);
        await sleep(250);
      }
      assertSplit(await send(ctx), { v1: 50, v2: 50 }, `${ctx} no rules`);
    }
  });

  test('DestinationRule + VirtualService: 80/20; delete the VirtualService: 50/50; re-apply: 80/20, each 2 s after the apply', async () => {
    await applyBoth(['apply', '-n', 'sample', '-f', file('helloworld-destinationrule.yaml'), '-f', file('helloworld-virtualservice.yaml')]);
    await sleep(2000);
    for (const ctx of CONTEXTS) assertSplit(await send(ctx), { v1: 80, v2: 20 }, `${ctx} 80/20`);

    await applyBoth(['delete', '-n', 'sample', 'virtualservice', 'helloworld']);
    await sleep(2000);
    for (const ctx of CONTEXTS) assertSplit(await send(ctx), { v1: 50, v2: 50 }, `${ctx} after deleting the VirtualService`);

    await applyBoth(['apply', '-n', 'sample', '-f', file('helloworld-virtualservice.yaml')]);
    await sleep(2000);
    for (const ctx of CONTEXTS) assertSplit(await send(ctx), { v1: 80, v2: 20 }, `${ctx} 80/20 again`);
  });

  test(`meshwork traffic, proxy-status and proxy-config read the ${E2E_DATA_PLANE} sidecars`, async () => {
    const traffic = await env.meshwork(['traffic', '--context', 'cluster-2', '-n', 'sample', '--from', 'deploy/sleep', '--url', URL, '--requests', '400', '--alpha', String(SUITE_ALPHA)], 120_000);
    assert.equal(traffic.code, 0, traffic.stderr + traffic.stdout);
    assert.match(traffic.stdout, /^expected shares from: applied config \(context cluster-2\)\nproxy config agrees with the applied config /m);
    assert.match(traffic.stdout, /^v1\s+\d+\s+[\d.]+%\s+80\.0%$/m);
    assert.match(traffic.stdout, /^PASS$/m);
    const status = await env.meshwork(['proxy-status', '--context', 'cluster-2']);
    const sleepRow = status.stdout.split('\n').find((l) => l.startsWith(sleepPods['cluster-2']));
    assert.match(sleepRow ?? '', E2E_DATA_PLANE === 'envoy' ? /envoy \d+\.\d+\.\d+$/ : /meshwork-proxy \S+$/, status.stdout);
    const routes = await env.meshwork(['proxy-config', 'deploy/sleep', '-n', 'sample', '--context', 'cluster-2', '--type', 'routes']);
    assert.equal(routes.code, 0, routes.stderr);
    assert.match(routes.stderr, /from its proxy/);
    assert.match(routes.stdout, /http_proxy\s+helloworld\.sample\.svc\.cluster\.local:5000/);
    const bootstrap = await env.meshwork(['proxy-config', 'deploy/sleep', '-n', 'sample', '--context', 'cluster-2', '--type', 'bootstrap', '-o', 'json']);
    if (E2E_DATA_PLANE === 'envoy') {
      assert.equal(bootstrap.code, 0, bootstrap.stderr);
      const node = (JSON.parse(bootstrap.stdout) as { bootstrap: { node: { id: string; metadata: Record<string, string> } } }).bootstrap.node;
      assert.match(node.id, /^sidecar~127\.\d+\.0\.\d+~sleep-/);
      assert.equal(node.metadata.CLUSTER_ID, 'cluster-2');
    } else {
      assert.notEqual(bootstrap.code, 0);
      assert.match(bootstrap.stderr, /only an Envoy's own dump has its bootstrap/);
    }
  });

  test('every proxy is SYNCED; an invalid config is caught by the analyzer and never NACKed', async () => {
    const badWeights = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: zero-weights
spec:
  hosts: [sleep]
  http:
  - route:
    - destination: {host: sleep, subset: nowhere}
      weight: 0
`;
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', '-'], badWeights);
    await sleep(1500);
    const status = await env.meshwork(['proxy-status', '--context', 'cluster-1', '-o', 'json']);
    assert.equal(status.code, 0, status.stderr + status.stdout);
    const proxies = JSON.parse(status.stdout) as Array<{ nodeId: string; types: Record<string, { state: string; nack?: unknown }> }>;
    assert.ok(proxies.length >= 2, `expected the sidecars of cluster-1, got ${proxies.length}`);
    for (const p of proxies) {
      for (const [type, s] of Object.entries(p.types)) {
        assert.equal(s.nack, undefined, `${p.nodeId} NACKed ${type}`);
        assert.equal(s.state, 'SYNCED', `${p.nodeId} ${type} is ${s.state}`);
      }
    }
    const analyze = await env.meshwork(['analyze', '--context', 'cluster-1', '-n', 'sample']);
    assert.notEqual(analyze.code, 0);
    assert.match(analyze.stdout + analyze.stderr, /zero-weights/);
    await env.kubectlOk('cluster-1', ['delete', '-n', 'sample', 'virtualservice', 'zero-weights']);
  });

  test('kill -9 of the hosting process: requests between running pods keep flowing; up -d adopts every pod and says ready once proxies are synced', async (t) => {
    const podsOf = async (ctx: string) =>
      (await env.kubectlOk(ctx, ['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.status.containerStatuses[*].containerID}/{.status.containerStatuses[*].restartCount}{"\\n"}{end}'])).trim().split('\n').sort();
    const before = { 'cluster-1': await podsOf('cluster-1'), 'cluster-2': await podsOf('cluster-2') };
    const sleepIp = (await env.kubectlOk('cluster-1', ['get', 'pod', sleepPods['cluster-1'], '-n', 'sample', '-o', 'jsonpath={.status.podIP}'])).trim();
    // What the sleep app does (its http_proxy is its sidecar's outbound port), from outside the pod: kubectl
    // exec needs the API server, which dies with the host.
    let stop = false;
    const answers: string[] = [];
    let sent = 0;
    const loop = (async () => {
      while (!stop) {
        const batch = 20;
        const urls = Array.from({ length: batch }, () => URL);
        const res = await run('curl', ['-s', '-m', '5', '-w', '\\n', '-x', `http://${sleepIp}:15001`, ...urls], { timeoutMs: 30_000 });
        sent += batch;
        answers.push(res.stdout);
      }
    })();
    await sleep(1000);
    process.kill(env.hostPid(), 'SIGKILL');
    await sleep(3000); // no API server, no kubelet, no controllers: the pods serve on their own
    const whileDown = parseAnswers(answers.join('\n'), sent);
    const upStarted = Date.now();
    const up = await env.up(2);
    assert.equal(up.code, 0, `up after the crash failed: ${up.stderr}${up.stdout}`);
    const upMs = Date.now() - upStarted;
    await sleep(1000);
    stop = true;
    await loop;
    const split = parseAnswers(answers.join('\n'), sent);
    t.diagnostic(`${split.total} requests (${whileDown.total} while the host was down), ${split.failures} failed; up -d after the crash took ${upMs} ms`);
    assert.ok(whileDown.total >= 100, `only ${whileDown.total} requests ran while the host was down`);
    assert.equal(split.failures, 0, `${split.failures} of ${split.total} in-mesh requests failed across the crash`);
    assert.deepEqual(Object.keys(split.byVersion).sort(), ['v1', 'v2'], 'requests crossed to the other cluster throughout');
    for (const ctx of CONTEXTS) assert.deepEqual(await podsOf(ctx), before[ctx], `${ctx}: pods were restarted instead of adopted`);
    // up -d returned only once every proxy had its config again.
    const status = await env.meshwork(['proxy-status', '--context', 'cluster-1']);
    assert.equal(status.code, 0, status.stderr);
    assert.doesNotMatch(status.stdout, /STALE|NOT SENT|DISCONNECTED/, status.stdout);
  });

  test('scaling helloworld-v2 to 0: 100% v1 with no failed request once endpoints converge', async () => {
    await applyBoth(['delete', '-n', 'sample', 'virtualservice', 'helloworld']);
    await env.kubectlOk('cluster-2', ['scale', '-n', 'sample', 'deployment/helloworld-v2', '--replicas=0']);
    const deadline = Date.now() + 20_000;
    while ((await env.kubectlOk('cluster-2', ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'name'])).trim() !== '') {
      assert.ok(Date.now() < deadline, 'helloworld-v2 pods did not go away');
      await sleep(200);
    }
    await sleep(2000);
    for (const ctx of CONTEXTS) {
      const split = await send(ctx, 300);
      assert.equal(split.failures, 0, `${ctx}: ${split.failures} failures`);
      assert.deepEqual(split.byVersion, { v1: 300 }, ctx);
    }
  });

  test('every proxy of both control planes runs the chosen data plane and never NACKed', async () => {
    await env.assertDataPlaneAcceptedEverything(CONTEXTS);
  });
});
