import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findByKind } from '../../k8s/kinds.js';
import { applyDefaults } from '../defaults.js';
import { validateObject } from '../validate.js';
import type { KubeObject } from '../../k8s/object.js';
import { canaryControllerClusterRole } from '../../canary/rbac.js';
import { canarySteps, resolveSpec } from './spec.js';

const type = findByKind('rollouts.meshwork.io', 'Canary')!;

function canary(analysis: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'rollouts.meshwork.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'helloworld', namespace: 'sample' },
    spec: { host: 'helloworld', baseline: { subset: 'v1' }, canary: { subset: 'v2' }, analysis: { interval: '30s', metrics: [], ...analysis }, ...spec },
  } as KubeObject;
}

function problems(obj: KubeObject): string[] {
  return validateObject(type, applyDefaults(type, obj), { strict: true }).map((c) => `${c.field}: ${c.message}`);
}

test('Canary is served with short name canary and a status subresource', () => {
  assert.deepEqual([type.plural, type.shortNames, type.subresources, type.namespaced], ['canaries', ['canary'], ['status'], true]);
});

test('a valid Canary has no problems and gets the defaults', () => {
  const obj = canary({ stepWeight: 10, webhooks: [{ name: 'load', type: 'pre-step', url: 'http://127.0.0.1:9/x' }] });
  assert.deepEqual(problems(obj), []);
  const analysis = (applyDefaults(type, obj).spec as { analysis: Record<string, unknown> }).analysis;
  assert.deepEqual([analysis.threshold, analysis.maxWeight, analysis.minRequests, (analysis.webhooks as Array<{ timeout: string }>)[0]!.timeout], [2, 50, 20, '10s']);
  assert.equal(applyDefaults(type, canary({ stepWeights: [10] })).spec && (applyDefaults(type, canary({ stepWeights: [10] })).spec as { analysis: { maxWeight?: number } }).analysis.maxWeight, undefined);
});

const invalidCases: Array<[string, KubeObject, RegExp]> = [
  ['both ways of stepping', canary({ stepWeights: [10], stepWeight: 10 }), /spec\.analysis\.stepWeight: Forbidden: may not be set with stepWeights/],
  ['no way of stepping', canary({}), /spec\.analysis\.stepWeights: Required value: give the canary weight per step/],
  ['weights not increasing', canary({ stepWeights: [10, 50, 25] }), /spec\.analysis\.stepWeights\[2\]: Invalid value: 25: must be greater than the step before it \(50\)/],
  ['a weight over 100', canary({ stepWeights: [10, 101] }), /spec\.analysis\.stepWeights\[1\]/],
  ['a weight of 0', canary({ stepWeights: [0, 10] }), /spec\.analysis\.stepWeights\[0\]/],
  ['maxWeight with stepWeights', canary({ stepWeights: [10], maxWeight: 50 }), /spec\.analysis\.maxWeight: Forbidden: applies to stepWeight only/],
  ['stepWeight over maxWeight', canary({ stepWeight: 60, maxWeight: 50 }), /spec\.analysis\.stepWeight: Invalid value: 60: must not exceed maxWeight \(50\)/],
  ['interval not a Go duration', canary({ stepWeight: 10, interval: '30 seconds' }), /spec\.analysis\.interval: Invalid value: "30 seconds": must be a Go duration/],
  ['zero interval', canary({ stepWeight: 10, interval: '0s' }), /spec\.analysis\.interval: Invalid value: "0s": must be a positive duration/],
  ['unknown metric name', canary({ stepWeight: 10, metrics: [{ name: 'error-rate', thresholdRange: { max: 1 } }] }), /spec\.analysis\.metrics\[0\]\.name: Unsupported value: "error-rate"/],
  ['success rate without min', canary({ stepWeight: 10, metrics: [{ name: 'request-success-rate', thresholdRange: { max: 1 } }] }), /metrics\[0\]\.thresholdRange\.min: Required value: request-success-rate needs a minimum percent/],
  ['duration without max', canary({ stepWeight: 10, metrics: [{ name: 'request-duration', thresholdRange: {} }] }), /metrics\[0\]\.thresholdRange\.max: Required value/],
  ['same subset twice', canary({ stepWeight: 10 }, { canary: { subset: 'v1' } }), /spec\.canary\.subset: Invalid value: "v1": must differ from spec\.baseline\.subset/],
  ['webhook timeout', canary({ stepWeight: 10, webhooks: [{ name: 'a', type: 'pre-step', url: 'http://x/', timeout: 'soon' }] }), /webhooks\[0\]\.timeout: Invalid value: "soon"/],
  ['webhook type', canary({ stepWeight: 10, webhooks: [{ name: 'a', type: 'post-rollout', url: 'http://x/' }] }), /webhooks\[0\]\.type: Unsupported value: "post-rollout"/],
  ['prometheus address', canary({ stepWeight: 10, prometheus: { address: 'prometheus:9090' } }), /spec\.analysis\.prometheus\.address: Invalid value: "prometheus:9090": must be an absolute http/],
  ['unknown field', canary({ stepWeight: 10, stepWieght: 5 }), /spec\.analysis\.stepWieght: (field not declared in schema|unknown field)/],
  ['missing host', canary({ stepWeight: 10 }, { host: undefined }), /spec\.host: Required value/],
];
for (const [name, obj, expected] of invalidCases) {
  test(`refused: ${name}`, () => {
    const found = problems(obj);
    assert.ok(found.some((p) => expected.test(p)), `expected ${expected} in:\n${found.join('\n')}`);
  });
}

const stepCases: Array<[string, Parameters<typeof canarySteps>[0], number[]]> = [
  ['stepWeights then promotion', { stepWeights: [10, 25, 50] }, [10, 25, 50, 100]],
  ['stepWeights ending at 100', { stepWeights: [50, 100] }, [50, 100]],
  ['stepWeight up to the default max', { stepWeight: 10 }, [10, 20, 30, 40, 50, 100]],
  ['stepWeight capped at maxWeight', { stepWeight: 20, maxWeight: 50 }, [20, 40, 50, 100]],
  ['stepWeight to maxWeight 100', { stepWeight: 50, maxWeight: 100 }, [50, 100]],
];
for (const [name, analysis, steps] of stepCases) test(`steps: ${name}`, () => assert.deepEqual(canarySteps(analysis), steps));

test('resolveSpec: defaults, short host, virtual services', () => {
  const r = resolveSpec((canary({ stepWeights: [10], interval: '1m30s' }, { host: 'helloworld.sample.svc.cluster.local' }).spec) as never);
  assert.deepEqual([r.service, r.virtualServices, r.intervalMs, r.threshold, r.minRequests, r.steps], ['helloworld', ['helloworld'], 90_000, 2, 20, [10, 100]]);
});

test("the controller's ClusterRole is a valid ClusterRole that allows exactly what the controller does", () => {
  const role = canaryControllerClusterRole() as unknown as KubeObject;
  const roleType = findByKind('rbac.authorization.k8s.io', 'ClusterRole')!;
  assert.deepEqual(validateObject(roleType, applyDefaults(roleType, role), { strict: true }), []);
  const rules = (role as unknown as { rules: Array<{ resources: string[]; verbs: string[] }> }).rules;
  const allows = (resource: string, verb: string): boolean => rules.some((r) => r.resources.includes(resource) && r.verbs.includes(verb));
  assert.ok(allows('virtualservices', 'patch') && allows('canaries/status', 'patch') && allows('events', 'create') && allows('pods', 'list'));
  assert.ok(!allows('virtualservices', 'update') && !allows('canaries', 'patch') && !allows('destinationrules', 'patch'), 'no whole-object writes, no spec writes');
});
