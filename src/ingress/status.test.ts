import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { DEFAULT_INGRESS_SETTINGS } from './class.js';
import { ingressAddresses, loadBalancerIngress, type StatusInputs } from './status.js';

const gatewayService = (spec: V1Service['spec'], status?: V1Service['status']): V1Service => ({ metadata: { name: 'istio-ingressgateway', namespace: 'istio-system' }, spec, ...(status ? { status } : {}) });
const inputs = (over: Partial<StatusInputs>): StatusInputs => ({ mesh: DEFAULT_INGRESS_SETTINGS, ingressNamespace: 'istio-system', services: [], pods: [], nodes: [], ...over });

describe('the address Istio writes into an Ingress\'s status', () => {
  test('the ingress Service\'s load-balancer IPs and hostnames, then its externalIPs', () => {
    const svc = gatewayService({ type: 'LoadBalancer', externalIPs: ['198.51.100.1'] }, { loadBalancer: { ingress: [{ ip: '203.0.113.7' }, { hostname: 'lb.example.com' }] } });
    assert.deepEqual(ingressAddresses(inputs({ services: [svc] })), ['203.0.113.7', 'lb.example.com', '198.51.100.1']);
  });

  test('an ExternalName Service: its name; no Service in the ingress namespace, or one still pending: nothing', () => {
    assert.deepEqual(ingressAddresses(inputs({ services: [gatewayService({ type: 'ExternalName', externalName: 'gw.example.com' })] })), ['gw.example.com']);
    assert.deepEqual(ingressAddresses(inputs({ services: [{ ...gatewayService({ type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }), metadata: { name: 'istio-ingressgateway', namespace: 'istio-gateway' } }] })), []);
    assert.deepEqual(ingressAddresses(inputs({ services: [gatewayService({ type: 'LoadBalancer' }, { loadBalancer: {} })] })), []);
  });

  test('the ingress namespace is where the Service is looked for (K8S_INGRESS_NS)', () => {
    const svc: V1Service = { metadata: { name: 'istio-ingressgateway', namespace: 'istio-gateway' }, spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '127.11.0.4' }] } } };
    assert.deepEqual(ingressAddresses(inputs({ services: [svc], ingressNamespace: 'istio-gateway' })), ['127.11.0.4']);
  });

  test('without ingressService: the ExternalIPs of the node of the first Running gateway pod', () => {
    const pod = (name: string, phase: string, nodeName: string): V1Pod => ({ metadata: { name, namespace: 'istio-system', labels: { istio: 'ingressgateway' } }, spec: { containers: [], nodeName }, status: { phase } });
    const node = (name: string, ...ips: string[]): V1Node => ({ metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, ...ips.map((address) => ({ type: 'ExternalIP', address }))] } });
    const mesh = { ...DEFAULT_INGRESS_SETTINGS, ingressService: '' };
    const found = ingressAddresses(inputs({ mesh, pods: [pod('a', 'Pending', 'n1'), pod('b', 'Running', 'gone'), pod('c', 'Running', 'n2')], nodes: [node('n1', '198.51.100.1'), node('n2', '198.51.100.2', '198.51.100.2')] }));
    assert.deepEqual(found, ['198.51.100.2']);
    assert.deepEqual(ingressAddresses(inputs({ mesh, pods: [pod('c', 'Running', 'n2')], nodes: [node('n2')] })), [], 'a local node has no ExternalIP');
  });

  test('addresses as status entries: IPs as ip, names as hostname, sorted by hostname then IP (Istio\'s sliceToStatus)', () => {
    assert.deepEqual(loadBalancerIngress(['203.0.113.9', 'b.example.com', '203.0.113.10', 'a.example.com']), [
      { ip: '203.0.113.10' },
      { ip: '203.0.113.9' },
      { hostname: 'a.example.com' },
      { hostname: 'b.example.com' },
    ]);
  });
});
