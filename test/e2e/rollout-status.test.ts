// "Did my change reach every proxy, in every cluster?": the seed's 80/20 VirtualService applied with
// kubectl to both clusters of the local mesh, then `meshwork rollout-status virtualservice/helloworld`
// must list every proxy of both clusters (the same ones the control planes' /debug/syncz lists) as
// ACKED and exit 0; a change applied just before it is waited for; a missing object is an error.
// Two local clusters on loopback octet 56 (pods of cluster-1 are 127.56.0.0/17, of cluster-2 127.66.0.0/17).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { E2E_DATA_PLANE, MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import type { ConfigChange } from '../../src/controlplane/propagation-report.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;

interface RolloutJson {
  resource: string;
  clusters: Array<{ context: string; cluster: string; resourceVersion: string; change?: ConfigChange }>;
  proxies: Array<{ cluster: string; proxy: string; nodeId: string; state: string; ackedAfterMs?: number }>;
  done: boolean;
}

/** The table rows of rollout-status (between the header and the summary line). */
function tableRows(stdout: string): Array<{ cluster: string; proxy: string; state: string; ackedAfter: string }> {
  const lines = stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^CLUSTER\s+PROXY\s+STATE\s+ACKED AFTER$/);
  return lines.slice(1, -1).map((line) => {
    const [cluster, proxy, state, ackedAfter] = line.trim().split(/\s+/);
    return { cluster: cluster!, proxy: proxy!, state: state!, ackedAfter: ackedAfter! };
  });
}

describe(`meshwork rollout-status across two clusters (${E2E_DATA_PLANE} data plane)`, { timeout: 900_000 }, () => {
  const env = new MeshworkEnv(56);
  /** `pod.namespace` of every proxy the control planes have connected, per cluster. */
  const connected = async (): Promise<string[]> => {
    const names: string[] = [];
    for (const ctx of CONTEXTS) {
      const ip = (await env.kubectlOk(ctx, ['get', 'pods', '-n', 'istio-system', '-l', 'app=istiod', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
      const syncz = (await (await fetch(`http://${ip}:15014/debug/syncz`, { signal: AbortSignal.timeout(10_000) })).json()) as { proxies: Array<{ nodeId: string }> };
      for (const p of syncz.proxies) names.push(`${ctx} ${p.nodeId.split('~')[2]}`);
    }
    return [...new Set(names)].sort();
  };

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-destinationrule.yaml')]);
    }
    for (const ctx of CONTEXTS) {
      await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2);
      await env.waitPodsReady(ctx, 'sample', 'app=sleep', 2);
    }
    const joined = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(joined.code, 0, joined.stderr + joined.stdout);
  });
  after(() => env.cleanup());

  test('the 80/20 VirtualService applied with kubectl is ACKed by every proxy of both clusters', async () => {
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-virtualservice.yaml')]);
    const started = Date.now();
    const res = await env.meshwork(['rollout-status', 'virtualservice/helloworld', '-n', 'sample', '--timeout', '60s'], 90_000);
    const took = Date.now() - started;
    assert.equal(res.code, 0, res.stderr + res.stdout);
    process.stdout.write(`# rollout-status took ${took} ms:\n${res.stdout.split('\n').map((l) => `#   ${l}`).join('\n')}\n`);
    const rows = tableRows(res.stdout);
    assert.deepEqual(rows.map((r) => `${r.cluster} ${r.proxy}`).sort(), await connected(), 'every connected proxy of both clusters is listed');
    assert.ok(rows.length >= 4, `sleep and helloworld in both clusters: ${rows.length} rows`);
    assert.deepEqual(new Set(rows.map((r) => r.cluster)), new Set(CONTEXTS));
    for (const r of rows) {
      assert.equal(r.state, 'ACKED', `${r.cluster} ${r.proxy}`);
      assert.match(r.ackedAfter, /^\d+\.\d\ds$/);
    }
    const summary = res.stdout.trim().split('\n').at(-1) ?? '';
    assert.match(summary, new RegExp(`^VirtualService sample/helloworld \\(resourceVersion \\d+ in cluster-1, \\d+ in cluster-2\\): ${rows.length}/${rows.length} proxies ACKed in 2 clusters, slowest after \\d+\\.\\d\\ds$`));

    // The resourceVersion awaited is each cluster's own.
    const json = await env.meshwork(['rollout-status', 'vs/helloworld', '-n', 'sample', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as RolloutJson;
    assert.equal(report.done, true);
    for (const c of report.clusters) {
      const rv = (await env.kubectlOk(c.context, ['get', 'virtualservice', 'helloworld', '-n', 'sample', '-o', 'jsonpath={.metadata.resourceVersion}'])).trim();
      assert.equal(c.resourceVersion, rv, c.context);
      assert.equal(c.change?.resourceVersion, rv);
      assert.equal(c.change?.sourceCluster, c.cluster);
      assert.ok(c.change?.completedAt, `${c.context}: every proxy acked: ${JSON.stringify(c.change?.summary)}`);
    }
    assert.ok(report.proxies.every((p) => p.state === 'acked'));

    // The same facts in proxy-status's style, without waiting.
    const ps = await env.meshwork(['proxy-status', '--since-apply', 'virtualservice/helloworld', '-n', 'sample']);
    assert.equal(ps.code, 0, ps.stderr);
    const lines = ps.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+CLUSTER\s+CHANGE\s+ACKED AFTER\s+ERROR$/);
    assert.deepEqual(lines.slice(1, -1).map((l) => l.trim().split(/\s+/).slice(0, 3).join(' ')).sort(), rows.map((r) => `${r.proxy} ${r.cluster} ACKED`).sort());
  });

  test('a change applied just before is waited for, then ACKed; a missing object is an error', async () => {
    const yaml = (v1: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: helloworld
  namespace: sample
spec:
  hosts: [helloworld]
  http:
  - route:
    - destination: {host: helloworld, subset: v1}
      weight: ${v1}
    - destination: {host: helloworld, subset: v2}
      weight: ${100 - v1}
`;
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-f', '-'], yaml(50));
    const res = await env.meshwork(['rollout-status', 'virtualservices.networking.istio.io/helloworld', '-n', 'sample', '--timeout', '30s', '-o', 'json'], 60_000);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const report = JSON.parse(res.stdout) as RolloutJson;
    assert.equal(report.done, true);
    assert.ok(report.clusters.every((c) => c.change?.event === 'MODIFIED'), JSON.stringify(report.clusters.map((c) => c.change?.event)));
    const latencies = report.proxies.map((p) => p.ackedAfterMs ?? -1);
    assert.ok(latencies.every((ms) => ms >= 0 && ms < 30_000), `ACKed after ${latencies.join(', ')} ms`);
    process.stdout.write(`# propagation of a VirtualService change, per proxy: ${latencies.join(', ')} ms\n`);

    const missing = await env.meshwork(['rollout-status', 'dr/nothing-here', '-n', 'sample', '--timeout', '5s']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /DestinationRule sample\/nothing-here does not exist in any cluster \(cluster-1, cluster-2\)/);
    await env.assertDataPlaneAcceptedEverything(CONTEXTS);
  });
});
