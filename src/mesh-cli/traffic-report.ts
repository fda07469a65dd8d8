// What `meshwork traffic` prints: the route the proxy takes and the one the applied config declares,
// whether they agree, counts by version, cluster and instance beside the expected shares (and the
// proxy's, when it disagrees), the failed requests, and the chi-square verdict; or the same as one
// JSON/YAML document.

import { formatStructured, formatTable } from './output.js';
import { groupShares, type Shares, type SplitDimension } from './expected-split.js';
import type { DerivedIntent } from './intent/model.js';
import { ALL_DIMENSIONS, type IntentView, type ProxyView, type TrafficJudgement } from './traffic-judgement.js';
import { countsBy, formatP, type Tally } from './verdict.js';

export interface TrafficReport extends TrafficJudgement {
  from: { pod: string; namespace: string; context: string; sidecar: boolean };
  url: string;
  requests: number;
  /** What the applied config declares (absent with --expect). */
  intent?: IntentView;
  /** The sending proxy's own view (absent with --expect). */
  proxy?: ProxyView;
  tally: Tally;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Shares of the verdict's basis for any dimension it speaks for (--expect gives only its own). */
function expectedFor(report: TrafficReport, by: SplitDimension): ReadonlyMap<string, number> | undefined {
  if (by === report.verdict.by) return report.expected;
  if (report.basis === 'intent' && report.intent?.intent.derived) return report.intent.compareBy.includes(by) ? groupShares(report.intent.intent, by) : undefined;
  if (report.basis === 'proxy' && report.proxy && 'split' in report.proxy) return groupShares(report.proxy.split, by);
  return undefined;
}

/** The proxy's shares, shown beside the expected ones when it disagrees with the applied config. */
function proxyColumn(report: TrafficReport, by: SplitDimension): ReadonlyMap<string, number> | undefined {
  if (report.agreement?.agrees !== false || !report.agreement.by.includes(by) || !report.proxy || !('split' in report.proxy)) return undefined;
  return groupShares(report.proxy.split, by);
}

function dimensionTable(report: TrafficReport, by: SplitDimension): string {
  const counts = countsBy(report.tally, by);
  const expected = expectedFor(report, by);
  const proxy = proxyColumn(report, by);
  const names = [...new Set([...(expected?.keys() ?? []), ...(proxy?.keys() ?? []), ...counts.keys()])].sort();
  const succeeded = report.tally.succeeded;
  const rows = names.map((n) => {
    const c = counts.get(n) ?? 0;
    return [n, String(c), succeeded > 0 ? pct(c / succeeded) : '-', ...(proxy ? [pct(proxy.get(n) ?? 0)] : []), expected ? pct(expected.get(n) ?? 0) : '-'];
  });
  return formatTable([by.toUpperCase(), 'COUNT', 'SHARE', ...(proxy ? ['PROXY'] : []), 'EXPECTED'], rows);
}

/** `VirtualService sample/helloworld http[0]: helloworld...:5000 subset v1 80%, ...` */
export function describeIntent(intent: DerivedIntent): string {
  const where = intent.virtualService ? `VirtualService ${intent.virtualService}${intent.route ? ` ${intent.route}` : ''}` : `no VirtualService for ${intent.entry}`;
  const destinations = intent.destinations.map((d) => `${d.host}${d.port !== undefined ? `:${d.port}` : ''}${d.subset ? ` subset ${d.subset}` : ''} ${pct(d.share)}`);
  const rules = intent.destinationRules.length > 0 ? ` (DestinationRule ${intent.destinationRules.join(', ')})` : '';
  return `${where}: ${destinations.join(', ') || 'no destination'}${rules}`;
}

function proxyLines(proxy: ProxyView): string[] {
  if ('error' in proxy) return [`proxy route: none: ${proxy.error}`];
  const { split } = proxy;
  const weights = split.weights.map(([c, w]) => `${c} ${w}`).join(', ');
  return [`route: ${split.routeConfig} > ${split.virtualHost} > ${split.route}: ${weights}`, ...split.notes.map((n) => `note: ${n}`)];
}

function intentLines(view: IntentView): string[] {
  const { intent } = view;
  if (!intent.derived) return [`declared: not derived from the ${view.from}: ${intent.reason}`, ...intent.notes.map((n) => `declared note: ${n}`)];
  return [`declared: ${describeIntent(intent)}`, ...intent.notes.map((n) => `declared note: ${n}`)];
}

function agreementLine(report: TrafficReport): string | undefined {
  const { agreement } = report;
  if (agreement) return agreement.agrees ? `proxy config agrees with the applied config (by ${agreement.by.join(', ')})` : agreement.finding;
  if (report.intent && !report.intent.intent.derived) return 'proxy config not compared with the applied config: its intent is not derived';
  return undefined;
}

export function formatTrafficReport(report: TrafficReport): string {
  const { tally, verdict } = report;
  const lines: string[] = [];
  const via = report.from.sidecar ? 'through its sidecar' : 'directly (the pod has no sidecar)';
  lines.push(`${report.requests} requests from ${report.from.namespace}/${report.from.pod} (context ${report.from.context}) to ${report.url}, ${via}`);
  if (report.proxy) lines.push(...proxyLines(report.proxy));
  if (report.intent) lines.push(...intentLines(report.intent));
  lines.push(`expected shares from: ${report.expectedFrom}`);
  const agreement = agreementLine(report);
  if (agreement) lines.push(agreement);
  for (const by of ALL_DIMENSIONS) lines.push('', dimensionTable(report, by));
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
const sharesDocument = (split: Shares): Record<string, Record<string, number>> =>
  Object.fromEntries(ALL_DIMENSIONS.map((by) => [by, toObject(groupShares(split, by))]));

function intentDocument(view: IntentView): Record<string, unknown> {
  const { intent } = view;
  if (!intent.derived) return { from: view.from, derived: false, reason: intent.reason, notes: intent.notes };
  const { entry, virtualService, route, destinationRules, destinations, failShare, notes } = intent;
  return { from: view.from, derived: true, entry, virtualService, route, destinationRules, destinations, failShare, shares: sharesDocument(intent), notes };
}

/** The proxy's shares; its route and notes are the document's top-level `route` and `notes`. */
function proxyDocument(proxy: ProxyView): Record<string, unknown> {
  if ('error' in proxy) return { source: proxy.source, error: proxy.error };
  return { source: proxy.source, failShare: proxy.split.failShare, shares: sharesDocument(proxy.split) };
}

export function trafficReportDocument(report: TrafficReport): Record<string, unknown> {
  const { tally, verdict } = report;
  const proxySplit = report.proxy && 'split' in report.proxy ? report.proxy.split : undefined;
  return {
    from: report.from,
    url: report.url,
    requests: report.requests,
    expectedFrom: report.expectedFrom,
    // The proxy's route and notes.
    ...(proxySplit
      ? { route: { routeConfig: proxySplit.routeConfig, virtualHost: proxySplit.virtualHost, route: proxySplit.route, weights: Object.fromEntries(proxySplit.weights) }, notes: proxySplit.notes }
      : {}),
    counts: { version: toObject(tally.byVersion), cluster: toObject(tally.byCluster), instance: toObject(tally.byInstance) },
    expected: Object.fromEntries(ALL_DIMENSIONS.flatMap((by) => {
      const e = expectedFor(report, by);
      return e ? [[by, toObject(e)]] : [];
    })),
    ...(report.intent ? { intent: intentDocument(report.intent) } : {}),
    ...(report.proxy ? { proxy: proxyDocument(report.proxy) } : {}),
    ...(report.agreement ? { agreement: report.agreement } : {}),
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
