// Kubernetes objects shaped as the API server returns them, for registry and control-plane tests.

import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import type { ClusterObjects, KubeIstioObject } from '../build.js';

export function service(name: string, namespace: string, ports: Array<{ name?: string; port: number; targetPort?: number | string }>): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { app: name } },
    spec: { selector: { app: name }, ports: ports.map((p) => ({ ...p, protocol: 'TCP' })) },
  };
}

export function pod(name: string, namespace: string, ip: string, labels: Record<string, string>, opts: { sidecar?: boolean; extraLabels?: Record<string, string> } = {}): V1Pod {
  const containers = [{ name: 'app', image: 'example' }];
  if (opts.sidecar) containers.push({ name: 'istio-proxy', image: 'meshwork/proxy' });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { ...labels, ...(opts.extraLabels ?? {}) } },
    spec: { containers },
    status: { phase: 'Running', podIP: ip },
  };
}

export interface SliceEndpoint {
  ip: string;
  pod?: string;
  ready?: boolean;
  zone?: string;
}

export function slice(name: string, namespace: string, serviceName: string, ports: Array<{ name?: string; port: number }>, endpoints: SliceEndpoint[]): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), port: p.port, protocol: 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      ...(e.ready !== undefined ? { conditions: { ready: e.ready } } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace } } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
    })),
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/**
 * The scenario after step 4: helloworld Service and sleep in both clusters, helloworld-v1 (with
 * sidecar) in cluster-1 only, helloworld-v2 (with sidecar) in cluster-2 only.
 */
export function scenarioClusters(): ClusterObjects[] {
  const mesh = { 'istio.io/rev': 'asm-managed-stable' };
  return [
    {
      clusterId: 'cluster-1',
      namespaces: [namespace('sample', mesh)],
      services: [service('helloworld', 'sample', [{ name: 'http', port: 5000 }]), service('sleep', 'sample', [{ name: 'http', port: 80 }])],
      pods: [
        pod('helloworld-v1-abc', 'sample', '127.10.0.5', { app: 'helloworld', version: 'v1' }, { sidecar: true }),
        pod('sleep-111', 'sample', '127.10.0.6', { app: 'sleep' }, { sidecar: true }),
      ],
      endpointSlices: [
        slice('helloworld-x1', 'sample', 'helloworld', [{ name: 'http', port: 5000 }], [{ ip: '127.10.0.5', pod: 'helloworld-v1-abc', ready: true, zone: 'cluster-1' }]),
        slice('sleep-x1', 'sample', 'sleep', [{ name: 'http', port: 80 }], [{ ip: '127.10.0.6', pod: 'sleep-111', ready: true }]),
      ],
    },
    {
      clusterId: 'cluster-2',
      namespaces: [namespace('sample', mesh)],
      services: [service('helloworld', 'sample', [{ name: 'http', port: 5000 }]), service('sleep', 'sample', [{ name: 'http', port: 80 }])],
      pods: [
        pod('helloworld-v2-def', 'sample', '127.20.0.5', { app: 'helloworld', version: 'v2' }, { sidecar: true }),
        pod('sleep-222', 'sample', '127.20.0.6', { app: 'sleep' }, { sidecar: true }),
      ],
      endpointSlices: [
        slice('helloworld-x2', 'sample', 'helloworld', [{ name: 'http', port: 5000 }], [{ ip: '127.20.0.5', pod: 'helloworld-v2-def', ready: true, zone: 'cluster-2' }]),
        slice('sleep-x2', 'sample', 'sleep', [{ name: 'http', port: 80 }], [{ ip: '127.20.0.6', pod: 'sleep-222', ready: true }]),
      ],
    },
  ];
}

export const helloworldDestinationRule: KubeIstioObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'helloworld', namespace: 'sample' },
  spec: { host: 'helloworld', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
};

export function helloworldVirtualService(v1: number, v2: number): KubeIstioObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'helloworld', namespace: 'sample' },
    spec: {
      hosts: ['helloworld'],
      http: [{ route: [{ destination: { host: 'helloworld', subset: 'v1' }, weight: v1 }, { destination: { host: 'helloworld', subset: 'v2' }, weight: v2 }] }],
    },
  };
}
