// The load balancer of a local cluster, the cloud provider's job on a real one: a Service of type
// LoadBalancer gets `status.loadBalancer.ingress` = its ClusterIP, as `minikube tunnel` does. On a
// local cluster the ClusterIP already is an address the host reaches (kube-proxy listens on it on
// loopback), so it is the Service's external address too. Readers of that status (kubectl's
// EXTERNAL-IP, the Istio control plane's Ingress status) see a real, reachable address instead of
// `<pending>` forever. A Service that is no longer of type LoadBalancer loses the status, as the
// service controller clears it.
import type { StoredObject } from '../../k8s/object.js';
import type { ControllerContext } from './context.js';
import type { Reconciler } from './controller.js';
import { isRecord } from './read.js';
import { SERVICES, isNotFound, namespacedKey, splitNamespacedKey } from './resources.js';

/** The load-balancer status a Service should have; undefined: none. */
export function desiredLoadBalancerStatus(service: StoredObject): { ingress: Array<{ ip: string; ipMode: 'VIP' }> } | undefined {
  const spec = isRecord(service.spec) ? service.spec : {};
  if (spec.type !== 'LoadBalancer') return undefined;
  const ip = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
  if (ip === '' || ip === 'None') return undefined;
  return { ingress: [{ ip, ipMode: 'VIP' }] };
}

export function serviceLoadBalancerController(ctx: ControllerContext): Reconciler {
  function reconcile(key: string): void {
    const { namespace, name } = splitNamespacedKey(key);
    const service = ctx.informers.for(SERVICES).get(namespace, name);
    if (!service || service.metadata.deletionTimestamp) return;
    const status = isRecord(service.status) ? service.status : {};
    const current = isRecord(status.loadBalancer) ? status.loadBalancer : undefined;
    const desired = desiredLoadBalancerStatus(service);
    const currentIngress = current && Array.isArray(current.ingress) && current.ingress.length > 0 ? current.ingress : undefined;
    if (JSON.stringify(currentIngress ?? null) === JSON.stringify(desired?.ingress ?? null)) return;
    const next = { ...status, loadBalancer: desired ?? {} };
    try {
      ctx.store.update(SERVICES, { ...service, status: next });
    } catch (err) {
      // Deleted meanwhile: nothing to balance.
      if (!isNotFound(err)) throw err;
    }
  }

  return {
    name: 'service-load-balancer',
    watches: [{ type: SERVICES, keysFor: (e) => [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)] }],
    reconcile,
  };
}
