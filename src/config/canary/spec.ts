// A Canary's spec with its defaults resolved, and its steps: the one reading of the spec the planner,
// the controller and the CLI share. Pure.
//
// Exports: CANARY_DEFAULTS, resolveSpec(spec) -> ResolvedCanarySpec, canarySteps(analysis) -> weights,
// shortHost(host), defaultCanaryObject(obj) (the API server's defaulting of a stored Canary).
import { parseGoDuration } from '../duration.js';
import type { CanaryAnalysis, CanarySpec, CanaryWebhook } from './types.js';

export const CANARY_DEFAULTS = {
  threshold: 2,
  maxWeight: 50,
  minRequests: 20,
  webhookTimeout: '10s',
} as const;

export interface ResolvedWebhook extends CanaryWebhook {
  timeoutMs: number;
}

export interface ResolvedCanarySpec {
  host: string;
  /** The short name of host (helloworld of helloworld.sample.svc.cluster.local). */
  service: string;
  virtualServices: string[];
  clusters?: string[];
  baseline: string;
  canary: string;
  intervalMs: number;
  threshold: number;
  minRequests: number;
  /** The canary weight of every step, the last being 100 (promotion). */
  steps: number[];
  metrics: CanaryAnalysis['metrics'];
  prometheus?: string;
  webhooks: ResolvedWebhook[];
  paused: boolean;
  promote: boolean;
  abort: boolean;
}

/** `helloworld` of `helloworld`, `helloworld.sample`, `helloworld.sample.svc.cluster.local`. */
export function shortHost(host: string): string {
  return host.split('.')[0] ?? host;
}

/**
 * The canary's weight per step. stepWeights as written; or stepWeight, 2*stepWeight, ... capped at
 * maxWeight (as Flagger); then 100, the promotion step, unless the list already ends at 100.
 */
export function canarySteps(analysis: Pick<CanaryAnalysis, 'stepWeights' | 'stepWeight' | 'maxWeight'>): number[] {
  const steps: number[] = [];
  if (analysis.stepWeights && analysis.stepWeights.length > 0) steps.push(...analysis.stepWeights);
  else if (analysis.stepWeight !== undefined && analysis.stepWeight > 0) {
    const max = analysis.maxWeight ?? CANARY_DEFAULTS.maxWeight;
    for (let w = analysis.stepWeight; ; w += analysis.stepWeight) {
      const capped = Math.min(w, max);
      steps.push(capped);
      if (capped >= max) break;
    }
  }
  if (steps[steps.length - 1] !== 100) steps.push(100);
  return steps;
}

/** The spec with every default applied; throws (naming the field) on a duration Go would not parse. */
export function resolveSpec(spec: CanarySpec): ResolvedCanarySpec {
  const a = spec.analysis;
  const service = shortHost(spec.host);
  return {
    host: spec.host,
    service,
    virtualServices: spec.virtualServices && spec.virtualServices.length > 0 ? [...spec.virtualServices] : [service],
    ...(spec.clusters && spec.clusters.length > 0 ? { clusters: [...spec.clusters] } : {}),
    baseline: spec.baseline.subset,
    canary: spec.canary.subset,
    intervalMs: parseGoDuration(a.interval, 'spec.analysis.interval'),
    threshold: a.threshold ?? CANARY_DEFAULTS.threshold,
    minRequests: a.minRequests ?? CANARY_DEFAULTS.minRequests,
    steps: canarySteps(a),
    metrics: a.metrics ?? [],
    ...(a.prometheus?.address ? { prometheus: a.prometheus.address } : {}),
    webhooks: (a.webhooks ?? []).map((w, i) => ({ ...w, timeoutMs: parseGoDuration(w.timeout ?? CANARY_DEFAULTS.webhookTimeout, `spec.analysis.webhooks[${i}].timeout`) })),
    paused: spec.paused === true,
    promote: spec.promote === true,
    abort: spec.abort === true,
  };
}

type Fields = Record<string, unknown>;
function record(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}

/** The defaults the CRD's schema declares, applied in place as the API server applies schema defaults. */
export function defaultCanaryObject(obj: Fields): void {
  const analysis = record(record(obj.spec)?.analysis);
  if (!analysis) return;
  analysis.threshold ??= CANARY_DEFAULTS.threshold;
  analysis.minRequests ??= CANARY_DEFAULTS.minRequests;
  // maxWeight only means something with stepWeight (a default beside stepWeights would contradict them).
  if (analysis.stepWeight !== undefined) analysis.maxWeight ??= CANARY_DEFAULTS.maxWeight;
  if (Array.isArray(analysis.webhooks)) for (const w of analysis.webhooks) { const hook = record(w); if (hook) hook.timeout ??= CANARY_DEFAULTS.webhookTimeout; }
}
