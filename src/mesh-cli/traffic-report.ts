// What `meshwork traffic` prints: counts by version, cluster and instance beside the expected shares,
// the failed requests, and the chi-square verdict; or the same as one JSON/YAML document.

import { formatStructured, formatTable } from '../cli/output.js';
import { groupShares, type ExpectedSplit, type SplitDimension } from './expected-split.js';
import { countsBy, formatP, type Tally, type Verdict } from './verdict.js';

export interface TrafficReport {
  from: { pod: string; namespace: string; context: string; sidecar: boolean };
  url: string;
  requests: number;
  /** Where the expected shares came from. */
  expectedFrom: 'mesh config (proxy)' | 'mesh config (control plane)' | '--expect';
  split?: ExpectedSplit;
  /** The shares the verdict used, for its dimension. */
  expected: ReadonlyMap<string, number>;
  tally: Tally;
  verdict: Verdict;
}

const DIMENSIONS: SplitDimension[] = ['version', 'cluster', 'instance'];
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function expectedFor(report: TrafficReport, by: SplitDimension): ReadonlyMap<string, number> | undefined {
  if (by === report.verdict.by) return report.expected;
  return report.split ? groupShares(report.split, by) : undefined;
}

function dimensionTable(report: TrafficReport, by: SplitDimension): string {
  const counts = countsBy(report.tally, by);
  const expected = expectedFor(report, by);
  const names = [...new Set([...(expected?.keys() ?? []), ...counts.keys()])].sort();
  const succeeded = report.tally.succeeded;
  const rows = names.map((n) => {
    const c = counts.get(n) ?? 0;
    return [n, String(c), succeeded > 0 ? pct(c / succeeded) : '-', expected ? pct(expected.get(n) ?? 0) : '-'];
  });
  return formatTable([by.toUpperCase(), 'COUNT', 'SHARE', 'EXPECTED'], rows);
}

export function formatTrafficReport(report: TrafficReport): string {
  const { tally, verdict } = report;
  const lines: string[] = [];
  const via = report.from.sidecar ? 'through its sidecar' : 'directly (the pod has no sidecar)';
  lines.push(`${report.requests} requests from ${report.from.namespace}/${report.from.pod} (context ${report.from.context}) to ${report.url}, ${via}`);
  if (report.split) {
    const weights = report.split.weights.map(([c, w]) => `${c} ${w}`).join(', ');
    lines.push(`route: ${report.split.routeConfig} > ${report.split.virtualHost} > ${report.split.route}: ${weights}`);
    for (const note of report.split.notes) lines.push(`note: ${note}`);
  }
  lines.push(`expected shares from: ${report.expectedFrom}`);
  for (const by of DIMENSIONS) lines.push('', dimensionTable(report, by));
  lines.push('');
  const reasons = [...tally.failures].map(([r, n]) => `${r}: ${n}`).join(', ');
  lines.push(`failed requests: ${tally.failed}${reasons ? ` (${reasons})` : ''}`);
  if (verdict.chiSquare) {
    const chi = verdict.chiSquare;
    lines.push(
      `chi-square by ${verdict.by}: statistic ${chi.statistic.toFixed(3)}, ${chi.degreesOfFreedom} degree(s) of freedom, ` +
        `p-value ${formatP(chi.pValue)}, alpha ${verdict.alpha}`,
    );
  }
  lines.push(verdict.pass ? 'PASS' : `FAIL: ${verdict.reasons.join('; ')}`);
  return lines.join('\n');
}

const toObject = (m: ReadonlyMap<string, number>): Record<string, number> => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));

export function trafficReportDocument(report: TrafficReport): Record<string, unknown> {
  const { tally, verdict } = report;
  return {
    from: report.from,
    url: report.url,
    requests: report.requests,
    expectedFrom: report.expectedFrom,
    ...(report.split
      ? { route: { routeConfig: report.split.routeConfig, virtualHost: report.split.virtualHost, route: report.split.route, weights: Object.fromEntries(report.split.weights) }, notes: report.split.notes }
      : {}),
    counts: { version: toObject(tally.byVersion), cluster: toObject(tally.byCluster), instance: toObject(tally.byInstance) },
    expected: Object.fromEntries(DIMENSIONS.flatMap((by) => {
      const e = expectedFor(report, by);
      return e ? [[by, toObject(e)]] : [];
    })),
    succeeded: tally.succeeded,
    failed: tally.failed,
    failures: toObject(tally.failures),
    verdict: {
      by: verdict.by,
      pass: verdict.pass,
      alpha: verdict.alpha,
      maxFailures: verdict.maxFailures,
      ...(verdict.chiSquare ? { statistic: verdict.chiSquare.statistic, degreesOfFreedom: verdict.chiSquare.degreesOfFreedom, pValue: verdict.chiSquare.pValue } : {}),
      reasons: verdict.reasons,
    },
  };
}

export function formatTrafficStructured(report: TrafficReport, format: 'json' | 'yaml'): string {
  return formatStructured(trafficReportDocument(report), format);
}
