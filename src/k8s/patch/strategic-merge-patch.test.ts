import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatusError } from '../../k8s/status.js';
import type { JsonObject, JsonValue } from './json.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function lastApplied(image: string): string {
  return (
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { annotations: {}, labels: { app: 'helloworld', version: 'v1' }, name: 'helloworld-v1', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'helloworld', version: 'v1' } },
        template: {
          metadata: { labels: { app: 'helloworld', version: 'v1' } },
          spec: { containers: [{ image, name: 'helloworld', ports: [{ containerPort: 5000 }] }] },
        },
      },
    }) + '\n'
  );
}

/** A Deployment as the store holds it after `kubectl apply` and sidecar injection. */
function deployment(): JsonObject {
  const d: JsonObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'helloworld-v1',
      namespace: 'default',
      uid: '6f1c2a8e-2b4b-4f7e-9d43-0c1f3f1e9a11',
      resourceVersion: '42',
      generation: 1,
      creationTimestamp: '2026-11-25T10:00:00Z',
      labels: { app: 'helloworld', version: 'v1' },
      annotations: { [LAST_APPLIED]: lastApplied('docker.io/istio/examples-helloworld-v1:1.0'), 'deployment.kubernetes.io/revision': '1' },
      finalizers: ['meshwork.io/a', 'meshwork.io/b'],
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'helloworld', version: 'v1' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'helloworld', version: 'v1' } },
        spec: {
          containers: [
            {
              name: 'helloworld',
              image: 'docker.io/istio/examples-helloworld-v1:1.0',
              args: ['--port', '5000'],
              ports: [{ containerPort: 5000, protocol: 'TCP' }],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
            { name: 'istio-proxy', image: 'meshwork/proxy:dev', args: ['proxy', 'sidecar'] },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
          tolerations: [{ key: 'a', operator: 'Exists' }],
        },
      },
    },
    status: {
      replicas: 1,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    },
  };
  return deepFreeze(d);
}

type Path = Array<string | number>;
function at(obj: JsonValue, path: Path): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const step of path) {
    if (cur === null || typeof cur !== 'object' || cur === undefined) return undefined;
    cur = Array.isArray(cur) ? cur[step as number] : cur[step as string];
  }
  return cur;
}
const CONTAINERS: Path = ['spec', 'template', 'spec', 'containers'];
const names = (list: JsonValue | undefined, key = 'name') => (Array.isArray(list) ? list.map((i) => at(i, [key])) : list);

interface Case {
  name: string;
  patch: JsonValue;
  expect: (result: JsonObject) => void;
}

const cases: Case[] = [
  {
    name: 'kubectl apply: new image, with $setElementOrder and the last-applied annotation',
    patch: {
      metadata: { annotations: { [LAST_APPLIED]: lastApplied('docker.io/istio/examples-helloworld-v1:1.1') } },
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'helloworld' }], containers: [{ image: 'docker.io/istio/examples-helloworld-v1:1.1', name: 'helloworld' }] } } },
    },
    expect: (r) => {
      assert.equal(at(r, [...CONTAINERS, 0, 'image']), 'docker.io/istio/examples-helloworld-v1:1.1');
      assert.deepEqual(at(r, [...CONTAINERS, 0, 'env']), [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ]);
      assert.deepEqual(names(at(r, CONTAINERS)), ['helloworld', 'istio-proxy'], 'the injected sidecar stays, after the named container');
      assert.equal(at(r, ['metadata', 'annotations', LAST_APPLIED]), lastApplied('docker.io/istio/examples-helloworld-v1:1.1'));
      assert.equal(at(r, ['metadata', 'annotations', 'deployment.kubernetes.io/revision']), '1');
      assert.deepEqual(at(r, ['status', 'conditions']), at(deployment(), ['status', 'conditions']));
    },
  },
  {
    name: 'kubectl apply: env B removed and C added',
    patch: {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'helloworld' }],
            containers: [{ '$setElementOrder/env': [{ name: 'A' }, { name: 'C' }], env: [{ name: 'C', value: '3' }, { $patch: 'delete', name: 'B' }], name: 'helloworld' }],
          },
        },
      },
    },
    expect: (r) => {
      assert.deepEqual(at(r, [...CONTAINERS, 0, 'env']), [
        { name: 'A', value: '1' },
        { name: 'C', value: '3' },
      ]);
    },
  },
  {
    name: 'kubectl apply: container port 5000 replaced by 5001',
    patch: {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'helloworld' }],
            containers: [{ '$setElementOrder/ports': [{ containerPort: 5001 }], name: 'helloworld', ports: [{ containerPort: 5001 }, { $patch: 'delete', containerPort: 5000 }] }],
          },
        },
      },
    },
    expect: (r) => assert.deepEqual(at(r, [...CONTAINERS, 0, 'ports']), [{ containerPort: 5001 }]),
  },
  {
    name: 'kubectl apply: strategy switched to Recreate with $retainKeys',
    patch: { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } },
    expect: (r) => assert.deepEqual(at(r, ['spec', 'strategy']), { type: 'Recreate' }),
  },
  {
    name: 'kubectl apply: a label removed (null deletes)',
    patch: { metadata: { labels: { version: null } }, spec: { template: { metadata: { labels: { version: null } } } } },
    expect: (r) => {
      assert.deepEqual(at(r, ['metadata', 'labels']), { app: 'helloworld' });
      assert.deepEqual(at(r, ['spec', 'template', 'metadata', 'labels']), { app: 'helloworld' });
    },
  },
  {
    name: 'kubectl scale',
    patch: { spec: { replicas: 3 } },
    expect: (r) => {
      assert.equal(at(r, ['spec', 'replicas']), 3);
      assert.deepEqual(at(r, CONTAINERS), at(deployment(), CONTAINERS));
    },
  },
  {
    name: 'kubectl label and annotate',
    patch: { metadata: { labels: { tier: 'web' }, annotations: { 'meshwork.io/note': 'canary' } } },
    expect: (r) => {
      assert.deepEqual(at(r, ['metadata', 'labels']), { app: 'helloworld', version: 'v1', tier: 'web' });
      assert.equal(at(r, ['metadata', 'annotations', 'meshwork.io/note']), 'canary');
      assert.equal(typeof at(r, ['metadata', 'annotations', LAST_APPLIED]), 'string');
    },
  },
  {
    name: 'kubectl patch: a new container without $setElementOrder comes first (apimachinery order)',
    patch: { spec: { template: { spec: { containers: [{ name: 'debug', image: 'busybox' }] } } } },
    expect: (r) => assert.deepEqual(names(at(r, CONTAINERS)), ['debug', 'helloworld', 'istio-proxy']),
  },
  {
    name: '$setElementOrder reorders containers',
    patch: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'istio-proxy' }, { name: 'helloworld' }] } } } },
    expect: (r) => assert.deepEqual(names(at(r, CONTAINERS)), ['istio-proxy', 'helloworld']),
  },
  {
    name: '$patch: replace as a list item replaces the whole list',
    patch: { spec: { template: { spec: { containers: [{ name: 'only', image: 'x', resources: null }, { $patch: 'replace' }] } } } },
    expect: (r) => assert.deepEqual(at(r, CONTAINERS), [{ name: 'only', image: 'x' }]),
  },
  {
    name: '$patch: delete as a list item removes the matching volume; volumeMounts merge on mountPath',
    patch: {
      spec: {
        template: {
          spec: {
            volumes: [{ name: 'data', $patch: 'delete' }, { name: 'cache', emptyDir: { medium: 'Memory' } }],
            containers: [{ name: 'helloworld', volumeMounts: [{ mountPath: '/data', readOnly: true }] }],
          },
        },
      },
    },
    expect: (r) => {
      assert.deepEqual(at(r, ['spec', 'template', 'spec', 'volumes']), [{ name: 'cache', emptyDir: { medium: 'Memory' } }]);
      assert.deepEqual(at(r, [...CONTAINERS, 0, 'volumeMounts']), [{ name: 'data', mountPath: '/data', readOnly: true }]);
    },
  },
  {
    name: '$patch: replace on a map replaces it; $patch: delete on a map empties it; $patch: merge merges',
    patch: {
      spec: {
        selector: { $patch: 'replace', matchLabels: { app: 'x' } },
        strategy: { $patch: 'delete' },
        template: { metadata: { $patch: 'merge', labels: { extra: 'y' } } },
      },
    },
    expect: (r) => {
      assert.deepEqual(at(r, ['spec', 'selector']), { matchLabels: { app: 'x' } });
      assert.deepEqual(at(r, ['spec', 'strategy']), {});
      assert.deepEqual(at(r, ['spec', 'template', 'metadata', 'labels']), { app: 'helloworld', version: 'v1', extra: 'y' });
    },
  },
  {
    name: 'finalizers merge as a set; $deleteFromPrimitiveList removes; $setElementOrder orders',
    patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['meshwork.io/a'], '$setElementOrder/finalizers': ['meshwork.io/c', 'meshwork.io/b'], finalizers: ['meshwork.io/c'] } },
    expect: (r) => assert.deepEqual(at(r, ['metadata', 'finalizers']), ['meshwork.io/c', 'meshwork.io/b']),
  },
  {
    name: 'other lists (args, tolerations) are replaced',
    patch: { spec: { template: { spec: { tolerations: [{ key: 'b', operator: 'Exists' }], containers: [{ name: 'helloworld', args: ['--port', '6000'] }] } } } },
    expect: (r) => {
      assert.deepEqual(at(r, ['spec', 'template', 'spec', 'tolerations']), [{ key: 'b', operator: 'Exists' }]);
      assert.deepEqual(at(r, [...CONTAINERS, 0, 'args']), ['--port', '6000']);
    },
  },
  {
    name: 'status conditions merge on type (kubectl patch --subresource=status)',
    patch: { status: { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] } },
    expect: (r) =>
      assert.deepEqual(at(r, ['status', 'conditions']), [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' },
      ]),
  },
  {
    name: 'nulls inside a new subtree are dropped',
    patch: { spec: { paused: true, template: { spec: { securityContext: { runAsUser: 1000, fsGroup: null } } } } },
    expect: (r) => {
      assert.equal(at(r, ['spec', 'paused']), true);
      assert.deepEqual(at(r, ['spec', 'template', 'spec', 'securityContext']), { runAsUser: 1000 });
    },
  },
];

describe('strategic merge patch on a Deployment', () => {
  for (const c of cases) {
    test(c.name, () => {
      const original = deployment();
      const snapshot = JSON.stringify(original);
      const patch = deepFreeze(JSON.parse(JSON.stringify(c.patch)) as JsonValue);
      const patchSnapshot = JSON.stringify(patch);
      const result = applyStrategicMergePatch(original, patch);
      c.expect(result);
      assert.equal(JSON.stringify(original), snapshot, 'the original is not modified');
      assert.equal(JSON.stringify(patch), patchSnapshot, 'the patch is not modified');
      assert.ok(!JSON.stringify(result).includes('"$'), 'no directive survives into the result');
    });
  }
});

describe('strategic merge patch on other kinds', () => {
  const service = deepFreeze({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'helloworld', namespace: 'default', labels: { app: 'helloworld' } },
    spec: { clusterIP: '127.11.0.5', selector: { app: 'helloworld' }, ports: [{ name: 'http', port: 5000, targetPort: 5000, protocol: 'TCP' }] },
  });

  test('Service ports merge on port; clusterIP set by the server survives apply', () => {
    const result = applyStrategicMergePatch(service, {
      spec: { '$setElementOrder/ports': [{ port: 5000 }, { port: 443 }], ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
    });
    assert.deepEqual(at(result, ['spec', 'ports']), [
      { name: 'http', port: 5000, targetPort: 5000, protocol: 'TCP' },
      { name: 'https', port: 443, targetPort: 8443 },
    ]);
    assert.equal(at(result, ['spec', 'clusterIP']), '127.11.0.5');
  });

  test('ownerReferences merge on uid; hostAliases on ip; imagePullSecrets on name', () => {
    const pod = {
      metadata: { name: 'p', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true }] },
      spec: { hostAliases: [{ ip: '127.0.0.1', hostnames: ['a'] }], imagePullSecrets: [{ name: 'reg' }] },
    };
    const result = applyStrategicMergePatch(pod, {
      metadata: { ownerReferences: [{ uid: 'u1', blockOwnerDeletion: true }, { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'u2' }] },
      spec: { hostAliases: [{ ip: '127.0.0.1', hostnames: ['b'] }], imagePullSecrets: [{ name: 'other' }] },
    });
    assert.deepEqual(at(result, ['metadata', 'ownerReferences']), [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true, blockOwnerDeletion: true },
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'u2' },
    ]);
    assert.deepEqual(at(result, ['spec', 'hostAliases']), [{ ip: '127.0.0.1', hostnames: ['b'] }]);
    assert.deepEqual(names(at(result, ['spec', 'imagePullSecrets'])), ['other', 'reg']);
  });

  test('ports without containerPort or port (e.g. ServiceEntry) are replaced', () => {
    const result = applyStrategicMergePatch({ spec: { ports: [{ number: 80, name: 'http' }] } }, { spec: { ports: [{ number: 443, name: 'https' }] } });
    assert.deepEqual(at(result, ['spec', 'ports']), [{ number: 443, name: 'https' }]);
  });

  test('a list the original lacks is taken from the patch, ordered by $setElementOrder', () => {
    const result = applyStrategicMergePatch(
      { spec: {} },
      { spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }], containers: [{ name: 'b', image: 'y' }, { name: 'a', image: 'x' }] } },
    );
    assert.deepEqual(names(at(result, ['spec', 'containers'])), ['a', 'b']);
  });
});

describe('strategic merge patch errors', () => {
  const bad: Array<[string, JsonValue, RegExp]> = [
    ['unknown directive', { spec: { $foo: 1 } }, /spec: unknown directive "\$foo"/],
    ['unknown $patch value', { spec: { $patch: 'bogus' } }, /spec: unknown \$patch value "bogus"/],
    ['unknown $patch value in a list item', { spec: { template: { spec: { containers: [{ name: 'x', $patch: 'nope' }] } } } }, /spec.template.spec.containers\[0\]: unknown \$patch value "nope"/],
    ['list item without its merge key', { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, /spec.template.spec.containers: list item \{"image":"x"\} does not contain the merge key "name"/],
    ['$patch: delete without the merge key', { spec: { template: { spec: { volumes: [{ $patch: 'delete' }] } } } }, /does not contain the merge key "name"/],
    ['list of scalars where maps are merged', { spec: { template: { spec: { containers: ['x'] } } } }, /must be maps with the merge key "name", got a string/],
    ['$retainKeys missing a key the patch sets', { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: { maxSurge: 1 }, type: 'RollingUpdate' } } }, /"rollingUpdate" is set by the patch but missing from \$retainKeys/],
    ['$setElementOrder that is not a list', { spec: { template: { spec: { '$setElementOrder/containers': { name: 'x' } } } } }, /"\$setElementOrder\/containers" must be a list/],
    ['a patch that is not a map', ['x'], /the patch must be a map, got a list/],
  ];
  for (const [name, patch, message] of bad) {
    test(name, () => {
      assert.throws(
        () => applyStrategicMergePatch(deployment(), patch),
        (err: unknown) => err instanceof StatusError && err.code === 400 && err.reason === 'BadRequest' && message.test(err.message),
      );
    });
  }
});
