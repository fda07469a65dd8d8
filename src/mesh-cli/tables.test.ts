// The istioctl-style tables and messages: proxy-config, proxy-status, analyze.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configDump } from '../controlplane/proxy-resources.js';
import { readManifests } from '../k8s/client/manifests.js';
import { buildSnapshot, proxyFor, scenarioClusters, scenarioDir } from '../translate/testdata/fixture.js';
import { analyze, translate } from '../translate/translate.js';
import { formatProblem, messageCode, parseAnalyzeAnswer } from './analyze.js';
import { offlineSnapshot } from './analyze-offline.js';
import { parseConfigDump } from './config-dump.js';
import { ejectedHosts, formatConfigTable, parseClusterName } from './proxy-config-tables.js';
import { formatProxyStatus, syncRows } from './proxy-status.js';

function sleepDump() {
  const clusters = scenarioClusters(['destinationrule', 'virtualservice']);
  const resources = translate(buildSnapshot(clusters), proxyFor(clusters[0].pod('sleep'), 'sidecar'));
  return parseConfigDump(JSON.parse(JSON.stringify(configDump(resources, 'v1'))));
}

describe('proxy-config tables', () => {
  const dump = sleepDump();

  it('routes: one row per route, the VirtualService named as name.namespace', () => {
    const lines = formatConfigTable(dump, 'routes').split('\n');
    assert.match(lines[0], /^NAME +VHOST NAME +DOMAINS +MATCH +VIRTUAL SERVICE$/);
    assert.ok(lines.some((l) => /^http_proxy +helloworld\.sample\.svc\.cluster\.local:5000 +helloworld:5000 \+ 3 more\.\.\. +\/\* +helloworld\.sample$/.test(l)), lines.join('\n'));
    // Inline route configs (inbound listeners) are not RDS resources: istioctl does not list them either.
    assert.ok(!lines.some((l) => l.startsWith('inbound|')), lines.join('\n'));
  });

  it('clusters: FQDN, port, subset, direction, type', () => {
    const lines = formatConfigTable(dump, 'clusters').split('\n');
    assert.match(lines[0], /^SERVICE FQDN +PORT +SUBSET +DIRECTION +TYPE$/);
    assert.ok(lines.some((l) => /^helloworld\.sample\.svc\.cluster\.local +5000 +v2 +outbound +EDS$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^- +80 +- +inbound +STATIC$/.test(l)), lines.join('\n'));
    assert.deepEqual(parseClusterName('BlackHoleCluster'), { fqdn: 'BlackHoleCluster', port: '-', subset: '-', direction: '-' });
  });

  it('endpoints: address, health, outlier state from the proxy, cluster', () => {
    const ejected = ejectedHosts({ cluster_statuses: [{ name: 'outbound|5000|v2|helloworld.sample.svc.cluster.local', host_statuses: [{ address: { socket_address: { address: '127.20.0.2', port_value: 5000 } }, health_status: { failed_outlier_check: true } }] }] });
    const lines = formatConfigTable(dump, 'endpoints', ejected).split('\n');
    assert.match(lines[0], /^ENDPOINT +STATUS +OUTLIER CHECK +CLUSTER$/);
    assert.ok(lines.some((l) => /^127\.20\.0\.2:5000 +HEALTHY +FAILED +outbound\|5000\|v2\|helloworld/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^127\.10\.0\.2:5000 +HEALTHY +OK +outbound\|5000\|v1\|helloworld/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^127\.10\.128\.\d+:80 +HEALTHY +OK +inbound\|80\|\|$/.test(l)), lines.join('\n'));
    assert.match(formatConfigTable(dump, 'endpoints'), /127\.20\.0\.2:5000 +HEALTHY +- +/);
  });

  it('listeners: address, port, destination', () => {
    const text = formatConfigTable(dump, 'listeners');
    assert.match(text, /^ADDRESS +PORT +MATCH +DESTINATION$/m);
    assert.match(text, /^127\.10\.0\.\d+ +15001 +ALL +Route: http_proxy$/m);
    assert.match(text, /^127\.10\.0\.\d+ +80 +ALL +Inline Route: inbound\|80\|\|$/m);
  });
});

describe('proxy-status', () => {
  const syncz = {
    version: 'abc',
    now: '2024-01-01T00:10:00Z',
    proxies: [
      { streamId: 1, nodeId: 'sidecar~127.10.0.3~sleep-1.sample~sample.svc.cluster.local', cluster: 'cluster-1', connectedAt: '2024-01-01T00:00:00Z', metadata: {}, state: 'CONNECTED', types: { LDS: { state: 'SYNCED' }, RDS: { state: 'SYNCED' }, CDS: { state: 'SYNCED' }, EDS: { state: 'SYNCED' } } },
      // An older stream of the same node: hidden by the newer one.
      { streamId: 0, nodeId: 'sidecar~127.10.0.3~sleep-1.sample~sample.svc.cluster.local', cluster: 'cluster-1', connectedAt: '2023-01-01T00:00:00Z', metadata: {}, state: 'CONNECTED', types: {} },
      { streamId: 2, nodeId: 'router~127.10.0.4~gw-1.istio-gateway~istio-gateway.svc.cluster.local', cluster: 'cluster-1', connectedAt: '2024-01-01T00:00:00Z', metadata: { ISTIO_VERSION: '1.20' }, state: 'STALE',
        stale: [{ type: 'CDS', has: '0123456789abcdef', latest: 'fedcba9876543210', why: 'nacked', since: '2024-01-01T00:09:18Z' }, { type: 'RDS', latest: 'aaaabbbbccccdddd', why: 'not-acked', since: '2024-01-01T00:09:50Z' }],
        types: { LDS: { state: 'SYNCED' }, CDS: { state: 'STALE', sentVersion: 'fedcba9876543210', ackedVersion: '0123456789abcdef', nack: { version: 'fedcba9876543210', message: 'bad cluster', at: '2024-01-01T00:09:18Z' } }, RDS: { state: 'STALE', sentVersion: 'aaaabbbbccccdddd' } } },
    ],
    disconnected: [
      { streamId: 3, nodeId: 'sidecar~127.10.0.5~helloworld-v1-x.sample~sample.svc.cluster.local', cluster: 'cluster-1', connectedAt: '2024-01-01T00:00:00Z', metadata: {}, userAgent: 'envoy 1.36.2', state: 'DISCONNECTED',
        disconnectedAt: '2024-01-01T00:06:40Z', reason: 'cancelled by the proxy or connection lost', types: { LDS: { state: 'SYNCED' }, CDS: { state: 'SYNCED' } } },
      // Connected again meanwhile (another stream of the control plane): the connected one is listed.
      { streamId: 4, nodeId: 'sidecar~127.10.0.3~sleep-1.sample~sample.svc.cluster.local', cluster: 'cluster-1', connectedAt: '2023-01-01T00:00:00Z', metadata: {}, state: 'DISCONNECTED', disconnectedAt: '2024-01-01T00:05:00Z', reason: 'closed by the proxy', types: {} },
    ],
  };

  it('rows by pod.namespace, the newest stream per node, a STATUS column; NACKs and reasons kept for -o json', () => {
    const rows = syncRows(syncz, { istiod: 'istiod-asm-managed-stable-abc', context: 'cluster-1' });
    assert.deepEqual(rows.map((r) => r.name), ['gw-1.istio-gateway', 'helloworld-v1-x.sample', 'sleep-1.sample']);
    assert.equal(rows[2].types.EDS.state, 'SYNCED');
    assert.deepEqual(rows[0].types.CDS.nack, { version: 'fedcba9876543210', message: 'bad cluster', at: '2024-01-01T00:09:18Z' });
    assert.equal(rows[0].types.EDS.state, 'NOT SENT');
    assert.deepEqual(rows[1].status, {
      state: 'DISCONNECTED',
      summary: 'DISCONNECTED (cancelled by the proxy or connection lost, 3m20s ago)',
      reason: 'cancelled by the proxy or connection lost',
      disconnectedAt: '2024-01-01T00:06:40Z',
    });
    assert.equal(rows[0].status.stale?.[0]?.has, '0123456789abcdef', 'full versions in -o json');
    const lines = formatProxyStatus(rows).split('\n');
    assert.deepEqual(lines.map((l) => l.split(/ {3,}/)), [
      ['NAME', 'CLUSTER', 'STATUS', 'CDS', 'LDS', 'EDS', 'RDS', 'ISTIOD', 'VERSION'],
      ['gw-1.istio-gateway', 'cluster-1', 'STALE (CDS has 01234567, NACKed fedcba98 42s ago; RDS has nothing, aaaabbbb not ACKed for 10s)', 'STALE', 'SYNCED', 'NOT SENT', 'STALE', 'istiod-asm-managed-stable-abc', '1.20'],
      ['helloworld-v1-x.sample', 'cluster-1', 'DISCONNECTED (cancelled by the proxy or connection lost, 3m20s ago)', 'SYNCED', 'SYNCED', 'NOT SENT', 'NOT SENT', 'istiod-asm-managed-stable-abc', 'envoy 1.36.2'],
      ['sleep-1.sample', 'cluster-1', 'CONNECTED', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', 'istiod-asm-managed-stable-abc', '-'],
    ]);
  });

  it('an older control plane without disconnected proxies or states: every proxy CONNECTED', () => {
    const { disconnected: _d, now: _n, ...old } = syncz;
    const rows = syncRows({ ...old, proxies: old.proxies.map(({ state: _s, stale: _st, ...p }) => p) }, { istiod: 'x', context: 'c' });
    assert.deepEqual(rows.map((r) => r.status.summary), ['CONNECTED', 'CONNECTED']);
  });
});

describe('analyze', () => {
  it('istioctl\'s line format and codes', () => {
    const p = { severity: 'error' as const, code: 'unknown-subset' as const, kind: 'VirtualService' as const, name: 'helloworld', namespace: 'sample', field: 'spec.http[0].route[1].destination.subset', message: 'subset "v3" is not defined' };
    assert.equal(formatProblem(p), 'Error [IST0101] (VirtualService sample/helloworld) subset "v3" is not defined (at spec.http[0].route[1].destination.subset)');
    assert.equal(formatProblem({ ...p, severity: 'warning', code: 'ambiguous-port' }).slice(0, 19), 'Warning [IST0112] (');
    assert.equal(messageCode('subset-selects-nothing'), 'MW0004');
    assert.deepEqual(parseAnalyzeAnswer({ version: 'x', problems: [p] }), [p]);
    assert.throws(() => parseAnalyzeAnswer({ problems: [{ code: 1 }] }), /unknown shape/);
  });

  it('offline: the scenario files are clean; a VirtualService to a missing subset is an error', () => {
    const dir = scenarioDir();
    const files = ['helloworld.yaml', 'sleep.yaml', 'helloworld-destinationrule.yaml', 'helloworld-virtualservice.yaml', 'helloworld-gateway.yaml'].map((f) => join(dir, f));
    const manifests = readManifests(files);
    assert.deepEqual(analyze(offlineSnapshot(manifests, 'sample').snapshot), []);
    // Without the DestinationRule the subsets v1/v2 are unknown.
    const withoutRule = manifests.filter((m) => m.object.kind !== 'DestinationRule');
    const problems = analyze(offlineSnapshot(withoutRule, 'sample').snapshot);
    assert.ok(problems.some((p) => p.severity === 'error' && p.code === 'unknown-subset' && p.name === 'helloworld'), JSON.stringify(problems));
    // A DestinationRule whose subset selects no pod of the files.
    const v1Only = manifests.filter((m) => !(m.object.kind === 'Deployment' && m.object.metadata.name === 'helloworld-v2'));
    const warnings = analyze(offlineSnapshot(v1Only, 'sample').snapshot);
    assert.ok(warnings.some((p) => p.code === 'subset-selects-nothing' && p.field === 'spec.subsets[1].labels'), JSON.stringify(warnings));
    // The same object twice (the gateway's VirtualService and its canary version): the later one wins, as with kubectl apply.
    const both = readManifests([join(dir, 'helloworld.yaml'), join(dir, 'helloworld-destinationrule.yaml'), join(dir, 'helloworld-gateway.yaml'), join(dir, 'helloworld-gateway-canary.yaml')]);
    const mesh = offlineSnapshot(both, 'sample');
    assert.equal(mesh.replaced.length, 1);
    assert.match(mesh.replaced[0], /^VirtualService sample\/helloworld-gateway: .*helloworld-gateway\.yaml, document \d is replaced by .*helloworld-gateway-canary\.yaml/);
    assert.deepEqual(analyze(mesh.snapshot), []);
  });
});
