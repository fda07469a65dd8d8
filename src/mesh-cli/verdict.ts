// Counting the answers of a traffic run and judging them: Pearson's chi-square against the expected
// shares (src/stats/chisquare.ts, alpha 0.001), plus the failed requests, which no split excuses.

import { chiSquareTest, type ChiSquareResult } from '../stats/chisquare.js';
import { outcomeOf, type Answer } from './answers.js';
import type { SplitDimension } from './expected-split.js';

export interface Tally {
  requests: number;
  succeeded: number;
  failed: number;
  /** Reason -> count, e.g. 'HTTP 503' -> 4. */
  failures: Map<string, number>;
  byVersion: Map<string, number>;
  byCluster: Map<string, number>;
  byInstance: Map<string, number>;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** `clusterOf` maps an instance (pod name) to its member cluster, when known. */
export function tally(answers: readonly Answer[], clusterOf: (instance: string) => string | undefined): Tally {
  const t: Tally = { requests: 0, succeeded: 0, failed: 0, failures: new Map(), byVersion: new Map(), byCluster: new Map(), byInstance: new Map() };
  for (const answer of answers) {
    t.requests++;
    const outcome = outcomeOf(answer);
    if (!outcome.ok) {
      t.failed++;
      bump(t.failures, outcome.reason);
      continue;
    }
    t.succeeded++;
    bump(t.byVersion, outcome.version);
    const instance = outcome.instance ?? 'unknown';
    bump(t.byInstance, instance);
    bump(t.byCluster, (outcome.instance && clusterOf(outcome.instance)) || 'unknown');
  }
  return t;
}

export function countsBy(t: Tally, by: SplitDimension): Map<string, number> {
  return by === 'version' ? t.byVersion : by === 'cluster' ? t.byCluster : t.byInstance;
}

/** `v1=80,v2=20` -> {v1: 0.8, v2: 0.2}. */
export function parseExpect(text: string): Map<string, number> {
  const raw = new Map<string, number>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)\s*=\s*(\d+(?:\.\d+)?)%?$/.exec(part);
    if (!m) throw new Error(`--expect: "${part}" is not NAME=WEIGHT (e.g. v1=80,v2=20)`);
    if (raw.has(m[1])) throw new Error(`--expect: ${m[1]} given twice`);
    raw.set(m[1], Number(m[2]));
  }
  const total = [...raw.values()].reduce((a, b) => a + b, 0);
  if (raw.size === 0 || total <= 0) throw new Error(`--expect: "${text}" gives no positive weight`);
  return new Map([...raw].map(([k, w]) => [k, w / total]));
}

export interface VerdictRow {
  name: string;
  observed: number;
  expectedShare: number;
  expectedCount: number;
}

export interface Verdict {
  by: SplitDimension;
  rows: VerdictRow[];
  chiSquare?: ChiSquareResult;
  alpha: number;
  failed: number;
  maxFailures: number;
  pass: boolean;
  /** Why it failed, in words. */
  reasons: string[];
}

export function judge(t: Tally, expected: ReadonlyMap<string, number>, by: SplitDimension, opts: { alpha?: number; maxFailures?: number } = {}): Verdict {
  const alpha = opts.alpha ?? 0.001;
  const maxFailures = opts.maxFailures ?? 0;
  const observed = countsBy(t, by);
  const names = [...new Set([...expected.keys(), ...observed.keys()])].sort((a, b) => (expected.get(b) ?? 0) - (expected.get(a) ?? 0) || a.localeCompare(b));
  const rows = names.map((name) => ({
    name,
    observed: observed.get(name) ?? 0,
    expectedShare: expected.get(name) ?? 0,
    expectedCount: (expected.get(name) ?? 0) * t.succeeded,
  }));
  const reasons: string[] = [];
  let chiSquare: ChiSquareResult | undefined;
  if (t.succeeded === 0) {
    reasons.push('no request succeeded: nothing to compare with the weights');
  } else {
    chiSquare = chiSquareTest(rows.map((r) => r.observed), rows.map((r) => r.expectedShare), alpha);
    const unexpected = rows.filter((r) => r.expectedShare === 0 && r.observed > 0).map((r) => r.name);
    if (unexpected.length > 0) reasons.push(`answers from ${unexpected.join(', ')}, which should get no traffic`);
    else if (!chiSquare.pass) reasons.push(`the split differs from the weights (p = ${formatP(chiSquare.pValue)} <= alpha ${alpha})`);
  }
  if (t.failed > maxFailures) reasons.push(`${t.failed} failed request(s) (allowed: ${maxFailures})`);
  return { by, rows, ...(chiSquare ? { chiSquare } : {}), alpha, failed: t.failed, maxFailures, pass: reasons.length === 0, reasons };
}

export function formatP(p: number): string {
  if (p === 0) return '0';
  if (p < 1e-4) return p.toExponential(2);
  return p.toFixed(4);
}
