// The Canaries panel: each Canary's phase, where it is in its steps, the weight it sends to the canary
// now, and its last analysis (each metric against its threshold) with the failed-check count.
import type { CanaryView } from '../../../src/dashboard/model.js';
import { canaryKey, stepText } from '../../../src/dashboard/view.js';
import { clockTime, empty, h, reconcile, replaceContent } from './dom.js';

export function renderCanaries(container: HTMLElement, canaries: readonly CanaryView[]): void {
  if (canaries.length === 0) {
    container.replaceChildren(empty('No Canary in any cluster.'));
    return;
  }
  reconcile(container, canaries, canaryKey, () => h('article', { class: 'card', 'data-testid': 'canary' }), updateCanary);
}

function updateCanary(card: HTMLElement, canary: CanaryView): void {
  card.dataset.canary = `${canary.namespace}/${canary.name}`;
  card.dataset.phase = canary.phase;
  card.dataset.step = String(canary.stepIndex);
  const phaseClass = /succeeded|promoted/i.test(canary.phase) ? 'pass' : /fail|rolledback|aborted/i.test(canary.phase) ? 'fail' : 'wait';
  const steps = h('ol', { class: 'steps' }, ...canary.steps.map((weight, i) =>
    h('li', { class: i < canary.stepIndex ? 'done' : i === canary.stepIndex ? 'current' : '' }, `${weight}%`)));
  const analysis = canary.lastAnalysis && canary.lastAnalysis.length > 0
    ? h('table', { class: 'analysis' },
        h('thead', {}, h('tr', {}, h('th', {}, 'metric'), h('th', {}, 'value'), h('th', {}, 'threshold'), h('th', {}, ''))),
        h('tbody', {}, ...canary.lastAnalysis.map((check) =>
          h('tr', { 'data-testid': 'canary-check', 'data-passed': String(check.passed) },
            h('td', {}, check.metric),
            h('td', { class: 'num' }, check.value === undefined ? '–' : formatValue(check.value)),
            h('td', { class: 'num' }, formatValue(check.threshold)),
            h('td', {}, h('span', { class: `state ${check.passed ? 'acked' : 'nacked'}` }, check.passed ? 'pass' : 'fail'), check.detail ? ` ${check.detail}` : ''),
          ))))
    : h('p', { class: 'muted' }, 'No analysis yet.');
  replaceContent(card, [
    h('header', {},
      h('span', { class: 'title' }, `${canary.namespace}/${canary.name}`, h('span', { class: 'muted' }, ` in ${canary.cluster}`)),
      h('span', { class: `badge ${phaseClass}`, 'data-testid': 'canary-phase' }, canary.phase),
    ),
    canary.host ? h('div', { class: 'meta' }, `${canary.host}: ${canary.baselineSubset ?? 'baseline'} → ${canary.canarySubset ?? 'canary'}`) : null,
    h('div', { class: 'canary-now' },
      h('span', { 'data-testid': 'canary-step' }, stepText(canary)),
      h('span', { 'data-testid': 'canary-weight' }, `canary weight ${canary.canaryWeight}%`),
      h('span', { 'data-testid': 'canary-failed-checks', class: canary.failedChecks > 0 ? 'warn' : '' }, `${canary.failedChecks} failed checks`),
    ),
    steps,
    canary.lastVerdict
      ? h('div', { class: 'verdict', 'data-testid': 'canary-verdict', 'data-verdict': canary.lastVerdict },
          `last check: ${canary.lastVerdict}`, ...(canary.lastReasons ?? []).map((r) => h('div', { class: 'muted' }, r)))
      : null,
    analysis,
    canary.message ? h('div', { class: 'note', 'data-testid': 'canary-message' }, canary.message) : null,
    canary.conditions.length > 0
      ? h('ul', { class: 'conditions' }, ...canary.conditions.map((c) =>
          h('li', {}, `${c.type}=${c.status}`, c.reason ? ` (${c.reason})` : '', c.message ? `: ${c.message}` : '')))
      : null,
    canary.updatedAt ? h('div', { class: 'meta' }, `updated ${clockTime(canary.updatedAt)}`) : null,
  ]);
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(3);
}
