// The API server's service resolver for webhook calls in a local cluster: Service port -> the
// EndpointSlice port of that name -> a ready endpoint (round robin across calls), read from the store.
import { findByKind } from '../../k8s/kinds.js';
import { readyBackends, serviceInfo, SERVICE_NAME_LABEL } from '../kubeproxy/endpoints.js';
import type { ObjectStore } from '../store/store.js';
import type { ServiceResolver } from './call.js';

export function storeServiceResolver(store: ObjectStore): ServiceResolver {
  const services = findByKind('', 'Service');
  const slices = findByKind('discovery.k8s.io', 'EndpointSlice');
  if (!services || !slices) throw new Error('resource table lacks Service or EndpointSlice');
  let turn = 0;
  return (namespace, name, port) => {
    const svc = store.get(services, namespace, name);
    if (!svc) throw new Error(`service "${name}" not found in namespace "${namespace}"`);
    const info = serviceInfo(svc);
    const servicePort = info.ports.find((p) => p.port === port);
    if (!servicePort) throw new Error(`service "${namespace}/${name}" has no port ${port} (ports: ${info.ports.map((p) => p.port).join(', ') || 'none'})`);
    const items = store.list(slices, { namespace, labelSelector: `${SERVICE_NAME_LABEL}=${name}` }).items;
    const backends = readyBackends(items, servicePort.name, servicePort.protocol);
    if (backends.length === 0) throw new Error(`no endpoints available for service "${name}"`);
    return backends[turn++ % backends.length]!;
  };
}
