// The Propagation panel: per applied change (kind namespace/name@resourceVersion), which proxies in which
// cluster ACKed the config carrying it and how long after the control plane saw it, which NACKed and why,
// and which are still behind (stale after a while). A bar marks each proxy's ACK on a shared time axis.
import type { ConfigChange } from '../../../src/controlplane/propagation-report.js';
import { changeViews, formatMs, proxyName, shownState, type ChangeView } from '../../../src/dashboard/view.js';
import { clockTime, empty, h, reconcile } from './dom.js';

/** The newest changes shown; the control planes keep more (GET /debug/config_distribution). */
const SHOWN_CHANGES = 10;
/** Changes observed this close to the newest one are one apply (the same object in each cluster): shown open. */
const SAME_APPLY_MS = 5000;
/** Which cards the reader opened or closed (by change key): kept over updates, over the defaults. */
const readerChoice = new Map<string, boolean>();

export function renderPropagation(container: HTMLElement, changes: readonly ConfigChange[], now: string): void {
  const views = changeViews(changes).slice(0, SHOWN_CHANGES);
  if (views.length === 0) {
    container.replaceChildren(empty('No config change observed yet.'));
    return;
  }
  // The newest apply and any change not yet everywhere show their proxies; the reader's own toggles win.
  const newest = Date.parse(views[0]!.change.observedAt);
  const openByDefault = (view: ChangeView) => !view.complete || newest - Date.parse(view.change.observedAt) < SAME_APPLY_MS;
  reconcile(container, views, (v) => v.key, () => h('article', { class: 'card', 'data-testid': 'change' }), (card, view) =>
    updateChange(card, view, now, readerChoice.get(view.key) ?? openByDefault(view)));
}

function updateChange(card: HTMLElement, view: ChangeView, now: string, open: boolean): void {
  const { change, summary } = view;
  card.dataset.change = view.title.slice(view.title.indexOf(' ') + 1);
  card.dataset.kind = change.kind;
  card.dataset.complete = String(view.complete);
  const states = view.proxies.map((p) => shownState(p, change, now));
  const stale = states.filter((s) => s === 'stale').length;
  const status = view.proxies.length === 0
    ? h('span', { class: 'badge wait' }, 'no proxies')
    : view.complete
      ? h('span', { class: 'badge pass', 'data-testid': 'change-status' }, `all ${summary.acked} ACKed in ${formatMs(view.maxLatencyMs)} ms`)
      : h('span', { class: `badge ${summary.nacked > 0 ? 'fail' : 'wait'}`, 'data-testid': 'change-status' },
          [`${summary.acked}/${view.proxies.length} ACKed`, summary.nacked ? `${summary.nacked} NACKed` : '', stale ? `${stale} stale` : '']
            .filter(Boolean).join(' · '));

  const timeline = h('div', { class: 'timeline', title: `0 … ${formatMs(view.maxLatencyMs)} ms after the change was observed` });
  view.proxies.forEach((proxy, i) => {
    if (proxy.latencyMs === undefined) return;
    const mark = h('span', { class: `mark ${states[i]}`, title: `${proxyName(proxy)} (${proxy.cluster}): ${proxy.state} at +${formatMs(proxy.latencyMs)} ms` });
    mark.style.left = `${view.maxLatencyMs > 0 ? (proxy.latencyMs / view.maxLatencyMs) * 100 : 0}%`;
    timeline.append(mark);
  });

  const details = h('details', open ? { open: '' } : {},
    h('summary', {}, `${view.proxies.length} proxies`),
    h('table', { class: 'proxy-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'cluster'), h('th', {}, 'proxy'), h('th', {}, 'kind'), h('th', {}, 'state'), h('th', {}, 'latency'), h('th', {}, 'error'))),
      h('tbody', {}, ...view.proxies.map((proxy, i) =>
        h('tr', { 'data-testid': 'propagation-proxy', 'data-state': states[i], 'data-cluster': proxy.cluster, title: proxy.nodeId },
          h('td', {}, proxy.cluster),
          h('td', {}, proxyName(proxy)),
          h('td', {}, proxy.kind),
          h('td', {}, h('span', { class: `state ${states[i]}` }, states[i])),
          h('td', { class: 'num' }, proxy.latencyMs === undefined ? '–' : `${formatMs(proxy.latencyMs)} ms`),
          h('td', { class: 'error' }, proxy.error ?? ''),
        ))),
    ),
  );
  details.querySelector('summary')!.addEventListener('click', () => readerChoice.set(view.key, !details.open));

  // Not replaceContent: the open state comes from the reader's choice or the default above.
  card.replaceChildren(
    h('header', {},
      h('span', { class: 'title' }, view.title, h('span', { class: 'muted' }, ` ${change.event}`)),
      status,
    ),
    h('div', { class: 'meta' }, `observed ${clockTime(change.observedAt)} from ${change.sourceCluster} · snapshot ${change.snapshotVersion}` +
      (change.completedAt ? ` · completed ${clockTime(change.completedAt)}` : '')),
    h('div', { class: 'timeline-axis' }, timeline, h('span', { class: 'axis-end' }, `${formatMs(view.maxLatencyMs)} ms`)),
    details,
  );
}
