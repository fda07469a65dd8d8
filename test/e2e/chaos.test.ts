// Chaos under load on the scenario's mesh (two local clusters, the helloworld samples, an ingress
// gateway per cluster behind the MultiClusterIngress): processes are killed while a bounded request loop
// runs, and the failed requests are counted. The figures are in docs/reliability.md.
//   1. the control plane of cluster-1 killed (kill -9, then `kubectl delete pod`): no request fails, as
//      the proxies keep their config while the xDS stream is down, and every proxy is SYNCED again after;
//   2. cluster-2's ingress gateway killed (kill -9) behind the MCI: < 0.5 % failed, failover < 3 s;
//   3. one of two helloworld replicas killed (kill -9 of the app): no request fails, by Istio's default
//      retry policy (503 and connect failures retried on another host).
// Processes are found through the kubelets' pid records, as a node's crash or an OOM kill would hit them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killGroup } from '../../src/local/kubelet/process-registry.js';
import { edgeGatewaysOf } from '../../src/mci/envoy-edge.js';
import { failover, figures, hostLoad, podLoad, type LoadRun } from '../helpers/load.js';
import { E2E_DATA_PLANE, MeshworkEnv, LOCAL_VERSION } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { until } from '../helpers/until.js';
import { podName } from '../helpers/traffic.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const GATEWAY_NS = 'istio-gateway';
const URL = 'http://helloworld.sample:5000/hello';
const ANSWER = /^Hello version: (v\d+), instance: (\S+)$/;

/** Case 3's client sees only cluster-1's helloworld (subset v1 lives there alone). */
const LOCAL_ONLY = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: helloworld-local
spec:
  hosts: [helloworld]
  http:
  - route:
    - destination: {host: helloworld, subset: v1}
`;

function describeFailures(run: LoadRun): string {
  const byKind = new Map<string, number>();
  for (const o of run.outcomes.filter((x) => x.status !== 200)) {
    const key = `${o.status} ${o.body.slice(0, 120)}`;
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
  }
  return [...byKind].map(([k, n]) => `${n}x ${k}`).join('; ');
}

describe(`chaos: processes killed under load (${E2E_DATA_PLANE} data plane)`, { timeout: 300_000 }, () => {
  const env = new MeshworkEnv(190);
  const file = (name: string) => join(scenarioDir(), name);
  let vip = '';
  let sleepPod = '';

  const edgeGateways = async () => edgeGatewaysOf(await (await fetch(`http://${vip.split(':')[0]}:15000/clusters?format=json`)).json());
  /** The proxies of `context` by node id, each with whether every xDS type is SYNCED. */
  const proxyStatus = async (context: string): Promise<Map<string, boolean>> => {
    const res = await env.meshwork(['proxy-status', '--context', context, '-o', 'json']);
    if (res.code !== 0) throw new Error(`proxy-status: ${res.stderr}`);
    const rows = JSON.parse(res.stdout) as Array<{ nodeId: string; types: Record<string, { state: string }> }>;
    return new Map(rows.map((r) => [r.nodeId, Object.values(r.types).every((s) => s.state === 'SYNCED')]));
  };
  /** Every proxy that was connected before is connected again and SYNCED. */
  const allSynced = async (context: string, expected: readonly string[]): Promise<true | undefined> => {
    const now = await proxyStatus(context);
    return expected.every((id) => now.get(id) === true) ? true : undefined;
  };
  const restartCount = async (context: string, namespace: string, pod: string, container: string): Promise<number> =>
    Number((await env.kubectlOk(context, ['get', 'pod', '-n', namespace, pod, '-o', `jsonpath={.status.containerStatuses[?(@.name=="${container}")].restartCount}`])).trim() || '0');
  const sleepLoad = (seconds: number) => podLoad(env, { context: 'cluster-1', namespace: 'sample', pod: sleepPod, container: 'sleep' }, URL, { seconds, maxRequests: 40_000 });
  const podReady = async (context: string, namespace: string, pod: string): Promise<boolean> =>
    (await env.kubectlOk(context, ['get', 'pod', '-n', namespace, pod, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).trim() === 'True';

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    const mesh = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(mesh.code, 0, mesh.stderr + mesh.stdout);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx, [GATEWAY_NS]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld-destinationrule.yaml'), '-f', file('helloworld-gateway.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-n', GATEWAY_NS, '-f', file('istio-ingressgateway')]);
    }
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', file('sleep.yaml')]);
    for (const f of ['multiclusterservice.yaml', 'backendconfig.yaml', 'multiclusteringress.yaml']) await env.kubectlOk('cluster-1', ['apply', '-n', GATEWAY_NS, '-f', file(f)]);
    for (const ctx of CONTEXTS) {
      await env.kubectlOk(ctx, ['rollout', 'status', '-n', GATEWAY_NS, 'deployment/istio-ingressgateway', '--timeout=60s']);
      await env.kubectlOk(ctx, ['rollout', 'status', '-n', 'sample', `deployment/helloworld-${LOCAL_VERSION[ctx]}`, '--timeout=60s']);
    }
    await env.kubectlOk('cluster-1', ['rollout', 'status', '-n', 'sample', 'deployment/sleep', '--timeout=60s']);
    sleepPod = await podName(env, 'cluster-1', 'sample', 'app=sleep');
    vip = await until('status.VIP', 30_000, async () => {
      const out = (await env.kubectlOk('cluster-1', ['get', 'MultiClusterIngress', '-n', GATEWAY_NS, '-o', 'custom-columns=VIP:status.VIP', '--no-headers'])).trim();
      return out && out !== '<none>' ? out : undefined;
    });
    await until('both gateways healthy at the edge', 30_000, async () => {
      const gateways = await edgeGateways();
      return gateways.length === 2 && gateways.every((g) => g.healthy) ? true : undefined;
    });
  });

  after(() => env.cleanup());

  test('case 2: cluster-2\'s ingress gateway killed (kill -9) behind the MCI: < 0.5 % failed, failover < 3 s', async (t) => {
    const gateway = await podName(env, 'cluster-2', GATEWAY_NS, 'app=istio-ingressgateway');
    const pgid = env.containerProcessGroup('cluster-2', GATEWAY_NS, gateway, 'istio-proxy');
    // Concurrent clients, as an edge sees them: retries away from the dead gateway overlap.
    const load = hostLoad(`http://${vip}/hello`, 30_000, 8);
    await sleep(2_000);
    const t0 = Date.now();
    assert.ok(killGroup(pgid, 'SIGKILL'), `the gateway's process group ${pgid} was running`);
    // The kubelet restarts a first crash at once: the gateway may be back before the edge's health checks
    // (2 failures 5 s apart) judge it; when they do, it is recorded.
    let unhealthy: number | undefined;
    while (Date.now() < t0 + 12_000) {
      if (unhealthy === undefined && (await edgeGateways()).every((g) => g.cluster !== 'cluster-2' || !g.healthy)) unhealthy = Date.now();
      await sleep(250);
    }
    const run = await load.stop();
    const f = figures(run);
    const after = run.outcomes.filter((o) => (o.at ?? 0) >= t0);
    const fo = failover(run, t0);
    const lastOnKilled = after.filter((o) => o.status === 200 && o.backend?.startsWith('cluster-2/')).at(-1);
    t.diagnostic(`FIGURES case=gateway-kill plane=${E2E_DATA_PLANE} requests=${f.requests} failures=${f.failures} afterKill=${after.length} ` +
      `longestOutageMs=${fo.longestOutageMs} lastFailureAfterMs=${fo.lastFailureAfterMs} edgeUnhealthyAfterMs=${unhealthy === undefined ? 'never' : unhealthy - t0} maxMs=${f.maxMs}` +
      ` lastAnswerFromKilledAfterMs=${lastOnKilled ? (lastOnKilled.at ?? 0) - t0 : 'none'}`);
    assert.ok(after.length > 100, `the load kept running after the kill: ${after.length}`);
    assert.ok(f.failures < f.requests * 0.005, `${f.failures}/${f.requests} failed: ${describeFailures(run)}`);
    assert.ok(fo.lastFailureAfterMs < 3_000 && fo.longestOutageMs < 3_000, `failover: ${JSON.stringify(fo)}; ${describeFailures(run)}`);
    assert.ok((await restartCount('cluster-2', GATEWAY_NS, gateway, 'istio-proxy')) >= 1, 'the killed gateway was restarted by its kubelet');
  });

  for (const how of ['kill -9', 'kubectl delete pod'] as const) {
    test(`case 1: cluster-1's control plane killed (${how}) under load: no failed request, every proxy SYNCED again`, async (t) => {
      const proxies = [...(await proxyStatus('cluster-1')).keys()];
      assert.ok(proxies.length >= 3, `cluster-1's sleep, helloworld and gateway are connected: ${proxies.join(', ')}`);
      const istiod = await podName(env, 'cluster-1', 'istio-system', 'app=istiod');
      const pgid = env.containerProcessGroup('cluster-1', 'istio-system', istiod, 'discovery');
      // Bounded well past the slowest resync seen (38 s: Envoy's reconnect back-off reaches 30 s).
      const load = sleepLoad(70);
      await sleep(2_000);
      const t0 = Date.now();
      if (how === 'kill -9') assert.ok(killGroup(pgid, 'SIGKILL'), `the control plane's process group ${pgid} was running`);
      else await env.kubectlOk('cluster-1', ['delete', 'pod', '-n', 'istio-system', istiod, '--wait=false']);
      let controlPlaneBack: number | undefined;
      const synced = await until('every proxy of cluster-1 SYNCED with the restarted control plane', 60_000, async () => {
        if (controlPlaneBack === undefined) {
          if (how === 'kubectl delete pod' && (await env.kubectl('cluster-1', ['get', 'pod', '-n', 'istio-system', istiod])).code === 0) return undefined;
          const pod = await podName(env, 'cluster-1', 'istio-system', 'app=istiod');
          if (how === 'kill -9' && (await restartCount('cluster-1', 'istio-system', pod, 'discovery')) < 1) return undefined;
          if (!(await podReady('cluster-1', 'istio-system', pod))) return undefined;
          controlPlaneBack = Date.now();
        }
        return (await allSynced('cluster-1', proxies)) ? Date.now() : undefined;
      }).catch(async (err: Error) => {
        await load.stop().catch(() => undefined);
        const pods = await env.kubectl('cluster-1', ['get', 'pods', '-n', 'istio-system', '-o', 'wide']);
        const logs = await env.kubectl('cluster-1', ['logs', '-n', 'istio-system', '-l', 'app=istiod', '--tail', '30']);
        throw new Error(`${err.message}\n${pods.stdout}\n${logs.stdout}${logs.stderr}`);
      });
      // A second more of load after every proxy is back, then the loop stops.
      await sleep(1_000);
      const run = await load.stop();
      const f = figures(run);
      t.diagnostic(`FIGURES case=control-plane-${how.replace(/\W+/g, '-')} plane=${E2E_DATA_PLANE} requests=${f.requests} failures=${f.failures} controlPlaneReadyAfterMs=${(controlPlaneBack ?? 0) - t0} resyncedAfterMs=${synced - t0} maxMs=${f.maxMs} loadMs=${run.endedAt - run.startedAt}`);
      // What the client's proxy said about its xDS stream meanwhile (reconnect attempts and their back-off).
      const proxyLog = await env.kubectl('cluster-1', ['logs', '-n', 'sample', sleepPod, '-c', 'istio-proxy', '--since=90s']);
      const xdsLines = proxyLog.stdout.split('\n').filter((l) => /xds stream|gRPC config stream/i.test(l));
      t.diagnostic(`sleep's proxy: ${xdsLines.length} xDS stream log lines; last: ${xdsLines.slice(-2).join(' | ')}`);
      assert.ok(f.requests > 500, `the load ran: ${f.requests} requests`);
      assert.equal(f.failures, 0, `${f.failures}/${f.requests} failed: ${describeFailures(run)}`);
      assert.ok(run.endedAt > synced, 'the load ran until every proxy was back');
    });
  }

  test('case 3: one of two helloworld replicas killed (kill -9 of the app) under load: no failed request (Istio\'s default retries)', async (t) => {
    await env.kubectlOk('cluster-1', ['scale', '-n', 'sample', 'deployment/helloworld-v1', '--replicas=2']);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', '-'], LOCAL_ONLY);
    await env.kubectlOk('cluster-1', ['rollout', 'status', '-n', 'sample', 'deployment/helloworld-v1', '--timeout=60s']);
    const replicas = (await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld,version=v1', '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(/\s+/);
    assert.equal(replicas.length, 2, `two replicas: ${replicas.join(', ')}`);
    // Both replicas answer and nothing but v1 does, before the kill.
    await until('both replicas to answer, and only they', 20_000, async () => {
      const probe = await podLoad(env, { context: 'cluster-1', namespace: 'sample', pod: sleepPod, container: 'sleep' }, URL, { seconds: 1, maxRequests: 40, batch: 40 }).done;
      const instances = new Set(probe.outcomes.map((o) => ANSWER.exec(o.body)?.[2]));
      return probe.outcomes.length === 40 && instances.size === 2 && replicas.every((r) => instances.has(r)) ? true : undefined;
    });
    const victim = replicas[0]!;
    const pgid = env.containerProcessGroup('cluster-1', 'sample', victim, 'helloworld');
    const load = sleepLoad(45);
    await sleep(2_000);
    assert.ok(killGroup(pgid, 'SIGKILL'), `the app's process group ${pgid} was running`);
    // The load runs on until the kubelet has restarted the app (its crash back-off) and the replica is
    // Ready again: its return is a disruption too.
    await until('the killed replica restarted and Ready', 40_000, async () =>
      (await restartCount('cluster-1', 'sample', victim, 'helloworld')) >= 1 && (await podReady('cluster-1', 'sample', victim)) ? true : undefined);
    await sleep(2_000);
    const run = await load.stop();
    const f = figures(run);
    const versions = new Set(run.outcomes.map((o) => ANSWER.exec(o.body)?.[1] ?? 'none'));
    const byInstance: Record<string, number> = {};
    for (const o of run.outcomes) {
      const instance = ANSWER.exec(o.body)?.[2] ?? `status ${o.status}`;
      byInstance[instance] = (byInstance[instance] ?? 0) + 1;
    }
    // Requests the survivor answered alone between two answers of the victim: the victim's outage.
    const victimAt = run.outcomes.flatMap((o, i) => (ANSWER.exec(o.body)?.[2] === victim ? [i] : []));
    const outage = Math.max(0, ...victimAt.slice(1).map((at, k) => at - victimAt[k]!));
    t.diagnostic(`FIGURES case=replica-kill plane=${E2E_DATA_PLANE} requests=${f.requests} failures=${f.failures} maxMs=${f.maxMs} ` +
      `survivorAloneRequests=${outage} loadMs=${run.endedAt - run.startedAt} byInstance=${JSON.stringify(byInstance)}`);
    assert.ok(f.requests > 500, `the load ran: ${f.requests} requests`);
    assert.equal(f.failures, 0, `${f.failures}/${f.requests} failed: ${describeFailures(run)}`);
    assert.deepEqual([...versions], ['v1'], 'only cluster-1\'s helloworld answered');
    assert.ok(outage > 0, `the victim was out (the survivor answered alone) and answered again after its restart: ${outage} requests between its answers`);
    await env.kubectlOk('cluster-1', ['delete', 'virtualservice', '-n', 'sample', 'helloworld-local']);
  });

  test('after the kills: the killed gateway is back at the edge; every proxy SYNCED, none ever NACKed', async () => {
    await until('cluster-2\'s gateway healthy again at the edge', 40_000, async () => ((await edgeGateways()).some((g) => g.cluster === 'cluster-2' && g.healthy) ? true : undefined));
    for (const ctx of CONTEXTS) {
      await until(`every proxy of ${ctx} SYNCED`, 20_000, async () => {
        const status = await proxyStatus(ctx);
        return status.size > 0 && [...status.values()].every(Boolean) ? true : undefined;
      });
    }
    await env.assertDataPlaneAcceptedEverything(CONTEXTS);
  });

  // Case 4, the process hosting the clusters killed (kill -9) under load, runs in the suites that run on
  // both data planes: test/e2e/mesh.test.ts (in-mesh requests between running pods) and
  // test/e2e/ingress.test.ts (requests to the MultiClusterIngress VIP), each across the crash and the next up.
});
