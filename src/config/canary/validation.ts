// What a Canary's schema cannot say, checked as the API server's validation does (FieldCause, the
// apiserver's error form): one way of stepping, increasing steps, Go durations, thresholds that match
// their metric, two different subsets, URLs. Pure.
//
// Exports: validateCanarySpec(spec, out).
import { parseGoDuration } from '../duration.js';
import { duplicate, forbidden, invalid, required } from '../schemas/causes.js';
import type { FieldCause } from '../../k8s/status.js';

type Fields = Record<string, unknown>;
function record(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}

function checkDuration(value: unknown, path: string, out: FieldCause[], positive: boolean): void {
  if (typeof value !== 'string') return; // a wrong type is the schema's finding
  try {
    const ms = parseGoDuration(value, path);
    if (positive && ms <= 0) out.push(invalid(path, value, 'must be a positive duration, e.g. 30s or 1m'));
  } catch {
    out.push(invalid(path, value, 'must be a Go duration: a number and a unit (ms, s, m, h), e.g. 30s, 1m30s'));
  }
}

function checkUrl(value: unknown, path: string, out: FieldCause[]): void {
  if (typeof value !== 'string' || value === '') return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    out.push(invalid(path, value, 'must be an absolute http:// or https:// URL'));
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') out.push(invalid(path, value, 'must be an absolute http:// or https:// URL'));
}

function checkSteps(analysis: Fields, out: FieldCause[]): void {
  const weights = analysis.stepWeights;
  const step = analysis.stepWeight;
  const p = 'spec.analysis';
  if (weights !== undefined && step !== undefined) {
    out.push(forbidden(`${p}.stepWeight`, 'may not be set with stepWeights: give either the list of weights, or stepWeight (and maxWeight)'));
  } else if (weights === undefined && step === undefined) {
    out.push(required(`${p}.stepWeights`, 'give the canary weight per step (stepWeights: [10, 25, 50]) or stepWeight (and maxWeight)'));
  }
  if (Array.isArray(weights)) {
    if (weights.length === 0) out.push(required(`${p}.stepWeights`, 'must hold at least one weight'));
    weights.forEach((w, i) => {
      if (typeof w !== 'number') return;
      if (!Number.isInteger(w) || w < 1 || w > 100) out.push(invalid(`${p}.stepWeights[${i}]`, w, 'must be an integer percent within 1..100'));
      const prev = weights[i - 1];
      if (i > 0 && typeof prev === 'number' && w <= prev) out.push(invalid(`${p}.stepWeights[${i}]`, w, `must be greater than the step before it (${prev}): weights increase step by step`));
    });
    if (analysis.maxWeight !== undefined) out.push(forbidden(`${p}.maxWeight`, 'applies to stepWeight only; with stepWeights the last weight is the maximum'));
  }
  const max = analysis.maxWeight;
  if (typeof step === 'number' && typeof max === 'number' && step > max) {
    out.push(invalid(`${p}.stepWeight`, step, `must not exceed maxWeight (${max})`));
  }
}

function checkMetrics(analysis: Fields, out: FieldCause[]): void {
  const metrics = Array.isArray(analysis.metrics) ? analysis.metrics : [];
  const seen = new Set<string>();
  metrics.forEach((raw, i) => {
    const m = record(raw);
    if (!m) return;
    const p = `spec.analysis.metrics[${i}]`;
    const name = m.name;
    if (typeof name === 'string') {
      if (seen.has(name)) out.push(duplicate(`${p}.name`, name));
      seen.add(name);
    }
    const range = record(m.thresholdRange) ?? {};
    if (name === 'request-success-rate') {
      if (typeof range.min !== 'number') out.push(required(`${p}.thresholdRange.min`, 'request-success-rate needs a minimum percent, e.g. min: 99'));
      else if (range.min < 0 || range.min > 100) out.push(invalid(`${p}.thresholdRange.min`, range.min, 'must be a percent within 0..100'));
      if (range.max !== undefined) out.push(forbidden(`${p}.thresholdRange.max`, 'request-success-rate is checked against min only'));
    }
    if (name === 'request-duration') {
      if (typeof range.max !== 'number') out.push(required(`${p}.thresholdRange.max`, 'request-duration needs a maximum p99 in milliseconds, e.g. max: 500'));
      else if (range.max <= 0) out.push(invalid(`${p}.thresholdRange.max`, range.max, 'must be a positive number of milliseconds'));
      if (range.min !== undefined) out.push(forbidden(`${p}.thresholdRange.min`, 'request-duration is checked against max only'));
    }
  });
}

function checkWebhooks(analysis: Fields, out: FieldCause[]): void {
  const hooks = Array.isArray(analysis.webhooks) ? analysis.webhooks : [];
  const names = new Set<string>();
  hooks.forEach((raw, i) => {
    const h = record(raw);
    if (!h) return;
    const p = `spec.analysis.webhooks[${i}]`;
    if (typeof h.name === 'string') {
      if (names.has(h.name)) out.push(duplicate(`${p}.name`, h.name));
      names.add(h.name);
    }
    checkUrl(h.url, `${p}.url`, out);
    if (h.timeout !== undefined) checkDuration(h.timeout, `${p}.timeout`, out, true);
  });
}

/** Appends the semantic problems of a Canary's spec (types and required fields are the schema's). */
export function validateCanarySpec(specValue: unknown, out: FieldCause[]): void {
  const spec = record(specValue);
  if (!spec) return;
  const baseline = record(spec.baseline)?.subset;
  const canary = record(spec.canary)?.subset;
  if (typeof baseline === 'string' && baseline !== '' && baseline === canary) {
    out.push(invalid('spec.canary.subset', canary, 'must differ from spec.baseline.subset: traffic moves from one subset to another'));
  }
  const analysis = record(spec.analysis);
  if (!analysis) return;
  checkDuration(analysis.interval, 'spec.analysis.interval', out, true);
  checkSteps(analysis, out);
  checkMetrics(analysis, out);
  checkWebhooks(analysis, out);
  checkUrl(record(analysis.prometheus)?.address, 'spec.analysis.prometheus.address', out);
  if (spec.promote === true && spec.abort === true) out.push(forbidden('spec.abort', 'may not be set with spec.promote: choose one'));
}
