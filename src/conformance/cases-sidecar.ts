// Conformance cases: the Sidecar resource: egress scoping, outboundTrafficPolicy.

import type { ConformanceCase } from './case.js';
import { get, HW } from './case-builders.js';
import { fromIstio } from './resources.js';

/** A Sidecar in the client's namespace (sample); `spec` is YAML indented by 2. */
function sidecar(spec: string): string {
  return `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
${spec}`;
}

/** Hosts the mesh does not know (no Service, no ServiceEntry), as an app would call them through its HTTP proxy. */
const UNKNOWN_HOSTS = ['example.com', 'unknown.sample:5000', 'api.example.org:8443'];

export const SIDECAR_CASES: ConformanceCase[] = [
  {
    name: 'Sidecar outboundTrafficPolicy REGISTRY_ONLY: a host the mesh does not know gets 502 (block_all), known ones are routed',
    simulate: true,
    compareBody: true,
    resources: () => fromIstio(sidecar('  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n')),
    requests: [get('/hello'), get('/hello', { host: 'helloworld.sample.svc.cluster.local:5000' }), ...UNKNOWN_HOSTS.map((host) => get('/', { host }))],
  },
  {
    name: 'Sidecar outboundTrafficPolicy ALLOW_ANY (not translated to a passthrough): an unknown host finds no virtual host (404)',
    simulate: true,
    compareBody: true,
    resources: () => fromIstio(sidecar('  outboundTrafficPolicy: {mode: ALLOW_ANY}\n')),
    requests: [get('/hello'), ...UNKNOWN_HOSTS.map((host) => get('/', { host }))],
  },
  {
    name: 'Sidecar egress without the service\'s namespace: helloworld is out of scope, not routed (404)',
    simulate: true,
    compareBody: true,
    resources: () => fromIstio(sidecar('  egress: [{hosts: [istio-system/*]}]\n')),
    requests: [get('/hello'), get('/hello', { host: 'helloworld.sample:5000' })],
  },
  {
    name: 'Sidecar egress ./* with REGISTRY_ONLY: helloworld in scope is routed, a host outside gets 502',
    simulate: true,
    compareBody: true,
    resources: () => fromIstio(sidecar('  egress: [{hosts: [./*]}]\n  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n')),
    requests: [get('/hello'), get('/', { host: 'istiod.istio-system:15014' }), get('/', { host: HW.replace('helloworld', 'nothere') })],
  },
];
