// The dashboard page in headless Chromium (Debian's, driven by playwright-core) against the real server
// and the built bundle (dist/dashboard-ui), fed by the fixture mesh: both clusters as compound nodes with
// helloworld v1 and v2 and each cluster's helloworld service inside, edge labels with rates, only the edge
// from cluster-1 into cluster-2 dashed; the split's verdict; propagation rows filling in round by round
// until every proxy ACKed, a NACK with its reason; a canary's step moving on the page without a reload and
// without the graph being laid out again; the canary panel as tall as its cards, up to a cap, then scrolling.
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
    assert.equal(byId.get('svc:cluster-1/helloworld.sample.svc.cluster.local')?.parent, 'cluster:cluster-1');
    assert.equal(byId.get('svc:cluster-2/helloworld.sample.svc.cluster.local')?.parent, 'cluster:cluster-2');
    assert.equal(seen.edges.length, 8);
    for (const edge of seen.edges) assert.match(edge.label, /^\d+\.\d rps · \d+\.\d% · p99 [\d.]+ ms$/, edge.id);
    const sleepToHello = seen.edges.find((e) => e.id === 'wl:cluster-1/sample/sleep->svc:cluster-1/helloworld.sample.svc.cluster.local');
    assert.match(sleepToHello!.label, /^(9\.\d|10\.\d) rps · 0\.0% · p99 4 ms$/);
    const cross = seen.edges.find((e) => e.id === 'wl:cluster-1/sample/sleep->svc:cluster-2/helloworld.sample.svc.cluster.local');
    assert.equal(cross!.lineStyle, 'dashed');
    assert.equal(sleepToHello!.lineStyle, 'solid');
    assert.deepEqual(seen.edges.filter((e) => e.lineStyle === 'dashed').map((e) => e.id), [cross!.id], 'only the edge from cluster-1 into cluster-2 is dashed');
    // The same edges as rows, for reading and for copying; the crossing one tagged.
    assert.equal(await page.locator('[data-testid="edge-row"]').count(), 8);
    const tagged = await page.locator('[data-testid="edge-row"].cross').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-edge')));
    assert.deepEqual(tagged, [cross!.id]);
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

  test('the canary panel is as tall as its cards, not as the splits beside it; many canaries scroll inside it, under a cap', async () => {
    /** Per panel: its height, and the space under its last element (padding, border, a card's margin when it is stretched: more). */
    const measure = () => page.evaluate(() => {
      type Box = { top: number; bottom: number; height: number };
      type El = { getBoundingClientRect(): Box; lastElementChild: El | null; scrollHeight: number; clientHeight: number };
      const doc = (globalThis as unknown as { document: { querySelector(s: string): El } }).document;
      const panel = (id: string) => {
        const el = doc.querySelector(`[data-testid="${id}"]`);
        const box = el.getBoundingClientRect();
        return { height: box.height, below: box.bottom - el.lastElementChild!.getBoundingClientRect().bottom };
      };
      const list = doc.querySelector('[data-testid="canary-list"]');
      return {
        canaries: panel('panel-canaries'),
        splits: panel('panel-splits'),
        list: { height: list.getBoundingClientRect().height, scroll: list.scrollHeight, client: list.clientHeight },
        cap: Math.min(720, (globalThis as unknown as { innerHeight: number }).innerHeight * 0.75),
      };
    });
    // Padding 12 + border 1 under the last element, + a split card's 10 px margin: below 30 px when sized to content.
    const FITS = 30;
    source.moreSplits = 3;
    try {
      await until('4 split cards', 15_000, async () => ((await page.locator('[data-testid="split"]').count()) === 4 ? true : undefined));
      const one = await measure();
      assert.ok(one.splits.height > one.canaries.height + 100, `the splits beside it are taller: ${JSON.stringify(one)}`);
      assert.ok(one.canaries.below < FITS, `one canary: ${one.canaries.below.toFixed(0)} px left under its card: ${JSON.stringify(one)}`);
      assert.equal(one.list.scroll, one.list.client, 'one canary fits without a scrollbar');
      source.moreSplits = 0;
      source.moreCanaries = 7;
      await until('8 canary cards, 1 split card', 15_000, async () => ((await page.locator('[data-testid="canary"]').count()) === 8 && (await page.locator('[data-testid="split"]').count()) === 1 ? true : undefined));
      const many = await measure();
      assert.ok(many.list.scroll > many.list.client, `8 canaries scroll in the panel: ${JSON.stringify(many)}`);
      assert.ok(Math.abs(many.list.height - many.cap) <= 1, `the list stops at its cap: ${JSON.stringify(many)}`);
      assert.ok(many.canaries.below < FITS && many.splits.below < FITS, `neither panel stretched to the other: ${JSON.stringify(many)}`);
    } finally {
      source.moreSplits = 0;
      source.moreCanaries = 0;
    }
    await until('back to one canary card', 15_000, async () => ((await page.locator('[data-testid="canary"]').count()) === 1 ? true : undefined));
  });
});

async function screenshots(page: Page, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, 'dashboard-fixture-page.png'), fullPage: true });
}
