import test from 'node:test';
import assert from 'node:assert/strict';
import { containerEnv, expandVars, POD_UID_MARKER } from './container-env.js';
import type { Pod } from './pod-types.js';

function pod(env: NonNullable<Pod['spec']['containers'][0]['env']>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'sample', uid: 'uid-1', resourceVersion: '3', creationTimestamp: '2024-01-01T00:00:00Z', labels: { app: 'web' } },
    spec: { nodeName: 'cluster-1-node', containers: [{ name: 'app', image: 'x', env }] },
  };
}

const base = { podIp: '127.201.0.2', hostIp: '127.201.0.1', bindIp: '127.201.0.2', path: '/usr/bin:/bin', workDir: '/tmp/w' };

test('downward API, literal values and the local-mode variables', () => {
  const p = pod([
    { name: 'A', value: 'x' },
    { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
    { name: 'B', value: '$(A)-$(NAME)-$$(A)-$(MISSING)' },
  ]);
  const { env, warnings } = containerEnv({ ...base, pod: p, container: p.spec.containers[0] });
  assert.deepEqual(warnings, []);
  assert.equal(env.A, 'x');
  assert.equal(env.NAME, 'web-1');
  assert.equal(env.NS, 'sample');
  assert.equal(env.IP, '127.201.0.2');
  assert.equal(env.NODE, 'cluster-1-node');
  assert.equal(env.APP, 'web');
  assert.equal(env.B, 'x-web-1-$(A)-$(MISSING)');
  assert.equal(env.HOSTNAME, 'web-1');
  assert.equal(env.POD_NAME, 'web-1');
  assert.equal(env.POD_NAMESPACE, 'sample');
  assert.equal(env.POD_IP, '127.201.0.2');
  assert.equal(env.PATH, '/usr/bin:/bin');
  assert.equal(env.MESHWORK_BIND_IP, '127.201.0.2');
  assert.equal(env[POD_UID_MARKER], 'uid-1');
});

test('unsupported sources are skipped with a warning naming the variable', () => {
  const p = pod([
    { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
    { name: 'R', valueFrom: { fieldRef: { fieldPath: 'spec.weird' } } },
  ]);
  const { env, warnings } = containerEnv({ ...base, pod: p, container: p.spec.containers[0] });
  assert.equal(env.S, undefined);
  assert.equal(env.R, undefined);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /env S .*secretKeyRef/);
  assert.match(warnings[1], /env R .*spec\.weird/);
});

test('the bind IP is the kubelet\'s to set', () => {
  const p = pod([{ name: 'MESHWORK_BIND_IP', value: '1.2.3.4' }]);
  const { env } = containerEnv({ ...base, bindIp: '127.201.128.2', pod: p, container: p.spec.containers[0] });
  assert.equal(env.MESHWORK_BIND_IP, '127.201.128.2');
});

test('expandVars', () => {
  assert.equal(expandVars('$(X)$(Y)', { X: '1' }), '1$(Y)');
  assert.equal(expandVars('a$$b', {}), 'a$b');
});

test('the pod\'s service-account dir is MESHWORK_SERVICEACCOUNT_DIR in every container, when the pod has a token', () => {
  const p = pod([]);
  const withToken = containerEnv({ ...base, pod: p, container: p.spec.containers[0], serviceAccountDir: '/tmp/w/.serviceaccount' });
  assert.equal(withToken.env.MESHWORK_SERVICEACCOUNT_DIR, '/tmp/w/.serviceaccount');
  const without = containerEnv({ ...base, pod: p, container: p.spec.containers[0] });
  assert.equal(without.env.MESHWORK_SERVICEACCOUNT_DIR, undefined, 'automountServiceAccountToken: false leaves it out');
});
