// The canaries panel: a Canary (rollouts.meshwork.io) as the page shows it: phase, the canary's weight and
// the steps it goes through (the controller's own step list, promotion to 100 % last), the last check's
// value of each metric against its threshold, conditions. Pure.
//
// Exports: canaryView.
import { canarySteps } from '../config/canary/spec.js';
import type { Canary, CanaryAnalysisResult, CanaryMetric } from '../config/canary/types.js';
import type { CanaryView } from './model.js';

type AnalysisRow = NonNullable<CanaryView['lastAnalysis']>[number];

function metricRow(metric: CanaryMetric, result: CanaryAnalysisResult): AnalysisRow | undefined {
  const baseline = result.baseline;
  if (metric.name === 'request-success-rate' && metric.thresholdRange.min !== undefined) {
    const value = result.canary.successRate;
    return {
      metric: metric.name,
      ...(value !== undefined ? { value } : {}),
      threshold: metric.thresholdRange.min,
      passed: value !== undefined && value >= metric.thresholdRange.min,
      detail: value === undefined ? 'no canary requests measured' : `canary ${round(value)} % (min ${metric.thresholdRange.min} %), baseline ${baseline.successRate === undefined ? '-' : `${round(baseline.successRate)} %`}`,
    };
  }
  if (metric.name === 'request-duration' && metric.thresholdRange.max !== undefined) {
    const value = result.canary.p99Ms;
    return {
      metric: metric.name,
      ...(value !== undefined ? { value } : {}),
      threshold: metric.thresholdRange.max,
      passed: value !== undefined && value <= metric.thresholdRange.max,
      detail: value === undefined ? 'no duration histogram for the canary' : `canary p99 ${round(value)} ms (max ${metric.thresholdRange.max} ms), baseline ${baseline.p99Ms === undefined ? '-' : `${round(baseline.p99Ms)} ms`}`,
    };
  }
  return undefined;
}

const round = (v: number): number => Math.round(v * 10) / 10;

/** The view of one Canary read from `cluster`'s API server. */
export function canaryView(canary: Canary, cluster: string): CanaryView {
  const status = canary.status;
  const analysis = canary.spec?.analysis;
  let steps: number[] = [];
  try {
    steps = analysis ? canarySteps(analysis) : [];
  } catch {
    steps = [];
  }
  const last = status?.lastAnalysis;
  const rows = last && analysis ? (analysis.metrics ?? []).flatMap((m) => metricRow(m, last) ?? []) : undefined;
  return {
    namespace: canary.metadata.namespace,
    name: canary.metadata.name,
    cluster,
    // No status yet: the controller has not taken the Canary up (not running, or not yet).
    phase: status?.phase ?? 'Pending',
    canaryWeight: status?.canaryWeight ?? 0,
    steps,
    stepIndex: status?.currentStep ?? -1,
    failedChecks: status?.failedChecks ?? 0,
    ...(rows ? { lastAnalysis: rows } : {}),
    conditions: (status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) })),
    ...(last?.time ?? status?.lastStepTime ? { updatedAt: last?.time ?? status?.lastStepTime } : {}),
    ...(canary.spec?.host ? { host: canary.spec.host } : {}),
    ...(canary.spec?.baseline?.subset ? { baselineSubset: canary.spec.baseline.subset } : {}),
    ...(canary.spec?.canary?.subset ? { canarySubset: canary.spec.canary.subset } : {}),
    ...(last ? { lastVerdict: last.verdict, lastReasons: last.reasons } : {}),
    ...(status?.message ? { message: status.message } : {}),
  };
}
