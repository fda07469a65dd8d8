import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { pod } from '../registry/testdata/kube-fixtures.js';
import { plainToValue } from '../xds/struct.js';
import type { XdsNode } from '../xds/protos.js';
import { parseNodeId, proxyIdentity, type IdentityContext } from './identity.js';

const pods: Record<string, V1Pod> = {
  'cluster-1/sample/sleep-111': pod('sleep-111', 'sample', '127.10.0.6', { app: 'sleep' }, { sidecar: true }),
  'cluster-2/sample/sleep-222': pod('sleep-222', 'sample', '127.20.0.6', { app: 'sleep', cluster: 'two' }, { sidecar: true }),
  'cluster-1/istio-gateway/gw-1': { ...pod('gw-1', 'istio-gateway', '127.10.0.9', { istio: 'ingressgateway' }), spec: { containers: [{ name: 'istio-proxy' }] } },
};
const ctx: IdentityContext = { defaultCluster: 'cluster-1', findPod: (c, ns, name) => pods[`${c}/${ns}/${name}`] };

function node(id: string, metadata: Record<string, unknown> = {}): XdsNode {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    fields[k] = typeof v === 'string' ? { string_value: v } : { struct_value: { fields: Object.fromEntries(Object.entries(v as Record<string, string>).map(([a, b]) => [a, { string_value: b }])) } };
  }
  return { id, metadata: { fields } };
}

test('node ids: sidecar and router parse; other shapes do not', () => {
  assert.deepEqual(parseNodeId('sidecar~127.10.0.6~sleep-111.sample~sample.svc.cluster.local'), { kind: 'sidecar', ip: '127.10.0.6', podName: 'sleep-111', namespace: 'sample' });
  assert.deepEqual(parseNodeId('router~127.10.0.9~gw.x.istio-gateway~istio-gateway.svc.cluster.local'), { kind: 'router', ip: '127.10.0.9', podName: 'gw.x', namespace: 'istio-gateway' });
  assert.equal(parseNodeId('grpc-client-1'), undefined);
  assert.equal(parseNodeId('sidecar~a~b'), undefined);
});

test('identities, as Istio derives them', () => {
  const cases: Array<{ what: string; node: XdsNode; want: Record<string, unknown> }> = [
    {
      what: 'sidecar of a cached pod: labels from the pod, app IP, own cluster by default',
      node: node('sidecar~127.10.0.6~sleep-111.sample~sample.svc.cluster.local', { LABELS: { stale: 'yes' } }),
      want: { kind: 'sidecar', namespace: 'sample', cluster: 'cluster-1', labels: { app: 'sleep' }, ip: '127.10.0.6', appIp: '127.10.128.6', podName: 'sleep-111' },
    },
    {
      what: 'sidecar in the remote cluster (CLUSTER_ID) finds its pod there',
      node: node('sidecar~127.20.0.6~sleep-222.sample~sample.svc.cluster.local', { CLUSTER_ID: 'cluster-2' }),
      want: { kind: 'sidecar', namespace: 'sample', cluster: 'cluster-2', labels: { app: 'sleep', cluster: 'two' }, ip: '127.20.0.6', appIp: '127.20.128.6', podName: 'sleep-222' },
    },
    {
      what: 'gateway: router, no app behind it',
      node: node('router~127.10.0.9~gw-1.istio-gateway~istio-gateway.svc.cluster.local'),
      want: { kind: 'router', namespace: 'istio-gateway', cluster: 'cluster-1', labels: { istio: 'ingressgateway' }, ip: '127.10.0.9', podName: 'gw-1' },
    },
    {
      what: 'unknown pod: labels from metadata LABELS',
      node: node('sidecar~127.10.0.77~new-1.sample~sample.svc.cluster.local', { LABELS: { app: 'new' } }),
      want: { kind: 'sidecar', namespace: 'sample', cluster: 'cluster-1', labels: { app: 'new' }, ip: '127.10.0.77', appIp: '127.10.128.77', podName: 'new-1' },
    },
    {
      what: 'proxyless gRPC with an Istio-shaped id and GENERATOR grpc',
      node: node('sidecar~127.10.0.6~sleep-111.sample~sample.svc.cluster.local', { GENERATOR: 'grpc', NAMESPACE: 'sample' }),
      want: { kind: 'proxyless', namespace: 'sample', cluster: 'cluster-1', labels: { app: 'sleep' }, ip: '127.10.0.6', podName: 'sleep-111' },
    },
    {
      what: 'proxyless gRPC with a free-form bootstrap id: namespace from metadata, else default',
      node: node('my-grpc-client'),
      want: { kind: 'proxyless', namespace: 'default', cluster: 'cluster-1', labels: {}, ip: '' },
    },
    {
      what: 'proxyless gRPC with NAMESPACE and INSTANCE_IPS',
      node: node('client-7', { NAMESPACE: 'sample', INSTANCE_IPS: '127.10.0.40,::1', CLUSTER_ID: 'cluster-2' }),
      want: { kind: 'proxyless', namespace: 'sample', cluster: 'cluster-2', labels: {}, ip: '127.10.0.40' },
    },
  ];
  // The gateway's PROXY_CONFIG as pilot-agent (and our agent) sends it: a Struct in node metadata.
  const gatewayWithConfig = (proxyConfig: unknown): XdsNode => {
    const n = node('router~127.10.0.9~gw-1.istio-gateway~istio-gateway.svc.cluster.local');
    (n.metadata as { fields: Record<string, unknown> }).fields['PROXY_CONFIG'] = plainToValue(proxyConfig);
    return n;
  };
  const gateway = { kind: 'router', namespace: 'istio-gateway', cluster: 'cluster-1', labels: { istio: 'ingressgateway' }, ip: '127.10.0.9', podName: 'gw-1' };
  cases.push(
    {
      what: 'gateway with PROXY_CONFIG gatewayTopology: its topology',
      node: gatewayWithConfig({ concurrency: 2, gatewayTopology: { numTrustedProxies: 2, forwardClientCertDetails: 'ALWAYS_FORWARD_ONLY' } }),
      want: { ...gateway, gatewayTopology: { numTrustedProxies: 2, forwardClientCertDetails: 'ALWAYS_FORWARD_ONLY' } },
    },
    { what: 'gateway whose PROXY_CONFIG has no gatewayTopology: the defaults', node: gatewayWithConfig({ concurrency: 2 }), want: gateway },
    { what: 'gateway whose PROXY_CONFIG does not check: the defaults', node: gatewayWithConfig({ gatewayTopology: { numTrustedProxies: -1 } }), want: gateway },
  );
  for (const c of cases) {
    const { id, ...rest } = proxyIdentity(c.node, ctx);
    assert.equal(id, c.node.id, c.what);
    assert.deepEqual(rest, c.want, c.what);
  }
});

test('INTERCEPTION_MODE=REDIRECT marks a sidecar as intercepted; gateways and other values are not', () => {
  const sidecar = 'sidecar~127.10.0.6~sleep-111.sample~sample.svc.cluster.local';
  assert.equal(proxyIdentity(node(sidecar, { INTERCEPTION_MODE: 'REDIRECT' }), ctx).interceptionMode, 'REDIRECT');
  assert.equal(proxyIdentity(node(sidecar, { INTERCEPTION_MODE: 'TPROXY' }), ctx).interceptionMode, undefined);
  assert.equal(proxyIdentity(node(sidecar), ctx).interceptionMode, undefined);
  assert.equal(proxyIdentity(node('router~127.10.0.9~gw-1.istio-gateway~istio-gateway.svc.cluster.local', { INTERCEPTION_MODE: 'REDIRECT' }), ctx).interceptionMode, undefined);
});
