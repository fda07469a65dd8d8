import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigChange, ConfigDistributionReport, ProxyPropagation } from '../controlplane/propagation-report.js';
import { formatRollout, formatSinceApply, parseKindName, parseTimeout, rolloutRows, summaryLine, targetChange, verdict, type ClusterTarget } from './rollout-status.js';

function change(rv: string, proxies: Array<Partial<ProxyPropagation> & { nodeId: string; state: ProxyPropagation['state'] }>, sourceCluster = 'cluster-1'): ConfigChange {
  return {
    kind: 'VirtualService', namespace: 'sample', name: 'helloworld', sourceCluster, resourceVersion: rv, event: 'MODIFIED', observedAt: '2026-12-03T18:00:00.000Z', snapshotVersion: 'abc',
    proxies: proxies.map((p) => ({ cluster: sourceCluster, kind: 'sidecar', ...p })),
    summary: { acked: 0, nacked: 0, sent: 0, pending: 0, disconnected: 0 },
  };
}

test('KIND/NAME takes kubectl\'s names: kind, plural, singular, short name, kind.group', () => {
  for (const word of ['virtualservice', 'VirtualService', 'virtualservices', 'vs', 'virtualservices.networking.istio.io']) {
    assert.equal(parseKindName(`${word}/helloworld`).type.kind, 'VirtualService', word);
  }
  assert.equal(parseKindName('dr/helloworld').type.kind, 'DestinationRule');
  assert.equal(parseKindName('gw/edge').type.kind, 'Gateway');
  assert.equal(parseKindName('svc/helloworld').type.kind, 'Service');
  assert.equal(parseKindName('ap/deny').type.kind, 'AuthorizationPolicy');
  assert.throws(() => parseKindName('deploy/helloworld'), /not a kind whose propagation the control plane tracks; use one of virtualservice/);
  assert.throws(() => parseKindName('helloworld'), /not KIND\/NAME, e\.g\. virtualservice\/helloworld/);
  assert.throws(() => parseKindName('vs/a/b'), /not KIND\/NAME/);
  assert.equal(parseTimeout('60s'), 60_000);
  assert.equal(parseTimeout('2m'), 120_000);
  assert.equal(parseTimeout('90'), 90_000);
  assert.throws(() => parseTimeout('soon'), /--timeout: "soon" is not a duration/);
});

test('the change awaited is the exact resourceVersion of the own cluster, else a later one', () => {
  const report: ConfigDistributionReport = { cluster: 'cluster-1', now: '', changes: [change('12', []), change('10', []), change('11', [], 'cluster-2')] };
  assert.equal(targetChange(report, '10')?.resourceVersion, '10');
  assert.equal(targetChange(report, '11')?.resourceVersion, '12', 'cluster-2\'s 11 is another counter; a later own change carries it');
  assert.equal(targetChange(report, '13'), undefined);
});

test('verdict: done when all ACKed in every cluster; a NACK names the proxy; else who is behind', () => {
  const acked = (id: string, ms: number) => ({ nodeId: id, pod: `${id}.sample`, state: 'acked' as const, latencyMs: ms });
  const targets: ClusterTarget[] = [
    { context: 'cluster-1', cluster: 'cluster-1', resourceVersion: '10', change: change('10', [acked('sleep-1', 120), acked('helloworld-v1', 310)]) },
    { context: 'cluster-2', cluster: 'cluster-2', resourceVersion: '7', change: change('7', [acked('sleep-2', 95)], 'cluster-2') },
  ];
  assert.deepEqual(verdict(targets), { kind: 'done' });
  const rows = rolloutRows(targets);
  assert.equal(formatRollout(rows).split('\n')[0]!.replace(/\s+/g, ' ').trim(), 'CLUSTER PROXY STATE ACKED AFTER');
  assert.match(formatRollout(rows), /cluster-1\s+helloworld-v1\.sample\s+ACKED\s+0\.31s/);
  assert.match(formatSinceApply(rows), /^NAME\s+CLUSTER\s+CHANGE\s+ACKED AFTER\s+ERROR\n/);
  assert.match(formatSinceApply(rows), /helloworld-v1\.sample\s+cluster-1\s+ACKED\s+0\.31s/);
  assert.equal(summaryLine('VirtualService sample/helloworld', targets, rows), 'VirtualService sample/helloworld (resourceVersion 10 in cluster-1, 7 in cluster-2): 3/3 proxies ACKed in 2 clusters, slowest after 0.31s');

  const waiting = verdict([{ ...targets[0]!, change: change('10', [acked('sleep-1', 1), { nodeId: 'gw', state: 'sent' }]) }, { context: 'cluster-2', cluster: 'cluster-2', resourceVersion: '7' }]);
  assert.equal(waiting.kind, 'waiting');
  assert.deepEqual(waiting.kind === 'waiting' ? [waiting.behind.map((r) => r.proxy), waiting.unobserved.map((t) => t.context)] : [], [['gw'], ['cluster-2']]);

  const nacked = verdict([{ ...targets[0]!, change: change('10', [{ nodeId: 'gw', state: 'nacked', error: 'LDS: cannot bind' }, { nodeId: 'x', state: 'sent' }]) }]);
  assert.deepEqual(nacked.kind === 'nacked' ? nacked.rows.map((r) => [r.proxy, r.error]) : [], [['gw', 'LDS: cannot bind']]);
});
