// The address Istio writes into `status.loadBalancer.ingress` of the Ingresses it serves (istiod's
// runningAddresses). Pure.
//   - meshConfig.ingressService set (default `istio-ingressgateway`): that Service in the ingress
//     namespace: its load-balancer IPs or hostnames, then its externalIPs (an ExternalName Service:
//     its externalName); no such Service, no address;
//   - otherwise the ExternalIP addresses of the node of the first Running ingress gateway pod (in the
//     ingress namespace) whose node is known.
import { isIP } from 'node:net';
import type { V1Ingress, V1IngressClass, V1IngressLoadBalancerIngress, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { ingressGatewaySelector, type IngressMeshSettings } from './class.js';

export interface StatusInputs {
  mesh: IngressMeshSettings;
  ingressNamespace: string;
  /** The Services, pods and nodes of the Ingresses' cluster. */
  services: readonly V1Service[];
  pods: readonly V1Pod[];
  nodes: readonly V1Node[];
}

/** What the status of a cluster's Ingresses is made of: the address inputs, and which Ingresses are Istio's. */
export interface IngressStatusInputs extends StatusInputs {
  ingresses: readonly V1Ingress[];
  ingressClasses: readonly V1IngressClass[];
}

export function ingressAddresses(input: StatusInputs): string[] {
  if (input.mesh.ingressService) {
    const svc = input.services.find((s) => s.metadata?.namespace === input.ingressNamespace && s.metadata?.name === input.mesh.ingressService);
    if (!svc) return [];
    if (svc.spec?.type === 'ExternalName') return svc.spec.externalName ? [svc.spec.externalName] : [];
    const balanced = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter((a) => a !== '');
    return [...balanced, ...(svc.spec?.externalIPs ?? [])];
  }
  const selector = ingressGatewaySelector(input.mesh);
  for (const pod of input.pods) {
    if (pod.metadata?.namespace !== input.ingressNamespace || pod.status?.phase !== 'Running') continue;
    if (!Object.entries(selector).every(([k, v]) => pod.metadata?.labels?.[k] === v)) continue;
    const node = input.nodes.find((n) => n.metadata?.name === pod.spec?.nodeName);
    if (!node) continue;
    const addresses: string[] = [];
    for (const a of node.status?.addresses ?? []) if (a.type === 'ExternalIP' && a.address && !addresses.includes(a.address)) addresses.push(a.address);
    return addresses;
  }
  return [];
}

/** Istio's sliceToStatus: an IP as `ip`, anything else as `hostname`; sorted by hostname, then IP. */
export function loadBalancerIngress(addresses: readonly string[]): V1IngressLoadBalancerIngress[] {
  const entries = addresses.map((a) => (isIP(a) !== 0 ? { ip: a } : { hostname: a }));
  const text = (v: string | undefined): string => v ?? '';
  return entries.sort((a, b) => {
    const ha = text('hostname' in a ? a.hostname : undefined);
    const hb = text('hostname' in b ? b.hostname : undefined);
    if (ha !== hb) return ha < hb ? -1 : 1;
    const ia = text('ip' in a ? a.ip : undefined);
    const ib = text('ip' in b ? b.ip : undefined);
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
}
