import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Shares } from '../expected-split.js';
import { absoluteShares, compareWithIntent, formatShares } from './agreement.js';
import type { DerivedIntent } from './model.js';

const at = (pod: string, version: string, memberCluster: string, share: number) => ({ address: `${pod}:5000`, pod, version, memberCluster, share });

const intent: DerivedIntent = {
  derived: true,
  entry: 'helloworld.sample.svc.cluster.local:5000',
  virtualService: 'sample/helloworld',
  route: 'http[0]',
  destinationRules: ['sample/helloworld'],
  destinations: [],
  endpoints: [{ ...at('hw-v1', 'v1', 'cluster-1', 0.8), destination: 'v1' }],
  failShare: 0.2,
  notes: [],
};

describe('agreement of the proxy with the intent', () => {
  it('the failing share counts: a proxy that sends it elsewhere disagrees', () => {
    const same: Shares = { endpoints: [at('hw-v1', 'v1', 'cluster-1', 0.8)], failShare: 0.2 };
    assert.deepEqual(compareWithIntent(intent, same, ['version', 'cluster', 'instance']), { agrees: true, by: ['version', 'cluster', 'instance'] });
    const elsewhere: Shares = { endpoints: [at('hw-v1', 'v1', 'cluster-1', 0.8), at('hw-v2', 'v2', 'cluster-2', 0.2)], failShare: 0 };
    const verdict = compareWithIntent(intent, elsewhere, ['version']);
    assert.equal(verdict.agrees, false);
    assert.equal(verdict.finding, 'proxy config disagrees with the applied config: v1=80% v2=20% in the proxy vs v1=80% failing=20% declared by VirtualService sample/helloworld and DestinationRule sample/helloworld');
  });

  it('only the dimensions asked for are compared', () => {
    const otherPod: Shares = { endpoints: [at('hw-v1-other', 'v1', 'cluster-1', 0.8)], failShare: 0.2 };
    assert.equal(compareWithIntent(intent, otherPod, ['version', 'cluster']).agrees, true);
    assert.match(compareWithIntent(intent, otherPod, ['version', 'cluster', 'instance']).finding ?? '', /hw-v1-other=80% failing=20% in the proxy vs hw-v1=80% failing=20%/);
  });

  it('shares are fractions of all requests, one decimal', () => {
    assert.equal(formatShares(absoluteShares({ endpoints: [at('a', 'v1', 'c', 1 / 3), at('b', 'v2', 'c', 2 / 3)], failShare: 0 }, 'version')), 'v1=33.3% v2=66.7%');
  });
});
