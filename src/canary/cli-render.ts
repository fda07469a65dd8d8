// `meshwork canary status`: a Canary as tables (phase, step, weights, each side's measurements, the verdict,
// conditions), as `kubectl describe` would show a rollout. Pure: the time is passed in.
import { humanDuration } from '../k8s/age.js';
import { formatTable } from '../mesh-cli/output.js';
import type { Canary, CanaryAnalysis, CanaryPhase, SideMeasurement } from '../config/canary/types.js';

export const TERMINAL_PHASES: ReadonlySet<CanaryPhase> = new Set(['Succeeded', 'RolledBack', 'Aborted', 'Failed']);

/** The canary weights of the steps before promotion: stepWeights, or stepWeight up to maxWeight (default 50). */
export function stepWeightsOf(analysis: CanaryAnalysis): number[] {
  if (analysis.stepWeights?.length) return analysis.stepWeights;
  const step = analysis.stepWeight ?? 0;
  if (step <= 0) return [];
  const max = analysis.maxWeight ?? 50;
  const weights: number[] = [];
  for (let w = step; w <= max; w += step) weights.push(w);
  return weights;
}

/** `k/n`, n counting the promotion to 100 % as the last step; `0/n` before the first. */
export function stepText(canary: Canary): string {
  const weights = stepWeightsOf(canary.spec.analysis);
  const n = weights.length + (weights[weights.length - 1] === 100 ? 0 : 1);
  const status = canary.status;
  if (!status) return `0/${n}`;
  const promoted = status.phase === 'Succeeded' || status.phase === 'Promoting' || status.canaryWeight === 100;
  const k = promoted && !['RolledBack', 'Aborted'].includes(status.phase) ? n : Math.min(status.currentStep + 1, n);
  return `${Math.max(k, 0)}/${n}`;
}

const percent = (v: number | undefined) => (v === undefined ? '-' : `${Number.isInteger(v) ? v : v.toFixed(1)}%`);
const millis = (v: number | undefined) => (v === undefined ? '-' : `${v < 10 ? v.toFixed(2) : v.toFixed(1)}ms`);
const age = (time: string | undefined, now: number) => (time ? humanDuration(now - Date.parse(time)) : '-');

function sideRow(side: string, subset: string, weight: number | undefined, m: SideMeasurement | undefined): string[] {
  return [side, subset, weight === undefined ? '-' : String(weight), m ? String(m.requests) : '-', percent(m?.successRate), millis(m?.p99Ms)];
}

export function renderStatus(canary: Canary, now: number): string {
  const { spec, status, metadata } = canary;
  const lines: string[] = [];
  const weight = status?.canaryWeight;
  lines.push(`Canary ${metadata.namespace}/${metadata.name}: host ${spec.host}, ${spec.baseline.subset} -> ${spec.canary.subset}, steps ${stepWeightsOf(spec.analysis).join(',')} then 100, every ${spec.analysis.interval}`);
  lines.push('');
  const flags = [spec.paused ? 'paused' : '', spec.promote ? 'promote' : '', spec.abort ? 'abort' : ''].filter(Boolean).join(',');
  lines.push(
    formatTable(
      ['PHASE', 'STEP', 'WEIGHTS (BASELINE/CANARY)', 'FAILED CHECKS', 'LAST STEP', 'SPEC'],
      [[status?.phase ?? 'Pending', stepText(canary), weight === undefined ? '-' : `${100 - weight}/${weight}`, status ? `${status.failedChecks}/${spec.analysis.threshold ?? 2}` : '-', age(status?.lastStepTime, now), flags || '-']],
    ),
  );
  if (status?.message) lines.push(`Message: ${status.message}`);
  const a = status?.lastAnalysis;
  lines.push('');
  lines.push(
    formatTable(
      ['SIDE', 'SUBSET', 'WEIGHT', 'REQUESTS', 'SUCCESS RATE', 'P99'],
      [
        sideRow('baseline', spec.baseline.subset, weight === undefined ? undefined : 100 - weight, a?.baseline),
        sideRow('canary', spec.canary.subset, weight, a?.canary),
      ],
    ),
  );
  if (a) {
    lines.push(`Verdict: ${a.verdict} (at ${a.canaryWeight}%, from ${a.source}, ${age(a.time, now)} ago)`);
    for (const r of a.reasons) lines.push(`  ${r}`);
  } else {
    lines.push('Verdict: no analysis yet');
  }
  const conditions = status?.conditions ?? [];
  if (conditions.length > 0) {
    lines.push('');
    lines.push(formatTable(['CONDITION', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], conditions.map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now), c.message])));
  }
  return lines.join('\n');
}

