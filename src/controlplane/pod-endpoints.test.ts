import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { endpointSlicesFromPods, POD_ENDPOINTS_MANAGER, withPodEndpoints } from './pod-endpoints.js';

const service = (name: string, spec: V1Service['spec']): V1Service => ({ metadata: { name, namespace: 'sample' }, spec });
const pod = (name: string, labels: Record<string, string>, ip: string | undefined, extra: { ready?: boolean; phase?: string; ports?: Array<{ name: string; containerPort: number }>; terminating?: boolean } = {}): V1Pod => ({
  metadata: { name, namespace: 'sample', uid: `uid-${name}`, labels, ...(extra.terminating ? { deletionTimestamp: new Date() } : {}) },
  spec: { nodeName: 'cluster-1-node', containers: [{ name: 'app', ports: extra.ports ?? [] }] },
  status: { phase: extra.phase ?? 'Running', ...(ip ? { podIP: ip } : {}), conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }] },
});

describe('endpointSlicesFromPods: what the EndpointSlice controller would write, for API servers that refuse loopback pod IPs', () => {
  it('a slice per Service of the pods its selector picks, ready by the Ready condition, ports resolved', () => {
    const helloworld = service('helloworld', { selector: { app: 'helloworld' }, ports: [{ name: 'http', port: 5000 }] });
    const slices = endpointSlicesFromPods([helloworld], [
      pod('hw-v1', { app: 'helloworld', version: 'v1' }, '127.58.0.3'),
      pod('hw-v2', { app: 'helloworld', version: 'v2' }, '127.58.0.4', { ready: false }),
      pod('hw-old', { app: 'helloworld' }, '127.58.0.5', { terminating: true }),
      pod('done', { app: 'helloworld' }, '127.58.0.6', { phase: 'Succeeded' }),
      pod('pending', { app: 'helloworld' }, undefined),
      pod('sleep', { app: 'sleep' }, '127.58.0.7'),
    ]);
    assert.equal(slices.length, 1);
    const slice = slices[0]!;
    assert.deepEqual(slice.metadata?.labels, { 'kubernetes.io/service-name': 'helloworld', 'endpointslice.kubernetes.io/managed-by': POD_ENDPOINTS_MANAGER });
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: 'http', port: 5000, protocol: 'TCP' }]);
    assert.deepEqual(slice.endpoints.map((e) => [e.addresses[0], e.conditions?.ready, e.conditions?.terminating, e.targetRef?.name, e.nodeName]), [
      ['127.58.0.3', true, false, 'hw-v1', 'cluster-1-node'],
      ['127.58.0.4', false, false, 'hw-v2', 'cluster-1-node'],
      ['127.58.0.5', false, true, 'hw-old', 'cluster-1-node'],
    ]);
  });

  it('named target ports per pod (a slice per resolved port list); no selector or ExternalName: none; publishNotReadyAddresses', () => {
    const named = service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }], publishNotReadyAddresses: true });
    const slices = endpointSlicesFromPods(
      [named, service('manual', { ports: [{ port: 1 }] }), service('ext', { type: 'ExternalName', externalName: 'x.example', selector: { app: 'web' } })],
      [pod('a', { app: 'web' }, '127.58.0.3', { ports: [{ name: 'web', containerPort: 8080 }], ready: false }), pod('b', { app: 'web' }, '127.58.0.4', { ports: [{ name: 'web', containerPort: 9090 }] }), pod('c', { app: 'web' }, '127.58.0.5')],
    );
    assert.deepEqual(slices.map((s) => [s.metadata?.name, s.ports?.map((p) => p.port), s.endpoints.map((e) => [e.addresses[0], e.conditions?.ready])]), [
      ['web-pods-0', [8080], [['127.58.0.3', true]]],
      ['web-pods-1', [9090], [['127.58.0.4', true]]],
      ['web-pods-2', [], [['127.58.0.5', true]]],
    ]);
  });

  it('withPodEndpoints keeps the listed slices of Services without a selector and replaces the rest', () => {
    const listed: V1EndpointSlice[] = [
      { metadata: { name: 'manual-1', namespace: 'sample', labels: { 'kubernetes.io/service-name': 'manual' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }] },
      { metadata: { name: 'helloworld-abc', namespace: 'sample', labels: { 'kubernetes.io/service-name': 'helloworld' } }, addressType: 'IPv4', endpoints: [] },
    ];
    const out = withPodEndpoints([service('manual', { ports: [{ port: 1 }] }), service('helloworld', { selector: { app: 'helloworld' }, ports: [{ name: 'http', port: 5000 }] })], [pod('hw', { app: 'helloworld' }, '127.58.0.3')], listed);
    assert.deepEqual(out.map((s) => s.metadata?.name), ['manual-1', 'helloworld-pods-0']);
  });
});
