// Scenario steps 6-8 as a user runs them: an ingress gateway per cluster serving the helloworld Gateway,
// then the multi-cluster ingress (MultiClusterService, BackendConfig, MultiClusterIngress in the config
// cluster, `meshwork up` hosting the multi-cluster ingress controller), checked with real curl on the VIP:
// 50/50 then 20/80 (chi-square), 404 for unrouted paths, failover when cluster-2's gateway goes away and
// its return after passing health checks, and MCI status reasons for broken configuration. The edge is
// Envoy configured over xDS by the controller, or the TypeScript edge when no Envoy is installed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { edgeGatewaysOf } from '../../src/mci/envoy-edge.js';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';
import { E2E_DATA_PLANE, MeshworkEnv, run, LOCAL_VERSION } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { until } from '../helpers/until.js';
import { parseAnswers, type Split } from '../helpers/traffic.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const N = 1000;
const NS = 'istio-gateway';

interface EdgeStats {
  backends: { id: string; cluster: string; healthy: boolean; requests: number }[];
}

function assertSplit(split: Split, weights: Record<string, number>, what: string): void {
  const versions = Object.keys(weights);
  assert.equal(split.failures, 0, `${what}: ${split.failures} failed requests`);
  const result = chiSquareTest(versions.map((v) => split.byVersion[v] ?? 0), versions.map((v) => weights[v]), SUITE_ALPHA);
  assert.ok(result.pass, `${what}: ${JSON.stringify(split.byVersion)} is not consistent with ${JSON.stringify(weights)} (p=${result.pValue.toExponential(2)})`);
}

describe(`ingress gateways and the multi-cluster ingress (${E2E_DATA_PLANE} data plane)`, { timeout: 180_000 }, () => {
  const env = new MeshworkEnv(130);
  const file = (name: string) => join(scenarioDir(), name);
  // `meshwork up` hosts the multi-cluster ingress controller; its lines are in the state folder's log.
  const controllerLog = (): string => readFileSync(join(env.stateDir, 'meshwork.log'), 'utf8');
  let vip = '';
  let adminBase = '';
  const envoyEdge = (): boolean => /edges run Envoy /.test(controllerLog());

  const curlMany = async (url: string, count: number): Promise<Split> => {
    const urls = Array.from({ length: count }, () => url);
    const res = await run('curl', ['-s', '-m', '5', '-w', '\\n', ...urls], { timeoutMs: 120_000 });
    return parseAnswers(res.stdout, count);
  };
  const status = async (url: string): Promise<string> => (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '5', url])).stdout;
  // Envoy's admin API (/clusters) for the Envoy edge, GET /stats for the TypeScript edge.
  const edgeStats = async (): Promise<EdgeStats> =>
    envoyEdge() ? { backends: edgeGatewaysOf(await (await fetch(`${adminBase}/clusters?format=json`)).json()) } : ((await (await fetch(`${adminBase}/stats`)).json()) as EdgeStats);
  const requestsByCluster = (s: EdgeStats): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const b of s.backends) out[b.cluster] = (out[b.cluster] ?? 0) + b.requests;
    return out;
  };
  const mciStatus = async (name: string): Promise<{ VIP?: string; conditions?: { reason: string; status: string; message: string }[] }> =>
    JSON.parse((await env.kubectlOk('cluster-1', ['get', 'mci', '-n', NS, name, '-o', 'jsonpath={.status}'])) || '{}') as { VIP?: string };
  const gatewayIp = async (ctx: string): Promise<string> =>
    (await env.kubectlOk(ctx, ['get', 'pods', '-n', NS, '-l', 'app=istio-ingressgateway', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    const mesh = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(mesh.code, 0, mesh.stderr + mesh.stdout);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx, [NS]);
      await env.kubectlOk(ctx, ['apply', '-n', NS, '-f', file('istio-ingressgateway')]);
      // Step 5 left the subsets v1/v2 (DestinationRule) in both clusters; the canary of step 8 routes to them.
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld-destinationrule.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld-gateway.yaml')]);
    }
    for (const ctx of CONTEXTS) {
      await env.kubectlOk(ctx, ['rollout', 'status', '-n', NS, 'deployment/istio-ingressgateway', '--timeout=60s']);
      await env.kubectlOk(ctx, ['rollout', 'status', '-n', 'sample', `deployment/helloworld-${LOCAL_VERSION[ctx]}`, '--timeout=60s']);
    }
  });

  after(async () => {
    await env.cleanup();
  });

  test('step 6: each cluster\'s gateway serves /hello from both clusters, 404 elsewhere, ready on 15021', async () => {
    for (const ctx of CONTEXTS) {
      const ip = await gatewayIp(ctx);
      assert.equal(await status(`http://${ip}:15021/healthz/ready`), '200', `${ctx} gateway ready`);
      const split = await curlMany(`http://${ip}/hello`, 40);
      assert.equal(split.failures, 0, `${ctx}: ${JSON.stringify(split)}`);
      assert.ok((split.byVersion.v1 ?? 0) > 0 && (split.byVersion.v2 ?? 0) > 0, `${ctx} gateway reaches both clusters: ${JSON.stringify(split.byVersion)}`);
      assert.equal(await status(`http://${ip}/other`), '404');
    }
  });

  test('step 7: the MCI gets a VIP; 1000 requests split 50/50 through the gateways of both clusters', async (t) => {
    for (const f of ['multiclusterservice.yaml', 'backendconfig.yaml', 'multiclusteringress.yaml']) await env.kubectlOk('cluster-1', ['apply', '-n', NS, '-f', file(f)]);
    vip = await until('status.VIP', 30_000, async () => {
      const out = (await env.kubectlOk('cluster-1', ['get', 'MultiClusterIngress', '-n', NS, '-o', 'custom-columns=VIP:status.VIP', '--no-headers'])).trim();
      return out && out !== '<none>' ? out : undefined;
    });
    adminBase = `http://${vip.split(':')[0]}:15000`;
    // The derived Service exists in every member cluster.
    for (const ctx of CONTEXTS) {
      const names = await env.kubectlOk(ctx, ['get', 'svc', '-n', NS, '-l', 'networking.gke.io/derived-from-mcs=istio-ingressgateway', '-o', 'jsonpath={.items[*].spec.type}']);
      assert.equal(names.trim(), 'ClusterIP', `${ctx}: derived Service`);
    }
    await until('both gateways healthy at the edge', 30_000, async () => {
      const s = await edgeStats();
      return s.backends.length === 2 && s.backends.every((b) => b.healthy) ? true : undefined;
    });
    const before = requestsByCluster(await edgeStats());
    const split = await curlMany(`http://${vip}/hello`, N);
    const after = requestsByCluster(await edgeStats());
    assertSplit(split, { v1: 50, v2: 50 }, 'VIP /hello');
    const perGateway = Object.fromEntries(CONTEXTS.map((c) => [c, (after[c] ?? 0) - (before[c] ?? 0)]));
    t.diagnostic(`50/50: ${JSON.stringify(split.byVersion)}; per gateway ${JSON.stringify(perGateway)}`);
    for (const c of CONTEXTS) assert.ok((perGateway[c] ?? 0) > 0, `gateway of ${c} served: ${JSON.stringify(perGateway)}`);
    assert.equal((perGateway['cluster-1'] ?? 0) + (perGateway['cluster-2'] ?? 0), N);
    assert.equal(await status(`http://${vip}/other`), '404');
    const st = await mciStatus('istio-ingressgateway');
    assert.equal(st.conditions?.[0]?.reason, 'EdgeServing');
  });

  test('step 8: the canary VirtualService on both clusters gives 20/80 at the edge', async () => {
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld-gateway-canary.yaml')]);
    await until('the canary to reach the gateways', 20_000, async () => {
      const probe = await curlMany(`http://${vip}/hello`, 100);
      return (probe.byVersion.v2 ?? 0) >= 70 ? true : undefined;
    });
    const split = await curlMany(`http://${vip}/hello`, N);
    assertSplit(split, { v1: 20, v2: 80 }, 'VIP /hello after the canary');
    assert.equal(await status(`http://${vip}/other`), '404');
  });

  test('failover: cluster-2\'s gateway scaled to 0 under load, traffic moves to cluster-1, it rejoins after healthyThreshold checks', async (t) => {
    let stop = false;
    const results: { at: number; status: number; backend: string }[] = [];
    const load = (async () => {
      while (!stop) {
        const at = Date.now();
        try {
          const res = await fetch(`http://${vip}/hello`, { signal: AbortSignal.timeout(5_000) });
          await res.text();
          results.push({ at, status: res.status, backend: res.headers.get('x-meshwork-edge-backend') ?? '' });
        } catch (err) {
          results.push({ at, status: 0, backend: String(err) });
        }
      }
    })();
    await sleep(1_000);
    const t0 = Date.now();
    await env.kubectlOk('cluster-2', ['scale', '-n', NS, 'deployment/istio-ingressgateway', '--replicas=0']);
    await until('cluster-2 gateway gone from the edge', 20_000, async () => ((await edgeStats()).backends.every((b) => b.cluster === 'cluster-1') ? true : undefined));
    await sleep(2_000);
    stop = true;
    await load;
    const afterScale = results.filter((r) => r.at >= t0);
    const lastC2 = afterScale.filter((r) => r.backend.startsWith('cluster-2/')).at(-1)?.at ?? t0;
    const errors = afterScale.filter((r) => r.status !== 200);
    const tail = results.filter((r) => r.at >= lastC2 + 1);
    t.diagnostic(`failover: ${afterScale.length} requests after scale-down, last one on cluster-2 ${lastC2 - t0} ms after it, ${errors.length} errors`);
    assert.ok(afterScale.length > 20, 'the load kept running');
    assert.ok(lastC2 - t0 < 15_000, `failover took ${lastC2 - t0} ms`);
    assert.ok(tail.length > 0 && tail.every((r) => r.backend.startsWith('cluster-1/')), 'after failover only cluster-1 serves');
    assert.ok(errors.length <= afterScale.length * 0.02, `errors during failover: ${errors.length}/${afterScale.length}: ${JSON.stringify(errors.slice(0, 3))}`);

    // Back to one replica: the new gateway joins only after healthyThreshold (2) passing checks.
    await env.kubectlOk('cluster-2', ['scale', '-n', NS, 'deployment/istio-ingressgateway', '--replicas=1']);
    await env.kubectlOk('cluster-2', ['rollout', 'status', '-n', NS, 'deployment/istio-ingressgateway', '--timeout=60s']);
    const ready = Date.now();
    await until('cluster-2 gateway healthy again', 30_000, async () => ((await edgeStats()).backends.some((b) => b.cluster === 'cluster-2' && b.healthy) ? true : undefined));
    t.diagnostic(`rejoin: cluster-2 healthy at the edge ${Date.now() - ready} ms after its pod was ready`);
    // The edge's log: the new gateway was added (probed at once), then judged healthy. The TypeScript
    // edge, as GCLB, waits for healthyThreshold (2) passing checks checkIntervalSec (5 s) apart; Envoy
    // takes a new host in at its first passing check (healthyThreshold applies to later recoveries).
    // The Envoy edge's transitions are logged when the controller reads Envoy's admin (every resync).
    const newGateway = /gateway (cluster-2\/\S+) \(.*\) added/.exec(controllerLog().split('\n').filter((l) => /gateway cluster-2\/\S+ \(.*\) added/.test(l)).at(-1) ?? '')?.[1];
    assert.ok(newGateway, 'the edge logged the new gateway');
    await until('the edge to log the new gateway healthy', 5_000, async () => (controllerLog().includes(`gateway ${newGateway} is now healthy`) ? true : undefined));
    const stamp = (re: RegExp): number => {
      const line = controllerLog().split('\n').filter((l) => re.test(l)).at(-1);
      assert.ok(line, `no log line ${re}: ${controllerLog().slice(-2000)}`);
      return Date.parse(line.split(' ')[0] ?? '');
    };
    const added = stamp(/gateway cluster-2\/\S+ \(.*\) added/);
    const healthy = stamp(/gateway cluster-2\/\S+ is now healthy/);
    t.diagnostic(`rejoin: ${healthy - added} ms from the edge seeing the new gateway to its second passing check`);
    // At least one interval (2 passes) for the TypeScript edge; at most two more when the first probes hit a pod still starting.
    assert.ok(healthy - added >= (envoyEdge() ? 0 : 4_500) && healthy - added < 16_000, `rejoin after ${healthy - added} ms:\n${controllerLog().split('\n').filter((l) => /gateway cluster-2\//.test(l)).join('\n')}`);
    const before = requestsByCluster(await edgeStats());
    const split = await curlMany(`http://${vip}/hello`, 40);
    const afterStats = requestsByCluster(await edgeStats());
    assert.equal(split.failures, 0);
    assert.ok((afterStats['cluster-2'] ?? 0) - (before['cluster-2'] ?? 0) > 0, 'cluster-2 serves again');
  });

  test('broken configuration is reported in the MCI status; the edge keeps its last good config', async () => {
    const bc = (await env.kubectlOk('cluster-1', ['get', 'backendconfig', '-n', NS, 'ingress-backendconfig', '-o', 'json']));
    await env.kubectlOk('cluster-1', ['patch', 'backendconfig', '-n', NS, 'ingress-backendconfig', '--type', 'merge', '-p', '{"spec":{"healthCheck":{"port":99999}}}']);
    const bad = await until('InvalidBackendConfig in the status', 15_000, async () => {
      const st = await mciStatus('istio-ingressgateway');
      return st.conditions?.[0]?.reason === 'InvalidBackendConfig' ? st : undefined;
    });
    assert.equal(bad.VIP, vip, 'the VIP stays');
    assert.equal(bad.conditions?.[0]?.status, 'False');
    assert.match(bad.conditions?.[0]?.message ?? '', /port 99999 is not a valid port.*last good configuration/);
    const still = await curlMany(`http://${vip}/hello`, 20);
    assert.equal(still.failures, 0, 'the edge still serves');
    assert.ok(bc.includes('15021'));
    await env.kubectlOk('cluster-1', ['patch', 'backendconfig', '-n', NS, 'ingress-backendconfig', '--type', 'merge', '-p', '{"spec":{"healthCheck":{"port":15021}}}']);
    await until('Ready again', 15_000, async () => ((await mciStatus('istio-ingressgateway')).conditions?.[0]?.reason === 'EdgeServing' ? true : undefined));

    // An MCI whose backend service does not exist gets no edge and says why.
    const broken = { apiVersion: 'networking.gke.io/v1beta1', kind: 'MultiClusterIngress', metadata: { name: 'broken', namespace: NS }, spec: { template: { spec: { backend: { serviceName: 'no-such-mcs', servicePort: 80 } } } } };
    await env.kubectlOk('cluster-1', ['apply', '-f', '-'], JSON.stringify(broken));
    const st = await until('BackendServiceNotFound in the status', 15_000, async () => {
      const s = await mciStatus('broken');
      return s.conditions?.[0]?.reason === 'BackendServiceNotFound' ? s : undefined;
    });
    assert.equal(st.VIP, undefined);
    assert.match(st.conditions?.[0]?.message ?? '', /MultiClusterService istio-gateway\/no-such-mcs .*does not exist/);
    assert.equal((await curlMany(`http://${vip}/hello`, 10)).failures, 0, 'the working MCI is unaffected');
    assert.doesNotThrow(() => process.kill(env.hostPid(), 0), 'the process hosting the controller still runs');
    await env.kubectlOk('cluster-1', ['delete', 'mci', '-n', NS, 'broken']);
  });

  test('deleting the MultiClusterService removes its derived Services; the MCI says why and keeps serving', async () => {
    await env.kubectlOk('cluster-1', ['delete', 'multiclusterservice', '-n', NS, 'istio-ingressgateway']);
    for (const ctx of CONTEXTS) {
      await until(`${ctx}: derived Service deleted`, 15_000, async () => {
        const out = await env.kubectlOk(ctx, ['get', 'svc', '-n', NS, '-l', 'networking.gke.io/derived-from-mcs', '-o', 'name']);
        return out.trim() === '' ? true : undefined;
      });
      // The Service the user applied with the gateway folder is not the controller's to delete.
      await env.kubectlOk(ctx, ['get', 'svc', '-n', NS, 'istio-ingressgateway']);
    }
    const st = await until('BackendServiceNotFound', 15_000, async () => {
      const s = await mciStatus('istio-ingressgateway');
      return s.conditions?.[0]?.reason === 'BackendServiceNotFound' ? s : undefined;
    });
    assert.equal(st.VIP, vip);
    assert.equal((await curlMany(`http://${vip}/hello`, 10)).failures, 0, 'last good config still served');
  });

  test('kill -9 of the hosting process: the VIP answers every request across the crash and the next up (the edge Envoy is adopted)', async (t) => {
    const edgesBefore = env.edgeEnvoyPids();
    let stop = false;
    const results: Array<{ at: number; status: number; detail: string }> = [];
    const load = (async () => {
      while (!stop) {
        const at = Date.now();
        try {
          const res = await fetch(`http://${vip}/hello`, { signal: AbortSignal.timeout(5_000) });
          const body = await res.text();
          results.push({ at, status: res.status, detail: res.status === 200 ? '' : body.slice(0, 80) });
        } catch (err) {
          results.push({ at, status: 0, detail: String((err as Error).cause ?? err) });
        }
      }
    })();
    await sleep(500);
    const killedAt = Date.now();
    process.kill(env.hostPid(), 'SIGKILL');
    await sleep(2_000);
    const whileDown = results.length;
    const upAt = Date.now();
    const up = await env.up(2);
    assert.equal(up.code, 0, `up after the crash failed: ${up.stderr}${up.stdout}`);
    const upDoneAt = Date.now();
    await sleep(1_000);
    stop = true;
    await load;
    const failed = results.filter((r) => r.status !== 200);
    const when = (ms: number) => `${ms - killedAt} ms after the kill`;
    t.diagnostic(`host crash at the VIP: ${results.length} requests (${whileDown} before up), ${failed.length} failed; up ran ${when(upAt)} to ${when(upDoneAt)}`);
    assert.ok(whileDown > 20, 'the load ran while the host was down');
    assert.equal(failed.length, 0, `${failed.length} of ${results.length} requests to the VIP failed (up ran ${when(upAt)} to ${when(upDoneAt)}), ` +
      `first ${when(failed[0]?.at ?? 0)}, last ${when(failed.at(-1)?.at ?? 0)}: ${[...new Set(failed.map((r) => `${r.status} ${r.detail}`))].slice(0, 4).join(' | ')}`);
    if (envoyEdge()) assert.deepEqual(env.edgeEnvoyPids(), edgesBefore, 'the same edge Envoy serves the VIP');
  });

  test('every proxy of both control planes runs the chosen data plane and never NACKed', async () => {
    await env.assertDataPlaneAcceptedEverything(CONTEXTS);
  });
});
