// The verdict of a traffic run against the applied config: a translation that flips the canary's
// weights sends 20/80 where the VirtualService says 80/20. The counts match the proxy's config, so a
// check of the proxy against itself passes; judged against the intent, the run fails and says why.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteAction } from '../translate/envoy-types.js';
import { buildSnapshot, proxyFor, scenarioClusters, type ScenarioRule } from '../translate/testdata/fixture.js';
import { translate } from '../translate/translate.js';
import type { Answer } from './answers.js';
import { asProxyResources, parseConfigDump } from './config-dump.js';
import { expectedSplit, groupShares } from './expected-split.js';
import { deriveIntent } from './intent/derive.js';
import { EndpointDirectory, parseRegistry, parseRegistryMesh } from './registry.js';
import { proxyDump, registryBody } from './testdata/dumps.js';
import { ALL_DIMENSIONS, judgeTraffic, type IntentView, type ProxyView } from './traffic-judgement.js';
import { formatTrafficReport, trafficReportDocument, type TrafficReport } from './traffic-report.js';
import { judge, tally } from './verdict.js';

const HELLO = { host: 'helloworld.sample:5000', path: '/hello' };

/**
 * The scenario with `rules` applied, the sleep sidecar's config as its proxy would dump it (after
 * `bug` edits the translation), the intent from the same applied config, and the registry both read.
 */
function scenario(rules: ScenarioRule[], bug: (action: RouteAction) => void = () => undefined) {
  const clusters = scenarioClusters(rules);
  const snapshot = buildSnapshot(clusters);
  const sleep = clusters[0].pod('sleep');
  const local = (o: { cluster: string }): boolean => o.cluster === sleep.cluster;
  const resources = translate(snapshot, proxyFor(sleep, 'sidecar'));
  for (const route of resources.routes.flatMap((rc) => rc.virtual_hosts.filter((vh) => vh.name.startsWith('helloworld.')).flatMap((vh) => vh.routes))) {
    if ('route' in route && route.route) bug(route.route);
  }
  const registry = registryBody(snapshot);
  const directory = new EndpointDirectory(parseRegistry(registry));
  const proxy: ProxyView = { source: 'proxy', split: expectedSplit(asProxyResources(parseConfigDump(proxyDump(resources))), HELLO, directory) };
  const intent: IntentView = {
    intent: deriveIntent({
      // What the sleep pod's control plane reads: its own cluster's config.
      config: { virtualServices: snapshot.virtualServices.filter(local), destinationRules: snapshot.destinationRules.filter(local), serviceEntries: snapshot.serviceEntries.filter(local) },
      ...parseRegistryMesh(registry),
      source: { namespace: sleep.namespace, labels: sleep.labels },
      request: HELLO,
    }),
    from: 'applied config (context cluster-1)',
    compareBy: ALL_DIMENSIONS,
  };
  return { proxy, intent, directory };
}

/** The translation bug: the weighted clusters' weights in reverse order. */
function flipWeights(action: RouteAction): void {
  const clusters = 'weighted_clusters' in action ? action.weighted_clusters.clusters : [];
  const weights = clusters.map((c) => c.weight).reverse();
  clusters.forEach((c, i) => (c.weight = weights[i]));
}

function answers(counts: Record<string, number>): Answer[] {
  return Object.entries(counts).flatMap(([version, n]) => Array.from({ length: n }, () => ({ status: 200, curlExit: 0, body: '', version, instance: `helloworld-${version}-c${version.slice(1)}-0` })));
}

function report(counts: Record<string, number>, views: { intent: IntentView; proxy: ProxyView }, directory: EndpointDirectory): TrafficReport {
  const t = tally(answers(counts), (pod) => directory.byPod(pod)?.cluster);
  return {
    from: { pod: 'sleep-c1-0', namespace: 'sample', context: 'cluster-1', sidecar: true },
    url: 'http://helloworld.sample:5000/hello',
    requests: t.requests,
    ...judgeTraffic(t, views, 'version'),
    ...views,
    tally: t,
  };
}

describe('traffic judged against the applied config', () => {
  it('flipped weights in the proxy: the counts match the proxy, the run FAILs naming the disagreement', () => {
    const { proxy, intent, directory } = scenario(['destinationrule', 'virtualservice'], flipWeights);
    assert.ok('split' in proxy);
    assert.deepEqual(proxy.split.weights.map(([, w]) => w), [20, 80], 'the translation bug is in the dump');
    const t = tally(answers({ v1: 210, v2: 790 }), (pod) => directory.byPod(pod)?.cluster);
    // Today's check, the proxy against itself, cannot see it.
    assert.equal(judge(t, groupShares(proxy.split, 'version'), 'version').pass, true);

    const r = report({ v1: 210, v2: 790 }, { intent, proxy }, directory);
    assert.equal(r.basis, 'intent');
    assert.deepEqual(Object.fromEntries(r.expected), { v1: 0.8, v2: 0.2 });
    assert.equal(r.agreement?.agrees, false);
    assert.equal(r.verdict.pass, false);
    assert.equal(
      r.verdict.reasons[0],
      'proxy config disagrees with the applied config: v1=20% v2=80% in the proxy vs v1=80% v2=20% declared by VirtualService sample/helloworld and DestinationRule sample/helloworld',
    );
    assert.match(r.verdict.reasons[1] ?? '', /the split differs from the weights/);

    const text = formatTrafficReport(r);
    assert.match(text, /^declared: VirtualService sample\/helloworld http\[0\]: helloworld\.sample\.svc\.cluster\.local:5000 subset v1 80\.0%, helloworld\.sample\.svc\.cluster\.local:5000 subset v2 20\.0% \(DestinationRule sample\/helloworld\)$/m);
    assert.match(text, /^expected shares from: applied config \(context cluster-1\)$/m);
    assert.match(text, /^VERSION {3}COUNT {3}SHARE {3}PROXY {3}EXPECTED\nv1 {8}210 {5}21\.0% {3}20\.0% {3}80\.0%\nv2 {8}790 {5}79\.0% {3}80\.0% {3}20\.0%$/m);
    assert.match(text, /\nFAIL: proxy config disagrees with the applied config: v1=20% v2=80% in the proxy vs v1=80% v2=20% declared by VirtualService sample\/helloworld/);

    const doc = trafficReportDocument(r) as { agreement: { agrees: boolean; finding: string }; intent: { shares: { version: Record<string, number> } }; proxy: { shares: { version: Record<string, number> } } };
    assert.equal(doc.agreement.agrees, false);
    assert.deepEqual(doc.intent.shares.version, { v1: 0.8, v2: 0.2 });
    assert.deepEqual(doc.proxy.shares.version, { v1: 0.2, v2: 0.8 });
  });

  it('a faithful translation: the proxy agrees, 80/20 counts PASS', () => {
    const { proxy, intent, directory } = scenario(['destinationrule', 'virtualservice']);
    const r = report({ v1: 795, v2: 205 }, { intent, proxy }, directory);
    assert.deepEqual(r.agreement, { agrees: true, by: ['version', 'cluster', 'instance'] });
    assert.equal(r.verdict.pass, true, r.verdict.reasons.join('; '));
    const text = formatTrafficReport(r);
    assert.match(text, /^proxy config agrees with the applied config \(by version, cluster, instance\)$/m);
    assert.match(text, /^v1 {8}795 {5}79\.5% {3}80\.0%$/m);
    assert.match(text, /\nPASS$/);
  });

  it('no rules: the intent is the service\'s endpoints evenly, and the proxy agrees', () => {
    const { proxy, intent, directory } = scenario([]);
    const r = report({ v1: 490, v2: 510 }, { intent, proxy }, directory);
    assert.equal(r.agreement?.agrees, true);
    assert.deepEqual(Object.fromEntries(r.expected), { v1: 0.5, v2: 0.5 });
    assert.match(formatTrafficReport(r), /^declared: no VirtualService for helloworld\.sample\.svc\.cluster\.local:5000: helloworld\.sample\.svc\.cluster\.local:5000 100\.0%$/m);
  });

  it('an intent that cannot be derived: judged against the proxy, and said so', () => {
    const { proxy, directory } = scenario(['destinationrule', 'virtualservice']);
    const intent: IntentView = { intent: { derived: false, reason: 'VirtualService x injects aborts', notes: [] }, from: 'applied config (context cluster-1)', compareBy: ALL_DIMENSIONS };
    const r = report({ v1: 800, v2: 200 }, { intent, proxy }, directory);
    assert.equal(r.basis, 'proxy');
    assert.equal(r.expectedFrom, 'mesh config (proxy)');
    assert.equal(r.agreement, undefined);
    assert.equal(r.verdict.pass, true);
    assert.match(formatTrafficReport(r), /^declared: not derived from the applied config \(context cluster-1\): VirtualService x injects aborts$\n[\s\S]*^proxy config not compared with the applied config/m);
  });

  it('a proxy that does not route the request at all disagrees', () => {
    const { intent, directory } = scenario(['destinationrule', 'virtualservice']);
    const proxy: ProxyView = { source: 'proxy', error: 'the proxy\'s config does not route helloworld.sample:5000/hello: no-virtual-host' };
    const r = report({ v1: 800, v2: 200 }, { intent, proxy }, directory);
    assert.equal(r.verdict.pass, false);
    assert.match(r.verdict.reasons[0], /^proxy config disagrees with the applied config: the proxy's config does not route .* vs v1=80% v2=20% declared by VirtualService sample\/helloworld/);
  });
});
