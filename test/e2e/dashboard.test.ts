// `meshwork dashboard` in headless Chromium against a real two-cluster mesh (the seed scenario: helloworld
// v1 in cluster-1, v2 in cluster-2, sleep in both, the ingress gateways behind the MultiClusterIngress).
// The page, as a platform engineer opens it: both clusters with helloworld v1 and v2 and their helloworld
// service nodes inside, the sleep -> helloworld edges with their rates, dashed only where they cross from
// one cluster into the other; the 80/20 VirtualService applied and the split panel near 80/20 with
// a PASS verdict; the change's propagation with every proxy ACKed; a Canary's step moving on the page,
// all from Server-Sent Events without a reload.
// MESHWORK_SCREENSHOTS=docs/images (relative to the repository) saves the screenshots of docs/dashboard.md.
// Two local clusters on loopback octet 46 (pods of cluster-1 are 127.46.0.0/17, of cluster-2 127.56.0.0/17).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import type { Core } from 'cytoscape';
import { stringify } from 'yaml';
import { E2E_DATA_PLANE, MeshworkEnv } from '../helpers/meshwork.js';
import { MESHWORK_BIN, REPO_ROOT, scenarioDir } from '../helpers/paths.js';
import { podName, sendFromPod } from '../helpers/traffic.js';
import { until } from '../helpers/until.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { clusterSubsetsRule, routedTo } from '../../src/scenario/canary-objects.js';
import { sendToEdge } from '../../src/scenario/edge-traffic.js';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';
import type { Manifest } from '../../src/k8s/client/manifests.js';
import type { DashboardState } from '../../src/dashboard/model.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const NS = 'istio-gateway';
const MESH_URL = 'http://helloworld.sample:5000/hello';
const SVC1 = 'svc:cluster-1/helloworld.sample.svc.cluster.local';
const SVC2 = 'svc:cluster-2/helloworld.sample.svc.cluster.local';
const V1 = 'wl:cluster-1/sample/helloworld-v1';
const V2 = 'wl:cluster-2/sample/helloworld-v2';
const SLEEP1 = 'wl:cluster-1/sample/sleep';
const N = 400;
const SCREENSHOTS = process.env.MESHWORK_SCREENSHOTS ? join(REPO_ROOT, process.env.MESHWORK_SCREENSHOTS) : undefined;

const yamlOf = (manifests: Manifest[]): string => manifests.map((m) => stringify(m.object)).join('---\n');

/** What the page exposes on window (web/dashboard/src/main.ts), read inside page.evaluate. */
interface PageWindow {
  meshworkDashboard: { topology: { cy: Core; layouts: number }; state?: DashboardState; updates: number };
  loadedOnce?: string;
}

interface Drawn {
  nodes: Array<{ id: string; label: string; parent?: string; isParent: boolean }>;
  edges: Array<{ id: string; source: string; target: string; label: string; lineStyle: string }>;
  /** The state they were drawn from, and the rows of the Traffic table, taken at the same moment. */
  state: DashboardState;
  edgeRows: number;
}

/** What Cytoscape holds and draws, with the state behind it (one evaluation: no update in between). */
function drawn(page: Page): Promise<Drawn> {
  return page.evaluate(() => {
    const { topology, state } = (globalThis as unknown as PageWindow).meshworkDashboard;
    const cy = topology.cy;
    const document = (globalThis as unknown as { document: { querySelectorAll(selector: string): { length: number } } }).document;
    return {
      nodes: cy.nodes().map((n) => ({ id: n.id(), label: String(n.data('label')), parent: n.parent().nonempty() ? n.parent().first().id() : undefined, isParent: n.isParent() })),
      edges: cy.edges().map((e) => ({ id: e.id(), source: e.source().id(), target: e.target().id(), label: String(e.data('label')), lineStyle: String(e.style('line-style')) })),
      state: state!,
      edgeRows: document.querySelectorAll('[data-testid="edge-row"]').length,
    };
  });
}

const rpsOf = (label: string | undefined): number => Number(/^([\d.]+) rps/.exec(label ?? '')?.[1] ?? 0);

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent({ timeout: 5000 }))?.trim() ?? '';
}

async function shoot(page: Page, name: string, selector?: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `dashboard-${name}.png`);
  // Without a selector: what the browser window shows first (header, topology, splits and canaries).
  if (selector) await page.locator(selector).screenshot({ path });
  else {
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await page.screenshot({ path });
  }
}

describe(`meshwork dashboard in a browser on a two-cluster mesh (${E2E_DATA_PLANE} data plane)`, { timeout: 1_200_000 }, () => {
  const env = new MeshworkEnv(46);
  const sleepPod: Record<string, string> = {};
  let dashboard: ChildProcess | undefined;
  let dashboardErr = '';
  let browser: TestBrowser | undefined;
  let page: Page;
  let vip = '';

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    const mesh = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(mesh.code, 0, mesh.stderr + mesh.stdout);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx, [NS]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-n', NS, '-f', join(scenarioDir(), 'istio-ingressgateway')]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-gateway.yaml')]);
      // Subsets by version (the 80/20 split) and by member cluster (the canary).
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', '-'], yamlOf([clusterSubsetsRule(CONTEXTS)]));
    }
    for (const ctx of CONTEXTS) {
      await env.kubectlOk(ctx, ['rollout', 'status', '-n', NS, 'deployment/istio-ingressgateway', '--timeout=90s']);
      await env.kubectlOk(ctx, ['rollout', 'status', '-n', 'sample', `deployment/helloworld-${ctx === 'cluster-1' ? 'v1' : 'v2'}`, 'deployment/sleep', '--timeout=90s']);
      sleepPod[ctx] = await podName(env, ctx, 'sample', 'app=sleep');
    }
    for (const f of ['multiclusterservice.yaml', 'backendconfig.yaml', 'multiclusteringress.yaml']) await env.kubectlOk('cluster-1', ['apply', '-n', NS, '-f', join(scenarioDir(), f)]);
    vip = await until('status.VIP', 60_000, async () => {
      const out = (await env.kubectlOk('cluster-1', ['get', 'MultiClusterIngress', '-n', NS, '-o', 'custom-columns=VIP:status.VIP', '--no-headers'])).trim();
      return out && out !== '<none>' ? out : undefined;
    });

    const child = spawn(process.execPath, [MESHWORK_BIN, 'dashboard', '--port', '0', '--refresh', '1s', '--window', '30s'], { env: { ...process.env, KUBECONFIG: env.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    dashboard = child;
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (dashboardErr += d.toString()));
    const url = await until('the dashboard URL on stdout', 30_000, async () => /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout)?.[1]);

    browser = await launchBrowser({ viewport: { width: 1500, height: 1350 } });
    page = await browser.newPage();
    const response = await page.goto(url);
    assert.equal(response?.status(), 200);
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: 30_000 });
    await page.evaluate(() => {
      (globalThis as unknown as PageWindow).loadedOnce = 'yes';
    });
  });

  after(async () => {
    await browser?.close();
    if (dashboard?.pid !== undefined && dashboard.exitCode === null) {
      const exited = new Promise((resolve) => dashboard!.once('exit', resolve));
      process.kill(dashboard.pid, 'SIGINT');
      await Promise.race([exited, sleepMs(10_000)]);
      if (dashboard.exitCode === null) dashboard.kill('SIGKILL');
    }
    await env.cleanup();
  });

  test('both clusters with helloworld v1, v2 and their services inside; sleep -> helloworld edges with their rates, dashed only across clusters', async () => {
    const clusters = await until('both clusters reachable on the page', 30_000, async () => {
      const chips = await page.locator('[data-testid="cluster"][data-reachable="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-cluster')));
      return chips.length === 2 ? chips : undefined;
    });
    assert.deepEqual(clusters, ['cluster-1', 'cluster-2']);
    // Traffic: sleep in both clusters, and through the MCI's VIP (the edge's requests reach the gateways).
    await until('sleep in both clusters reaching helloworld v1 and v2', 90_000, async () => {
      const [a, b] = await Promise.all(CONTEXTS.map((c) => sendFromPod(env, c, 'sample', sleepPod[c]!, MESH_URL, 30)));
      return a!.failures === 0 && b!.failures === 0 && Object.keys(a!.byVersion).length === 2 ? true : undefined;
    });
    await sendToEdge(`http://${vip}/hello`, 30);
    const graph = await until('sleep -> helloworld -> v1 and v2 edges with rates on the page', 60_000, async () => {
      const g = await drawn(page);
      const edge = (s: string, t: string) => g.edges.find((e) => e.source === s && e.target === t);
      const ready = [edge(SLEEP1, SVC1), edge(SLEEP1, SVC2), edge(SVC1, V1), edge(SVC2, V2)].every((e) => rpsOf(e?.label) > 0);
      return ready ? g : undefined;
    });
    const node = (id: string) => graph.nodes.find((n) => n.id === id);
    for (const c of CONTEXTS) assert.ok(node(`cluster:${c}`)?.isParent, `${c} is a compound node`);
    assert.deepEqual([node(V1)?.label, node(V1)?.parent], ['helloworld v1', 'cluster:cluster-1']);
    assert.deepEqual([node(V2)?.label, node(V2)?.parent], ['helloworld v2', 'cluster:cluster-2']);
    assert.deepEqual([node(SVC1)?.label, node(SVC1)?.parent], ['helloworld', 'cluster:cluster-1']);
    assert.deepEqual([node(SVC2)?.label, node(SVC2)?.parent], ['helloworld', 'cluster:cluster-2']);
    for (const [s, t] of [[SLEEP1, SVC1], [SLEEP1, SVC2], [SVC1, V1], [SVC2, V2]] as const) {
      const edge = graph.edges.find((e) => e.source === s && e.target === t)!;
      assert.match(edge.label, /^\d+\.\d rps · \d+\.\d% · p99 [\d.]+ ms$/, `${s} -> ${t}`);
    }
    // Cross-cluster, from source_cluster / destination_cluster: every edge from cluster-1 into cluster-2's
    // helloworld service node crosses; no edge within cluster-1 does.
    const clusterOf = new Map(graph.state.topology.nodes.map((n) => [n.id, n.cluster]));
    const stateEdges = graph.state.topology.edges;
    const intoSvc2 = stateEdges.filter((e) => e.target === SVC2 && clusterOf.get(e.source) === 'cluster-1');
    assert.ok(intoSvc2.some((e) => e.source === SLEEP1), `sleep in cluster-1 -> cluster-2's helloworld: ${intoSvc2.map((e) => e.id).join(', ')}`);
    for (const e of intoSvc2) assert.equal(e.crossCluster, true, e.id);
    const withinCluster1 = stateEdges.filter((e) => clusterOf.get(e.source) === 'cluster-1' && clusterOf.get(e.target) === 'cluster-1');
    assert.ok(withinCluster1.some((e) => e.source === SLEEP1 && e.target === SVC1) && withinCluster1.some((e) => e.source === SVC1 && e.target === V1), withinCluster1.map((e) => e.id).join(', '));
    for (const e of withinCluster1) assert.equal(e.crossCluster, false, e.id);
    // The page draws cross-cluster edges dashed, exactly those the state says cross.
    const cross = new Set(stateEdges.filter((e) => e.crossCluster).map((e) => e.id));
    for (const edge of graph.edges) assert.equal(edge.lineStyle, cross.has(edge.id) ? 'dashed' : 'solid', edge.id);
    assert.ok(graph.nodes.some((n) => n.id.startsWith('mci:') && n.label.includes(`VIP ${vip}`)), `the MCI node with its VIP: ${graph.nodes.map((n) => n.label).join(' | ')}`);
    assert.equal(graph.edgeRows, graph.edges.length, 'one traffic row per drawn edge');
    await shoot(page, 'topology', '[data-testid="panel-topology"]');
  });

  let vsVersions: Record<string, string> = {};

  test(`the 80/20 VirtualService and ${N} requests: the split panel shows about 80/20, PASS`, async () => {
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-virtualservice.yaml')]);
    vsVersions = Object.fromEntries(await Promise.all(CONTEXTS.map(async (c) => [c, (await env.kubectlOk(c, ['get', 'virtualservice', 'helloworld', '-n', 'sample', '-o', 'jsonpath={.metadata.resourceVersion}'])).trim()] as const)));
    const card = '[data-testid="split"][data-split="sample/helloworld#0@cluster-1"]';
    await page.locator(card).waitFor({ timeout: 30_000 });
    assert.equal(await text(page, `${card} [data-row="v1"] [data-testid="split-configured"]`), '80.0%');
    assert.equal(await text(page, `${card} [data-row="v2"] [data-testid="split-configured"]`), '20.0%');
    await sleepMs(5000); // the sidecars take the new routes
    const sent = await sendFromPod(env, 'cluster-1', 'sample', sleepPod['cluster-1']!, MESH_URL, N);
    assert.equal(sent.failures, 0);
    await until(`the split panel counting ${N} requests with a verdict`, 60_000, async () => {
      const total = (await page.locator(`${card} [data-testid="split-count"]`).allTextContents()).reduce((a, c) => a + Number(c), 0);
      return total >= N && (await page.locator(`${card}[data-verdict="PASS"], ${card}[data-verdict="FAIL"]`).count()) > 0 ? true : undefined;
    });
    assert.equal(await text(page, `${card} [data-testid="split-verdict"]`), 'PASS');
    const counts = await Promise.all(['v1', 'v2'].map(async (k) => Number(await text(page, `${card} [data-row="${k}"] [data-testid="split-count"]`))));
    const observed = Number((await text(page, `${card} [data-row="v1"] [data-testid="split-observed"]`)).replace('%', ''));
    assert.ok(observed > 70 && observed < 90, `v1 observed ${observed}%`);
    assert.ok(chiSquareTest(counts, [80, 20], SUITE_ALPHA).pass, `${counts.join('/')} on the page is not 80/20`);
    await shoot(page, 'splits', '[data-testid="panel-splits"]');
    await shoot(page, 'page');
  });

  test('the change to the VirtualService reached every proxy of both clusters: every one ACKed', async () => {
    assert.ok(vsVersions['cluster-1'], 'the split test applied the VirtualService');
    const cards = CONTEXTS.map((c) => `[data-testid="change"][data-kind="VirtualService"][data-change="sample/helloworld@${vsVersions[c]}"]`);
    for (const card of cards) await page.locator(`${card}[data-complete="true"]`).waitFor({ timeout: 60_000 });
    const proxies = new Map<string, string>();
    for (const card of cards) {
      const rows = await page.locator(`${card} [data-testid="propagation-proxy"]`).evaluateAll((els) => els.map((e) => [e.getAttribute('title') ?? '', `${e.getAttribute('data-cluster')}:${e.getAttribute('data-state')}`] as const));
      assert.ok(rows.length > 0, `${card} lists its proxies`);
      for (const [nodeId, state] of rows) {
        assert.match(state, /:acked$/, `${nodeId} in ${card}`);
        proxies.set(nodeId, state);
      }
      assert.match(await text(page, `${card} [data-testid="change-status"]`), /^all \d+ ACKed in [\d.]+ ms$/);
    }
    const state = await page.evaluate(() => (globalThis as unknown as PageWindow).meshworkDashboard.state!);
    const expected = state.clusters.reduce((sum, c) => sum + c.controlPlane.proxies, 0);
    assert.deepEqual([...new Set([...proxies.values()].map((s) => s.split(':')[0]))].sort(), ['cluster-1', 'cluster-2'], 'proxies of both clusters');
    assert.equal(proxies.size, expected, `every proxy the control planes serve (${expected}) ACKed: ${[...proxies.keys()].join(', ')}`);
    await shoot(page, 'propagation', '[data-testid="panel-propagation"]');
  });

  test("a Canary's step advances on the page, without a reload", async (t) => {
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', '-'], yamlOf([routedTo('cluster-1')[0]!]));
    await sleepMs(1500);
    t.after(() => env.kubectl('cluster-1', ['delete', 'canaries.rollouts.meshwork.io', 'dash', '-n', 'sample', '--ignore-not-found']));
    const started = await env.meshwork(['canary', 'start', 'dash', '-n', 'sample', '--context', 'cluster-1', '--host', 'helloworld', '--min-requests', '5',
      '--baseline', 'cluster-1', '--canary', 'cluster-2', '--steps', '10,50', '--interval', '8s', '--virtual-service', 'helloworld']);
    assert.equal(started.code, 0, started.stderr + started.stdout);
    // The analysis needs requests on both sides every interval.
    let streaming = true;
    const stream = (async () => {
      while (streaming) await sendFromPod(env, 'cluster-1', 'sample', sleepPod['cluster-1']!, MESH_URL, 20).catch(() => undefined);
    })();
    try {
      const card = '[data-testid="canary"][data-canary="sample/dash"]';
      const first = await until('the canary on a step on the page', 60_000, async () => {
        const step = Number(await page.locator(card).getAttribute('data-step', { timeout: 2000 }));
        return step >= 0 ? step : undefined;
      });
      const firstText = await text(page, `${card} [data-testid="canary-step"]`);
      assert.equal(firstText, `step ${first + 1} of 3`);
      const next = await until('the next step on the page', 90_000, async () => {
        const phase = await page.locator(card).getAttribute('data-phase');
        if (phase && /Failed|RolledBack|Aborted/.test(phase)) throw new Error(`canary ended ${phase}: ${await text(page, card)}`);
        const step = Number(await page.locator(card).getAttribute('data-step'));
        return step > first ? step : undefined;
      });
      assert.equal(await text(page, `${card} [data-testid="canary-step"]`), `step ${next + 1} of 3`);
      assert.match(await text(page, `${card} [data-testid="canary-weight"]`), /^canary weight \d+%$/);
      await shoot(page, 'canary', '[data-testid="panel-canaries"]');
    } finally {
      streaming = false;
      await stream;
    }
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageWindow).loadedOnce), 'yes', 'the page was never reloaded');
    assert.deepEqual(browser!.pageErrors, [], 'no script errors or refused resources on the page');
    assert.doesNotMatch(dashboardErr, /collect failed/, 'every collect succeeded');
  });
});
