// `meshwork dashboard`'s run with the real server, against a kubeconfig whose clusters are down: the page's
// state still comes, every unreachable source a plain line in `problems`; bad flags fail before listening.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CommandError } from '../mesh-cli/io.js';
import type { DashboardState } from './model.js';
import { runDashboard } from './run.js';
import { startDashboardServer } from './server.js';

/** Two contexts whose API servers are nowhere (nothing listens on 127.243.0.1). */
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: down-1
  cluster: { server: "https://127.243.0.1:6443", insecure-skip-tls-verify: true }
- name: down-2
  cluster: { server: "https://127.243.0.2:6443", insecure-skip-tls-verify: true }
users:
- name: u
  user: { token: t }
contexts:
- name: down-1
  context: { cluster: down-1, user: u }
- name: down-2
  context: { cluster: down-2, user: u }
current-context: down-1
`;

test('clusters that do not answer: the state still comes, with a problem line per source, and the URL is printed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-run-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, KUBECONFIG);
  const out: string[] = [];
  const err: string[] = [];
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const done = runDashboard({ port: '0', address: '127.0.0.1', window: '10s', refresh: '1s', kubeconfig }, startDashboardServer, { out: (l) => out.push(l), err: (l) => err.push(l) }, stopped);
  try {
    const url = await (async () => {
      for (let i = 0; i < 100 && out.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      return /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/?)$/.exec(out[0] ?? '')?.[1];
    })();
    assert.ok(url, `no URL printed: ${out.join('\n')} ${err.join('\n')}`);
    let state: DashboardState | undefined;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(new URL('/api/state', url));
      if (res.status === 200) {
        state = (await res.json()) as DashboardState;
        if (state.clusters.length === 2) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(state, 'no state');
    assert.deepEqual(state.clusters.map((c) => [c.name, c.controlPlane.reachable]), [['down-1', false], ['down-2', false]]);
    for (const context of ['down-1', 'down-2']) {
      assert.ok(state.problems.some((p) => p.startsWith(`${context}: cannot list pods`)), state.problems.join('\n'));
      assert.ok(state.problems.some((p) => p.startsWith(`${context}: control plane not found`)), state.problems.join('\n'));
    }
    assert.deepEqual([state.topology.nodes, state.splits, state.canaries, state.propagation], [[], [], [], []]);
  } finally {
    stop();
    assert.equal(await done, 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad flags fail before anything listens, with exit code 2', async () => {
  await assert.rejects(
    runDashboard({ window: 'soon' }, startDashboardServer, { out: () => undefined, err: () => undefined }, Promise.resolve()),
    (e: unknown) => e instanceof CommandError && e.exitCode === 2 && /--window: "soon" is not a duration/.test(e.message),
  );
});

test('a port in use is said so, with the fix', async () => {
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(
      runDashboard({ port: String(port), kubeconfig: '/nonexistent' }, startDashboardServer, { out: () => undefined, err: () => undefined }, Promise.resolve()),
      /127\.0\.0\.1:\d+ is already in use .*--port 0 for a free one/,
    );
  } finally {
    blocker.close();
  }
});
