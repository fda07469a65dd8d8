import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDefaults, defaultPullPolicy } from './defaults.js';
import { type ResourceType, findByKind } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';

function typeOf(group: string, kind: string): ResourceType {
  const t = findByKind(group, kind);
  assert.ok(t, kind);
  return t;
}

describe('applyDefaults', () => {
  it('chooses the image pull policy from the tag', () => {
    assert.equal(defaultPullPolicy('curlimages/curl'), 'Always');
    assert.equal(defaultPullPolicy('nginx:latest'), 'Always');
    assert.equal(defaultPullPolicy('nginx:1.27'), 'IfNotPresent');
    assert.equal(defaultPullPolicy('registry:5000/app'), 'Always', 'a registry port is not a tag');
    assert.equal(defaultPullPolicy('registry:5000/app:v2'), 'IfNotPresent');
    assert.equal(defaultPullPolicy('app@sha256:abcd'), 'IfNotPresent');
  });

  it('defaults a Deployment and its pod template, leaving the input untouched', () => {
    const input: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'sleep' },
      spec: {
        selector: { matchLabels: { app: 'sleep' } },
        template: {
          metadata: { labels: { app: 'sleep' } },
          spec: { containers: [{ name: 'sleep', image: 'curlimages/curl', ports: [{ containerPort: 80 }] }] },
        },
      },
    };
    const before = structuredClone(input);
    const out = applyDefaults(typeOf('apps', 'Deployment'), input);
    assert.deepEqual(input, before);
    assert.deepEqual(out.spec, {
      replicas: 1,
      selector: { matchLabels: { app: 'sleep' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: {
        metadata: { labels: { app: 'sleep' } },
        spec: {
          containers: [
            {
              name: 'sleep',
              image: 'curlimages/curl',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              imagePullPolicy: 'Always',
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
              resources: {},
            },
          ],
          restartPolicy: 'Always',
          dnsPolicy: 'ClusterFirst',
          terminationGracePeriodSeconds: 30,
          schedulerName: 'default-scheduler',
          securityContext: {},
          enableServiceLinks: true,
        },
      },
    });
  });

  it('keeps values that are set', () => {
    const d: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { replicas: 0, strategy: { type: 'Recreate' }, template: { spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'x', imagePullPolicy: 'Never' }] } } },
    };
    const spec = applyDefaults(typeOf('apps', 'Deployment'), d).spec as Record<string, unknown>;
    assert.equal(spec.replicas, 0);
    assert.deepEqual(spec.strategy, { type: 'Recreate' });
    const container = (spec.template as { spec: { containers: Array<Record<string, unknown>> } }).spec.containers[0];
    assert.equal(container.imagePullPolicy, 'Never');
  });

  it('defaults Pods and ReplicaSets', () => {
    const pod = applyDefaults(typeOf('', 'Pod'), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'a:1' }] } });
    const spec = pod.spec as Record<string, unknown>;
    assert.equal(spec.restartPolicy, 'Always');
    assert.equal(spec.schedulerName, 'default-scheduler');
    assert.equal((spec.containers as Array<Record<string, unknown>>)[0].imagePullPolicy, 'IfNotPresent');
    const rs = applyDefaults(typeOf('apps', 'ReplicaSet'), { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r' }, spec: { template: { spec: { containers: [] } } } });
    assert.equal((rs.spec as Record<string, unknown>).replicas, 1);
    assert.equal((rs.spec as { template: { spec: Record<string, unknown> } }).template.spec.dnsPolicy, 'ClusterFirst');
  });

  it('defaults Services: type, affinity, protocol, targetPort, IP families', () => {
    const svc = applyDefaults(typeOf('', 'Service'), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'helloworld' },
      spec: { ports: [{ port: 5000, name: 'http' }, { port: 15021, targetPort: 'status', name: 's' }], selector: { app: 'helloworld' } },
    });
    assert.deepEqual(svc.spec, {
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ports: [
        { port: 5000, name: 'http', protocol: 'TCP', targetPort: 5000 },
        { port: 15021, name: 's', protocol: 'TCP', targetPort: 'status' },
      ],
      selector: { app: 'helloworld' },
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    });
    const lb = applyDefaults(typeOf('', 'Service'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'l' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
    assert.equal((lb.spec as Record<string, unknown>).externalTrafficPolicy, 'Cluster');
    const ext = applyDefaults(typeOf('', 'Service'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'a.b' } });
    assert.equal((ext.spec as Record<string, unknown>).ipFamilies, undefined);
  });

  it('defaults Namespaces and EndpointSlices', () => {
    const ns = applyDefaults(typeOf('', 'Namespace'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sample' } });
    assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
    assert.deepEqual(ns.status, { phase: 'Active' });
    const slice = applyDefaults(typeOf('discovery.k8s.io', 'EndpointSlice'), {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 's' },
      addressType: 'IPv4',
      endpoints: [],
      ports: [{ port: 5000, name: 'http' }],
    });
    assert.deepEqual(slice.ports, [{ port: 5000, name: 'http', protocol: 'TCP' }]);
  });

  it('returns other kinds unchanged, as a copy', () => {
    const vs: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v' }, spec: { hosts: ['a'] } };
    const out = applyDefaults(typeOf('networking.istio.io', 'VirtualService'), vs);
    assert.deepEqual(out, vs);
    assert.notEqual(out, vs);
  });
  it('defaults a Job as SetDefaults_Job: both counts 1 when neither is set, a work queue keeps completions unset', () => {
    const job = (spec: Record<string, unknown>) =>
      applyDefaults(typeOf('batch', 'Job'), { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { ...spec, template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } } });
    const plain = job({}).spec as Record<string, unknown>;
    assert.deepEqual([plain.completions, plain.parallelism, plain.backoffLimit, plain.completionMode, plain.suspend, plain.podReplacementPolicy], [1, 1, 6, 'NonIndexed', false, 'TerminatingOrFailed']);
    const queue = job({ parallelism: 3 }).spec as Record<string, unknown>;
    assert.deepEqual([queue.completions, queue.parallelism], [undefined, 3]);
  });

  it('defaults binding subjects and roleRef to the RBAC group, service accounts to the core group', () => {
    const binding = applyDefaults(typeOf('rbac.authorization.k8s.io', 'RoleBinding'), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'b' },
      roleRef: { kind: 'Role', name: 'r' },
      subjects: [{ kind: 'User', name: 'jane' }, { kind: 'ServiceAccount', name: 'robot', namespace: 'ns' }],
    });
    assert.deepEqual(binding.roleRef, { kind: 'Role', name: 'r', apiGroup: 'rbac.authorization.k8s.io' });
    assert.deepEqual(binding.subjects, [
      { kind: 'User', name: 'jane', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'ServiceAccount', name: 'robot', namespace: 'ns', apiGroup: '' },
    ]);
  });
});
