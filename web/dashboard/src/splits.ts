// The Splits panel: per VirtualService route, the configured weights against the observed shares, with
// the chi-square verdict of the observed counts (the same test `meshwork traffic` runs).
import type { SplitPanel } from '../../../src/dashboard/model.js';
import { formatPercent } from '../../../src/dashboard/view.js';
import { empty, h, reconcile, replaceContent } from './dom.js';

export function renderSplits(container: HTMLElement, splits: readonly SplitPanel[]): void {
  if (splits.length === 0) {
    container.replaceChildren(empty('No VirtualService route splits traffic between destinations.'));
    return;
  }
  reconcile(container, splits, (s) => s.id, () => h('article', { class: 'card', 'data-testid': 'split' }), updateSplit);
}

function updateSplit(card: HTMLElement, split: SplitPanel): void {
  card.dataset.split = split.id;
  card.dataset.verdict = split.verdict;
  const verdictClass = split.verdict === 'PASS' ? 'pass' : split.verdict === 'FAIL' ? 'fail' : 'wait';
  const p = split.pValue === undefined ? `α ${split.alpha}` : `p = ${formatP(split.pValue)} (α ${split.alpha})`;
  replaceContent(card, [
    h(
      'header',
      {},
      h('span', { class: 'title' }, `${split.virtualService.namespace}/${split.virtualService.name}`, h('span', { class: 'muted' }, ` route ${split.routeIndex}`)),
      h('span', { class: `badge ${verdictClass}`, 'data-testid': 'split-verdict' }, split.verdict),
    ),
    h('div', { class: 'meta' }, `${split.host} · by ${split.dimension} · ${split.total} requests · ${p} · from ${split.virtualService.cluster}`),
    split.note ? h('div', { class: 'note', 'data-testid': 'split-note' }, split.note) : null,
    h(
      'table',
      { class: 'split-table' },
      h('thead', {}, h('tr', {}, h('th', {}, split.dimension), h('th', {}, 'configured'), h('th', {}, 'observed'), h('th', {}, 'count'), h('th', { class: 'bars' }, ''))),
      h('tbody', {}, ...split.rows.map((row) => {
        const bars = h('td', { class: 'bars' },
          h('div', { class: 'bar configured', title: `configured ${formatPercent(row.configured)}` }),
          h('div', { class: 'bar observed', title: `observed ${formatPercent(row.observed)}` }),
        );
        (bars.children[0] as HTMLElement).style.width = `${(row.configured * 100).toFixed(1)}%`;
        (bars.children[1] as HTMLElement).style.width = `${(row.observed * 100).toFixed(1)}%`;
        return h('tr', { 'data-testid': 'split-row', 'data-row': row.key },
          h('td', {}, row.key),
          h('td', { class: 'num', 'data-testid': 'split-configured' }, formatPercent(row.configured)),
          h('td', { class: 'num', 'data-testid': 'split-observed' }, formatPercent(row.observed)),
          h('td', { class: 'num', 'data-testid': 'split-count' }, row.count),
          bars,
        );
      })),
    ),
  ]);
}

function formatP(p: number): string {
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}
