import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { XdsNode } from '../xds/protos.js';
import { nodeIdentityMismatch } from './node-authz.js';
import type { CallerIdentity } from './token-review.js';

const sleep: CallerIdentity = { username: 'system:serviceaccount:sample:sleep', namespace: 'sample', serviceAccount: 'sleep', podName: 'sleep-1' };

function node(id: string, metadata: Record<string, string> = {}): XdsNode {
  return { id, metadata: { fields: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, { string_value: v }])) } };
}

test('a node is served to its own pod\'s token only: node id, NAMESPACE, POD_NAME and SERVICE_ACCOUNT must all be the token\'s', () => {
  const id = 'sidecar~127.245.0.20~sleep-1.sample~sample.svc.cluster.local';
  assert.equal(nodeIdentityMismatch(node(id, { NAMESPACE: 'sample', POD_NAME: 'sleep-1', SERVICE_ACCOUNT: 'sleep' }), sleep), undefined);
  assert.equal(nodeIdentityMismatch(node(id), sleep), undefined, 'metadata absent: the node id decides');
  // Pod names may hold dots; the namespace is after the last one.
  assert.equal(nodeIdentityMismatch(node('router~127.245.0.30~gw.v1-abc.istio-system~istio-system.svc.cluster.local'), { ...sleep, namespace: 'istio-system', podName: 'gw.v1-abc' }), undefined);
  assert.match(nodeIdentityMismatch(node('sidecar~127.245.0.21~httpbin-1.sample~sample.svc.cluster.local'), sleep) ?? '', /claims pod\.namespace \(node id\) httpbin-1\.sample .* but the token is system:serviceaccount:sample:sleep of pod sample\/sleep-1/);
  assert.match(nodeIdentityMismatch(node(id, { NAMESPACE: 'other' }), sleep) ?? '', /claims namespace \(metadata NAMESPACE\) other/);
  assert.match(nodeIdentityMismatch(node(id, { POD_NAME: 'sleep-2' }), sleep) ?? '', /claims pod \(metadata POD_NAME\) sleep-2/);
  assert.match(nodeIdentityMismatch(node(id, { SERVICE_ACCOUNT: 'admin' }), sleep) ?? '', /claims service account \(metadata SERVICE_ACCOUNT\) admin/);
  assert.match(nodeIdentityMismatch(node(id), { ...sleep, podName: undefined } as CallerIdentity) ?? '', /not bound to a pod/);
  assert.match(nodeIdentityMismatch(node('just-a-name'), sleep) ?? '', /is not <type>~<ip>~<pod>\.<namespace>~<domain>/);
});
