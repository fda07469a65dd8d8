import test from 'node:test';
import assert from 'node:assert/strict';
import { canaryFromFile, canaryFromFlags, hasSpecFlags, parseSteps } from './cli-spec.js';

test('flags make a Canary with Flagger-like defaults; the given ones are kept', () => {
  const c = canaryFromFlags('helloworld', 'sample', { host: 'helloworld', baseline: 'cluster-1', canary: 'cluster-2', steps: '10,25,50', interval: '8s', successRate: '95', maxP99: '500', threshold: '3', virtualService: ['helloworld', 'helloworld-gateway'] });
  assert.deepEqual(c, {
    apiVersion: 'rollouts.meshwork.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'helloworld', namespace: 'sample' },
    spec: {
      host: 'helloworld',
      virtualServices: ['helloworld', 'helloworld-gateway'],
      baseline: { subset: 'cluster-1' },
      canary: { subset: 'cluster-2' },
      analysis: {
        interval: '8s',
        threshold: 3,
        stepWeights: [10, 25, 50],
        metrics: [
          { name: 'request-success-rate', thresholdRange: { min: 95 } },
          { name: 'request-duration', thresholdRange: { max: 500 } },
        ],
      },
    },
  });
  const d = canaryFromFlags('c', 'default', { host: 'h', baseline: 'v1', canary: 'v2', prometheus: 'http://127.0.0.1:9090' });
  assert.deepEqual(d.spec.analysis, { interval: '1m', stepWeights: [10, 25, 50], metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }], prometheus: { address: 'http://127.0.0.1:9090' } });
});

test('bad flags are named with the fix', () => {
  const base = { host: 'h', baseline: 'v1', canary: 'v2' };
  assert.throws(() => canaryFromFlags('c', 'ns', { host: 'h' }), /missing --baseline, --canary/);
  assert.throws(() => canaryFromFlags('c', 'ns', { ...base, canary: 'v1' }), /the same subset "v1"/);
  assert.throws(() => canaryFromFlags('c', 'ns', { ...base, steps: '10,x' }), /--steps "10,x": each step is a whole percent/);
  assert.throws(() => canaryFromFlags('c', 'ns', { ...base, steps: '25,10' }), /steps must increase \(25 then 10\)/);
  assert.throws(() => canaryFromFlags('c', 'ns', { ...base, steps: '0,10' }), /from 1 to 100/);
  assert.throws(() => canaryFromFlags('c', 'ns', { ...base, interval: '30' }), /--interval "30": expected a duration such as 30s/);
  assert.throws(() => canaryFromFlags('c', 'ns', { ...base, successRate: '101' }), /--success-rate "101": expected a percent from 0 to 100/);
  assert.throws(() => canaryFromFlags('c', 'ns', { ...base, maxP99: 'fast' }), /--max-p99 "fast"/);
  assert.throws(() => canaryFromFlags('c', 'ns', { ...base, threshold: '0' }), /--threshold "0": expected a whole number of at least 1/);
  assert.throws(() => canaryFromFlags('c', 'ns', { ...base, prometheus: 'localhost:9090' }), /--prometheus "localhost:9090": expected the Prometheus HTTP API base URL/);
  assert.throws(() => canaryFromFlags('Bad_Name', 'ns', base), /canary name "Bad_Name" is not a valid name/);
  assert.deepEqual(parseSteps('5, 50 ,100'), [5, 50, 100]);
  assert.equal(hasSpecFlags({ virtualService: [], cluster: [] }), false);
  assert.equal(hasSpecFlags({ virtualService: [], steps: '10' }), true);
});

const FILE = `apiVersion: rollouts.meshwork.io/v1alpha1
kind: Canary
metadata:
  name: helloworld
  namespace: sample
spec:
  host: helloworld
  baseline: {subset: v1}
  canary: {subset: v2}
  analysis: {interval: 10s, stepWeights: [20, 60], metrics: [{name: request-success-rate, thresholdRange: {min: 99}}]}
status: {phase: Succeeded}
`;

test('a file gives the Canary in its own namespace (kubectl\'s rule against a different -n), without status', () => {
  const c = canaryFromFile(FILE, 'c.yaml', { value: 'default', explicit: false });
  assert.equal(c.metadata.namespace, 'sample');
  assert.equal(c.status, undefined);
  assert.deepEqual(c.spec.analysis.stepWeights, [20, 60]);
  assert.equal(canaryFromFile(FILE.replace('  namespace: sample\n', ''), 'c.yaml', { value: 'team', explicit: true }).metadata.namespace, 'team');
  assert.throws(() => canaryFromFile(FILE, 'c.yaml', { value: 'other', explicit: true }), /the namespace from the provided object "sample" does not match the namespace "other". You must pass '--namespace=sample'/);
  assert.throws(() => canaryFromFile(FILE, 'c.yaml', { value: 'sample', explicit: false }, 'other'), /the file's Canary is "helloworld", not "other"/);
  assert.throws(() => canaryFromFile(FILE.replace('kind: Canary', 'kind: VirtualService'), 'c.yaml', { value: 'd', explicit: false }), /expected kind Canary \(apiVersion rollouts.meshwork.io\/v1alpha1\), got VirtualService/);
  assert.throws(() => canaryFromFile(`${FILE}---\n${FILE}`, 'c.yaml', { value: 'd', explicit: false }), /expected one Canary, found 2 objects/);
});
