// What a traffic run is judged against, and the verdict: the counts against the shares the applied
// config declares (the intent), when it can be derived; and, as a finding of its own, whether the
// sending proxy's config gives the same shares. A proxy that disagrees with the applied config fails
// the run even when the counts match the proxy: that is how a translation bug shows.

import { groupShares, type ExpectedSplit, type SplitDimension } from './expected-split.js';
import { compareWithIntent, proxyCannotRoute, type Agreement } from './intent/agreement.js';
import type { Intent } from './intent/model.js';
import { judge, type Tally, type Verdict } from './verdict.js';

/** The proxy's own view: its config walked as Envoy would, or why that walk found no route. */
export type ProxyView = { source: 'proxy' | 'control plane'; split: ExpectedSplit } | { source: 'proxy' | 'control plane'; error: string };

/** The intent and where its config came from: `applied config (context cluster-1)`, `scenario files (...)`. */
export interface IntentView {
  intent: Intent;
  from: string;
  /** The dimensions the intent can speak for (instances need real pod names). */
  compareBy: SplitDimension[];
}

export type Basis = 'intent' | 'proxy' | 'expect';

export interface TrafficJudgement {
  basis: Basis;
  /** Where the expected shares came from, in words. */
  expectedFrom: string;
  /** The shares the verdict used, for its dimension. */
  expected: Map<string, number>;
  verdict: Verdict;
  /** Whether the proxy's config agrees with the intent; absent when either is missing. */
  agreement?: Agreement;
}

export const ALL_DIMENSIONS: SplitDimension[] = ['version', 'cluster', 'instance'];

/** The shares to judge against before any request is sent (throws when there is nothing to judge against). */
export function expectedShares(views: { intent?: IntentView; proxy?: ProxyView; expect?: Map<string, number> }, by: SplitDimension): Pick<TrafficJudgement, 'basis' | 'expectedFrom' | 'expected'> {
  if (views.expect) return { basis: 'expect', expectedFrom: '--expect', expected: views.expect };
  if (views.intent?.intent.derived) return { basis: 'intent', expectedFrom: views.intent.from, expected: groupShares(views.intent.intent, by) };
  if (views.proxy && 'split' in views.proxy) return { basis: 'proxy', expectedFrom: `mesh config (${views.proxy.source})`, expected: groupShares(views.proxy.split, by) };
  const why = [views.intent && !views.intent.intent.derived ? `the applied config: ${views.intent.intent.reason}` : undefined, views.proxy && 'error' in views.proxy ? `the proxy: ${views.proxy.error}` : undefined]
    .filter(Boolean)
    .join('; ');
  throw new Error(`no expected split${why ? ` (${why})` : ''}`);
}

export function agreementOf(intent: IntentView | undefined, proxy: ProxyView | undefined): Agreement | undefined {
  if (!intent?.intent.derived || !proxy) return undefined;
  if ('error' in proxy) return proxyCannotRoute(intent.intent, intent.compareBy, proxy.error);
  return compareWithIntent(intent.intent, proxy.split, intent.compareBy);
}

export function judgeTraffic(
  t: Tally,
  views: { intent?: IntentView; proxy?: ProxyView; expect?: Map<string, number> },
  by: SplitDimension,
  opts: { alpha?: number; maxFailures?: number } = {},
): TrafficJudgement {
  const basis = expectedShares(views, by);
  const verdict = judge(t, basis.expected, by, opts);
  const agreement = views.expect ? undefined : agreementOf(views.intent, views.proxy);
  if (agreement && !agreement.agrees && agreement.finding) {
    verdict.pass = false;
    verdict.reasons.unshift(agreement.finding);
  }
  return { ...basis, verdict, ...(agreement ? { agreement } : {}) };
}
