// The dashboard's collector against a real two-cluster mesh (the seed scenario: helloworld v1 in
// cluster-1, v2 in cluster-2, sleep in cluster-1), reading what `meshwork dashboard` reads: both control
// planes, every context's pods and Istio config, every mesh pod's :15020 metrics. The state must show
// both clusters, the helloworld version workloads and each cluster's helloworld service node (with no
// traffic yet), sleep -> helloworld edges with a rate once sleep sends, cross-cluster only into
// cluster-2's helloworld service node, and after the 80/20 VirtualService is applied and
// 400 requests are sent, the split panel of cluster-1's copy near 80/20 with the chi-square verdict PASS.
// Two local clusters on loopback octet 78 (pods of cluster-1 are 127.78.0.0/17, of cluster-2 127.88.0.0/17).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { E2E_DATA_PLANE, MeshworkEnv } from '../helpers/meshwork.js';
import { MESHWORK_BIN, scenarioDir } from '../helpers/paths.js';
import { podName, sendFromPod } from '../helpers/traffic.js';
import { until } from '../helpers/until.js';
import { DashboardCollector } from '../../src/dashboard/collector.js';
import type { DashboardState, TopologyEdge } from '../../src/dashboard/model.js';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const HELLOWORLD = 'helloworld.sample.svc.cluster.local';
const SVC1 = `svc:cluster-1/${HELLOWORLD}`;
const SVC2 = `svc:cluster-2/${HELLOWORLD}`;
const SLEEP = 'wl:cluster-1/sample/sleep';
const V1 = 'wl:cluster-1/sample/helloworld-v1';
const V2 = 'wl:cluster-2/sample/helloworld-v2';
const N = 400;

describe(`dashboard collector on a two-cluster mesh (${E2E_DATA_PLANE} data plane)`, { timeout: 900_000 }, () => {
  const env = new MeshworkEnv(78);
  let collector: DashboardCollector;
  let sleep = '';
  const edge = (state: DashboardState, source: string, target: string): TopologyEdge | undefined => state.topology.edges.find((e) => e.source === source && e.target === target);

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-destinationrule.yaml')]);
    }
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
    for (const ctx of CONTEXTS) await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2);
    await env.waitPodsReady('cluster-1', 'sample', 'app=sleep', 2);
    const joined = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(joined.code, 0, joined.stderr + joined.stdout);
    sleep = await podName(env, 'cluster-1', 'sample', 'app=sleep');
    collector = new DashboardCollector({ kubeconfig: env.kubeconfig, contexts: [], windowMs: 30_000 });
  });
  after(async () => {
    await collector?.close();
    await env.cleanup();
  });

  test('both clusters and their control planes; the helloworld versions as workload nodes before any traffic', async () => {
    const state = await collector.collect();
    assert.deepEqual(state.clusters.map((c) => [c.name, c.context, c.controlPlane.reachable]).sort(), [['cluster-1', 'cluster-1', true], ['cluster-2', 'cluster-2', true]]);
    for (const c of state.clusters) assert.ok(c.controlPlane.proxies >= 1, `${c.name}: ${c.controlPlane.proxies} proxies`);
    const node = (id: string) => state.topology.nodes.find((n) => n.id === id);
    assert.deepEqual([node(V1)?.version, node(V1)?.cluster, node(V1)?.instances, node(V1)?.type], ['v1', 'cluster-1', 1, 'workload']);
    assert.deepEqual([node(V2)?.version, node(V2)?.cluster, node(V2)?.instances], ['v2', 'cluster-2', 1]);
    for (const [id, cluster] of [[SVC1, 'cluster-1'], [SVC2, 'cluster-2']]) {
      assert.equal(node(id!)?.cluster, cluster, `service node ${id} in ${cluster}: ${state.topology.nodes.map((n) => n.id).join(', ')}`);
    }
    assert.equal(node(SLEEP)?.type, 'workload');
    assert.ok(state.problems.every((p) => !/could not be scraped/.test(p)), state.problems.join('\n'));
  });

  test('sleep -> helloworld edges with a rate once sleep sends; only the edge into cluster-2 crosses clusters', async () => {
    await until('sleep reaches helloworld v1 and v2', 60_000, async () => {
      const split = await sendFromPod(env, 'cluster-1', 'sample', sleep, 'http://helloworld.sample:5000/hello', 20);
      return Object.keys(split.byVersion).length === 2 ? true : undefined;
    });
    const state = await until('the collector sees sleep -> helloworld v1 and v2', 30_000, async () => {
      const s = await collector.collect();
      const ready = [edge(s, SLEEP, SVC1), edge(s, SLEEP, SVC2), edge(s, SVC1, V1), edge(s, SVC2, V2)].every((e) => (e?.rps ?? 0) > 0);
      if (!ready) await sleepMs(1000);
      return ready ? s : undefined;
    });
    for (const e of [edge(state, SLEEP, SVC1)!, edge(state, SLEEP, SVC2)!]) {
      assert.equal(e.errorRate, 0, e.id);
      assert.equal(e.health, 'healthy', e.id);
    }
    // From the metrics' source_cluster and destination_cluster: sleep (cluster-1) -> cluster-2's service crosses,
    // nothing within cluster-1 does, and a service node's hop to its own workloads never does.
    assert.equal(edge(state, SLEEP, SVC2)!.crossCluster, true);
    assert.equal(edge(state, SLEEP, SVC1)!.crossCluster, false);
    assert.equal(edge(state, SVC1, V1)!.crossCluster, false);
    assert.equal(edge(state, SVC2, V2)!.crossCluster, false);
    const clusterOf = new Map(state.topology.nodes.map((n) => [n.id, n.cluster]));
    for (const e of state.topology.edges.filter((x) => x.source.startsWith('wl:') || x.source.startsWith('svc:'))) {
      assert.equal(e.crossCluster, clusterOf.get(e.source) !== clusterOf.get(e.target), `${e.id}: crossCluster ${e.crossCluster}`);
    }
    assert.equal(edge(state, SVC1, V1)!.security, 'mutual_tls');
    assert.ok((edge(state, SVC1, V1)!.p99Ms ?? 0) > 0, 'a p99 from the duration buckets');
    assert.equal(state.topology.nodes.find((n) => n.id === V2)?.health, 'healthy');
  });

  test(`the 80/20 VirtualService and ${N} requests: the split panel near 80/20, PASS`, async () => {
    // The requests of the test before are all counted (access logs flush within a second) before the weights change.
    await sleepMs(3000);
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-virtualservice.yaml')]);
    const id = 'sample/helloworld#0@cluster-1';
    // The collector sees the weights: the panel's window starts there, without the requests sent before them.
    const first = await until('the split panel of cluster-1\'s VirtualService', 30_000, async () => (await collector.collect()).splits.find((p) => p.id === id));
    assert.equal(first.dimension, 'version');
    assert.deepEqual(first.rows.map((r) => [r.key, r.configured]), [['v1', 0.8], ['v2', 0.2]]);
    // Let the sidecars take the routes (pushed within a second or two), then send.
    await sleepMs(5000);
    await collector.collect();
    const sent = await sendFromPod(env, 'cluster-1', 'sample', sleep, 'http://helloworld.sample:5000/hello', N);
    assert.equal(sent.failures, 0);
    const panel = await until(`the panel counts the ${N} requests`, 30_000, async () => {
      const p = (await collector.collect()).splits.find((x) => x.id === id);
      if (!p || p.total < N) await sleepMs(1000);
      return p && p.total >= N ? p : undefined;
    });
    assert.equal(panel.total, N, `only the requests sent under the new weights: ${JSON.stringify(panel.rows)}`);
    const v1 = panel.rows.find((r) => r.key === 'v1')!;
    const v2 = panel.rows.find((r) => r.key === 'v2')!;
    assert.equal(v1.count, sent.byVersion['v1'] ?? 0, 'the metrics count what the answers said');
    assert.equal(v2.count, sent.byVersion['v2'] ?? 0);
    assert.ok(Math.abs(v1.observed - v1.count / N) < 1e-9 && Math.abs(v2.observed - v2.count / N) < 1e-9);
    assert.ok(chiSquareTest([v1.count, v2.count], [80, 20], SUITE_ALPHA).pass, `${v1.count}/${v2.count} is not 80/20`);
    assert.equal(panel.verdict, 'PASS', `${JSON.stringify(panel)}`);
    assert.ok((panel.pValue ?? 0) > panel.alpha);
    // Propagation: each cluster's control plane tracked its copy of the VirtualService to its proxies.
    const propagated = await until('the VirtualService ACKed by the proxies of both clusters', 30_000, async () => {
      const s = await collector.collect();
      const changes = CONTEXTS.map((c) => s.propagation.find((x) => x.kind === 'VirtualService' && x.namespace === 'sample' && x.name === 'helloworld' && x.sourceCluster === c));
      return changes.every((c) => c && c.summary.acked > 0 && c.completedAt) ? { s, changes } : undefined;
    });
    for (const change of propagated.changes) assert.equal(change!.summary.nacked, 0, JSON.stringify(change));
    assert.ok(propagated.s.problems.every((p) => !p.includes('config_distribution')), propagated.s.problems.join('\n'));
    const times = propagated.s.propagation.map((c) => c.observedAt);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    // cluster-2's copy rules cluster-2's sidecars, which sent nothing.
    const other = (await collector.collect()).splits.find((x) => x.id === 'sample/helloworld#0@cluster-2');
    assert.equal(other?.verdict, 'NOT ENOUGH DATA');
  });

  test('`meshwork dashboard --port 0` prints its URL, serves the collected state, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [MESHWORK_BIN, 'dashboard', '--port', '0', '--refresh', '1s'], { env: { ...process.env, KUBECONFIG: env.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await until('the dashboard URL on stdout', 20_000, async () => /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/?)$/m.exec(stdout)?.[1]);
      const state = await until('a state with both clusters', 30_000, async () => {
        const res = await fetch(new URL('/api/state', url), { signal: AbortSignal.timeout(5000) });
        if (res.status !== 200) return undefined;
        const s = (await res.json()) as DashboardState;
        return s.clusters.length === 2 ? s : undefined;
      });
      assert.ok(state.topology.nodes.some((n) => n.id === V1), `no ${V1}: ${state.topology.nodes.map((n) => n.id).join(', ')}`);
      assert.ok(state.splits.some((p) => p.id === 'sample/helloworld#0@cluster-1'));
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGINT');
    }
    assert.equal(await exited, 0, stderr);
  });
});
