// The dashboard page in headless Chromium (Debian's, driven by playwright-core) against the real server
// and the built bundle (dist/dashboard-ui), fed by the fixture mesh: both clusters as compound nodes with
// helloworld v1 and v2 inside, edge labels with rates, the cross-cluster edge dashed; the split's verdict;
// propagation rows filling in round by round until every proxy ACKed, a NACK with its reason; a canary's
// step moving on the page without a reload and without the graph being laid out again.
// MESHWORK_SCREENSHOTS=<dir> saves the page as dashboard-fixture-*.png there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Core } from 'cytoscape';
import { startDashboardServer, type DashboardServer } from './server.js';
import { FixtureSource } from '../../test/helpers/dashboard-fixture.js';
import { launchBrowser, type TestBrowser } from '../../test/helpers/browser.js';
import { REPO_ROOT } from '../../test/helpers/paths.js';
import { until } from '../../test/helpers/until.js';

const HOST = '127.241.0.2';
const SCREENSHOTS = process.env.MESHWORK_SCREENSHOTS ? join(REPO_ROOT, process.env.MESHWORK_SCREENSHOTS) : undefined;

/** What the page exposes on window (web/dashboard/src/main.ts), read inside page.evaluate. */
interface PageWindow {
  meshworkDashboard: { topology: { cy: Core; layouts: number }; updates: number };
  loadedOnce?: string;
}

interface GraphNodeSeen { id: string; label: string; parent?: string; isParent: boolean; inView: boolean }
interface GraphEdgeSeen { id: string; label: string; lineStyle: string }

/** What Cytoscape holds and draws: node labels and parents, edge labels and line styles. */
function graph(page: Page): Promise<{ nodes: GraphNodeSeen[]; edges: GraphEdgeSeen[]; layouts: number; updates: number }> {
  return page.evaluate(() => {
    const { topology, updates } = (globalThis as unknown as PageWindow).meshworkDashboard;
    const cy = topology.cy;
    const view = cy.extent();
    return {
      nodes: cy.nodes().map((n) => {
        const box = n.boundingBox({});
        return {
          id: n.id(),
          label: String(n.data('label')),
          parent: n.parent().nonempty() ? n.parent().first().id() : undefined,
          isParent: n.isParent(),
          inView: box.x1 >= view.x1 - 1 && box.x2 <= view.x2 + 1 && box.y1 >= view.y1 - 1 && box.y2 <= view.y2 + 1,
        };
      }),
      edges: cy.edges().map((e) => ({ id: e.id(), label: String(e.data('label')), lineStyle: String(e.style('line-style')) })),
      layouts: topology.layouts,
      updates,
    };
  });
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent())?.trim() ?? '';
}

/** Waits until the first element matching `selector` has text matching `pattern` (updates arrive by SSE). */
async function waitText(page: Page, selector: string, pattern: RegExp, timeout = 15_000): Promise<void> {
  await until(`${selector} to match ${pattern}`, timeout, async () => {
    const now = await text(page, selector);
    if (!pattern.test(now)) throw new Error(`last: ${JSON.stringify(now)}`);
    return true;
  });
}

describe('dashboard page in headless Chromium', { timeout: 180_000 }, () => {
  const source = new FixtureSource();
  let server: DashboardServer;
  let browser: TestBrowser;
  let page: Page;

  before(async () => {
    server = await startDashboardServer({ host: HOST, port: 0, source, refreshMs: 300 });
    browser = await launchBrowser();
    page = await browser.newPage();
    const response = await page.goto(server.url);
    assert.equal(response?.status(), 200);
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: 15_000 });
    // Set once: if anything reloads the page, it is gone.
    await page.evaluate(() => {
      (globalThis as unknown as PageWindow).loadedOnce = 'yes';
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await source.close();
  });

  test('both clusters are compound nodes holding helloworld v1 and v2; edges carry rate labels; cross-cluster is dashed', async () => {
    const seen = await graph(page);
    const byId = new Map(seen.nodes.map((n) => [n.id, n]));
    for (const cluster of ['cluster-1', 'cluster-2']) {
      const node = byId.get(`cluster:${cluster}`);
      assert.ok(node?.isParent, `cluster ${cluster} is a compound node: ${JSON.stringify(node)}`);
      assert.equal(node.label, cluster);
    }
    assert.equal(byId.get('wl:cluster-1/sample/helloworld-v1')?.label, 'helloworld v1');
    assert.equal(byId.get('wl:cluster-1/sample/helloworld-v1')?.parent, 'cluster:cluster-1');
    assert.equal(byId.get('wl:cluster-2/sample/helloworld-v2')?.label, 'helloworld v2');
    assert.equal(byId.get('wl:cluster-2/sample/helloworld-v2')?.parent, 'cluster:cluster-2');
    assert.match(byId.get('mci:istio-gateway/helloworld')!.label, /VIP 127\.46\.255\.1\n2\/2 gateways healthy/);
    for (const node of seen.nodes) assert.ok(node.inView, `${node.id} is laid out inside the view`);
    assert.equal(seen.edges.length, 7);
    for (const edge of seen.edges) assert.match(edge.label, /^\d+\.\d rps · \d+\.\d% · p99 [\d.]+ ms$/, edge.id);
    const sleepToHello = seen.edges.find((e) => e.id === 'wl:cluster-1/sample/sleep->svc:helloworld.sample.svc.cluster.local');
    assert.match(sleepToHello!.label, /^12\.\d rps · 0\.0% · p99 4 ms$/);
    const cross = seen.edges.find((e) => e.id === 'svc:helloworld.sample.svc.cluster.local->wl:cluster-2/sample/helloworld-v2');
    assert.equal(cross!.lineStyle, 'dashed');
    assert.equal(sleepToHello!.lineStyle, 'solid');
    // The same edges as rows, for reading and for copying.
    assert.equal(await page.locator('[data-testid="edge-row"]').count(), 7);
    const clusters = await page.locator('[data-testid="cluster"]').allTextContents();
    assert.deepEqual(clusters, ['cluster-1 · 3 proxies', 'cluster-2 · 3 proxies']);
  });

  test('the split panel shows configured against observed shares and the PASS verdict', async () => {
    const card = '[data-testid="split"][data-split="sample/helloworld#0"]';
    assert.equal(await text(page, `${card} [data-testid="split-verdict"]`), 'PASS');
    assert.equal(await text(page, `${card} [data-row="v1"] [data-testid="split-configured"]`), '80.0%');
    assert.equal(await text(page, `${card} [data-row="v1"] [data-testid="split-observed"]`), '79.3%');
    assert.equal(await text(page, `${card} [data-row="v2"] [data-testid="split-observed"]`), '20.7%');
    assert.match(await text(page, `${card} .meta`), /1000 requests · p = 0\.576 \(α 0\.001\)/);
  });

  test('propagation rows fill in as proxies ACK, until every proxy ACKed; a NACK shows its reason', async () => {
    const vs = '[data-testid="change"][data-kind="VirtualService"][data-change="sample/helloworld@4711"]';
    await page.locator(`${vs}[data-complete="true"]`).waitFor({ timeout: 15_000 });
    assert.equal(await text(page, `${vs} [data-testid="change-status"]`), 'all 6 ACKed in 135 ms');
    const states = await page.locator(`${vs} [data-testid="propagation-proxy"]`).evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-cluster')}:${r.getAttribute('data-state')}`));
    assert.deepEqual(states, ['cluster-1:acked', 'cluster-1:acked', 'cluster-1:acked', 'cluster-2:acked', 'cluster-2:acked', 'cluster-2:acked']);
    assert.equal(await page.locator(`${vs} .timeline .mark`).count(), 6);
    const dr = '[data-testid="change"][data-kind="DestinationRule"]';
    assert.match(await text(page, `${dr} [data-testid="change-status"]`), /1\/2 ACKed · 1 NACKed/);
    assert.match(await text(page, `${dr} [data-testid="propagation-proxy"][data-state="nacked"] .error`), /unknown subset v3/);
  });

  test("a canary's step advances on the page, without a reload and without a new layout", async () => {
    const card = '[data-testid="canary"][data-canary="sample/helloworld-v2"]';
    assert.equal(await text(page, `${card} [data-testid="canary-step"]`), 'step 1 of 3');
    assert.equal(await text(page, `${card} [data-testid="canary-weight"]`), 'canary weight 10%');
    const before = await graph(page);
    source.canaryStep = 1;
    await waitText(page, `${card} [data-testid="canary-step"]`, /^step 2 of 3$/);
    assert.equal(await text(page, `${card} [data-testid="canary-weight"]`), 'canary weight 50%');
    assert.equal(await text(page, `${card} [data-testid="canary-phase"]`), 'Progressing');
    if (SCREENSHOTS) await screenshots(page, SCREENSHOTS);
    source.canaryStep = 2;
    await waitText(page, `${card} [data-testid="canary-phase"]`, /^Succeeded$/);
    const after = await graph(page);
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageWindow).loadedOnce), 'yes', 'the page was not reloaded');
    assert.ok(after.updates > before.updates, `${after.updates} updates after ${before.updates}`);
    assert.equal(after.layouts, 1, 'rates changed, elements did not: the graph keeps its layout');
    assert.deepEqual(browser.pageErrors, []);
  });
});

async function screenshots(page: Page, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, 'dashboard-fixture-page.png'), fullPage: true });
}
