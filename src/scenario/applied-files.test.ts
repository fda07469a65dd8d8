// The demo's expected splits, from the scenario's files as the demo applies them, step by step.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readManifests, type Manifest } from '../k8s/client/manifests.js';
import { compileLabelSelector } from '../k8s/selectors.js';
import { groupShares, type Shares, type SplitDimension } from '../mesh-cli/expected-split.js';
import type { DerivedIntent, Intent } from '../mesh-cli/intent/model.js';
import { intentRequest } from '../mesh-cli/traffic.js';
import { scenarioDir } from '../translate/testdata/fixture.js';
import { AppliedFiles, evenlyOver } from './applied-files.js';

const files = (...names: string[]): Manifest[] => readManifests(names.map((n) => join(scenarioDir(), n)));
const rounded = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
const CLUSTERS = ['cluster-1', 'cluster-2'];

function derived(intent: Intent): DerivedIntent {
  assert.ok(intent.derived, intent.derived ? '' : intent.reason);
  return intent;
}

/** Steps 4-6 as the demo applies them: helloworld v1 in cluster-1, v2 in cluster-2, sleep and a gateway in both. */
function scenario(rules: string[]): AppliedFiles {
  const applied = new AppliedFiles();
  const helloworld = files('helloworld.yaml');
  CLUSTERS.forEach((cluster, i) => {
    const version = compileLabelSelector(`version=v${i + 1}`);
    applied.record(cluster, helloworld.filter((m) => m.object.kind === 'Service' || version(m.object.metadata.labels ?? {})), 'sample');
    applied.record(cluster, files('sleep.yaml'), 'sample');
    applied.record(cluster, files('istio-ingressgateway/deployment.yaml'), 'istio-gateway');
    applied.record(cluster, files(...rules), 'sample');
  });
  return applied;
}

function sleepIntent(applied: AppliedFiles, cluster: string): DerivedIntent {
  return derived(applied.intent(cluster, { namespace: 'sample', labels: applied.podLabels(cluster, 'sample', 'sleep') }, intentRequest('http://helloworld.sample:5000/hello')));
}

function gatewayIntent(applied: AppliedFiles, cluster: string): DerivedIntent {
  const labels = applied.podLabels(cluster, 'istio-gateway', 'istio-ingressgateway');
  return derived(applied.intent(cluster, { namespace: 'istio-gateway', labels, gateway: true }, intentRequest('http://127.11.255.1/hello')));
}

const shares = (intent: Shares, by: SplitDimension): Record<string, number> => rounded(groupShares(intent, by));

describe('the demo\'s expected splits, from the files it applies', () => {
  it('step 4, no rules: both clusters\' helloworld evenly, from either sleep pod', () => {
    const applied = scenario([]);
    for (const cluster of CLUSTERS) {
      const intent = sleepIntent(applied, cluster);
      assert.equal(intent.virtualService, undefined);
      assert.deepEqual(shares(intent, 'version'), { v1: 0.5, v2: 0.5 });
      assert.deepEqual(shares(intent, 'cluster'), { 'cluster-1': 0.5, 'cluster-2': 0.5 });
    }
  });

  it('step 5: the VirtualService\'s 80/20 over the DestinationRule\'s subsets', () => {
    const intent = sleepIntent(scenario(['helloworld-destinationrule.yaml', 'helloworld-virtualservice.yaml']), 'cluster-2');
    assert.equal(intent.virtualService, 'sample/helloworld');
    assert.deepEqual(intent.destinationRules, ['sample/helloworld']);
    assert.deepEqual(shares(intent, 'version'), { v1: 0.8, v2: 0.2 });
    assert.deepEqual(shares(intent, 'cluster'), { 'cluster-1': 0.8, 'cluster-2': 0.2 });
  });

  it('a VirtualService deleted again is gone from the intent', () => {
    const applied = scenario(['helloworld-destinationrule.yaml', 'helloworld-virtualservice.yaml']);
    applied.forget('cluster-1', 'VirtualService', 'sample', 'helloworld');
    assert.deepEqual(shares(sleepIntent(applied, 'cluster-1'), 'version'), { v1: 0.5, v2: 0.5 });
    assert.deepEqual(shares(sleepIntent(applied, 'cluster-2'), 'version'), { v1: 0.8, v2: 0.2 });
  });

  it('steps 7 and 8: each cluster\'s gateway, then evenly over both (the edge)', () => {
    const step7 = scenario(['helloworld-destinationrule.yaml', 'helloworld-gateway.yaml']);
    const gateways7 = CLUSTERS.map((c) => gatewayIntent(step7, c));
    assert.equal(gateways7[0].virtualService, 'sample/helloworld-gateway');
    assert.deepEqual(shares(evenlyOver(gateways7), 'version'), { v1: 0.5, v2: 0.5 });

    // The canary replaces the gateway's VirtualService (the same name), as kubectl apply does.
    const step8 = scenario(['helloworld-destinationrule.yaml', 'helloworld-gateway.yaml', 'helloworld-gateway-canary.yaml']);
    const gateways8 = CLUSTERS.map((c) => gatewayIntent(step8, c));
    for (const g of gateways8) assert.deepEqual(g.destinations.map((d) => [d.subset, d.weight]), [['v1', 20], ['v2', 80]]);
    assert.deepEqual(shares(evenlyOver(gateways8), 'version'), { v1: 0.2, v2: 0.8 });
  });
});
