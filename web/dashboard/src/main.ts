// The dashboard page: loads the current state from GET api/state, then follows GET api/events (Server-Sent
// Events, one `state` event per refresh of the server's collect loop) and updates each panel in place.
import type { DashboardState } from '../../../src/dashboard/model.js';
import { renderCanaries } from './canaries.js';
import { clockTime, h, reconcile } from './dom.js';
import { renderPropagation } from './propagation.js';
import { renderSplits } from './splits.js';
import { TopologyPanel } from './topology.js';
import './style.css';

/** For a look from the browser's console: the graph, the latest state, how many updates arrived. */
interface DashboardHandle {
  topology: TopologyPanel;
  state?: DashboardState;
  updates: number;
}

declare global {
  interface Window {
    meshworkDashboard: DashboardHandle;
  }
}

function byTestId(id: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`the page has no [data-testid="${id}"]`);
  return el;
}

const topology = new TopologyPanel(byTestId('graph'), byTestId('edge-rows'));
const handle: DashboardHandle = { topology, updates: 0 };
window.meshworkDashboard = handle;

function render(state: DashboardState): void {
  handle.state = state;
  handle.updates++;
  byTestId('collected-at').textContent = `updated ${clockTime(state.collectedAt)} · ${state.windowSeconds} s window`;
  renderClusters(state);
  renderProblems(state.problems);
  topology.update(state);
  renderSplits(byTestId('split-list'), state.splits);
  renderCanaries(byTestId('canary-list'), state.canaries);
  renderPropagation(byTestId('change-list'), state.propagation, state.collectedAt);
}

function renderClusters(state: DashboardState): void {
  reconcile(byTestId('clusters'), state.clusters, (c) => c.name, () => h('span', { class: 'cluster', 'data-testid': 'cluster' }), (el, cluster) => {
    const cp = cluster.controlPlane;
    el.dataset.cluster = cluster.name;
    el.dataset.reachable = String(cp.reachable);
    el.className = `cluster ${cp.reachable ? 'up' : 'down'}`;
    el.title = cp.error ?? `context ${cluster.context}${cp.version ? ` · control plane ${cp.version}` : ''}`;
    el.textContent = cp.reachable ? `${cluster.name} · ${cp.proxies} proxies` : `${cluster.name} · control plane unreachable`;
  });
}

function renderProblems(problems: readonly string[]): void {
  const list = byTestId('problems');
  list.hidden = problems.length === 0;
  list.replaceChildren(...problems.map((p) => h('li', { 'data-testid': 'problem' }, p)));
}

function setConnection(state: 'live' | 'reconnecting' | 'connecting'): void {
  const el = byTestId('connection');
  el.dataset.state = state;
  el.textContent = state;
}

function connect(): void {
  // EventSource reconnects by itself (the server sends `retry:`); each reconnect starts with the current state.
  const events = new EventSource('api/events');
  events.addEventListener('open', () => setConnection('live'));
  events.addEventListener('error', () => setConnection(events.readyState === EventSource.CLOSED ? 'connecting' : 'reconnecting'));
  events.addEventListener('state', (event) => render(JSON.parse((event as MessageEvent<string>).data) as DashboardState));
}

async function start(): Promise<void> {
  try {
    const response = await fetch('api/state', { cache: 'no-store' });
    if (response.ok) render((await response.json()) as DashboardState);
  } catch (err) {
    renderProblems([`could not load api/state: ${String(err)}`]);
  }
  connect();
}

void start();
