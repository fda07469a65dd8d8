// The Istio config a cluster holds (VirtualServices, DestinationRules, ServiceEntries of every
// namespace, networking.istio.io/v1): what its control plane configures that cluster's proxies from,
// read the way the user applied it, for the intent of a request.

import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { apiErrorMessage } from '../k8s/client/client.js';
import { buildMeshSnapshot, type KubeIstioObject } from '../registry/build.js';
import type { AppliedConfig } from './intent/model.js';

const GROUP = 'networking.istio.io';
const VERSION = 'v1';

function itemsOf(body: unknown, plural: string): KubeIstioObject[] {
  if (typeof body !== 'object' || body === null || !('items' in body) || !Array.isArray(body.items)) {
    throw new Error(`listing ${plural}.${GROUP}: the answer is not a list`);
  }
  return body.items as KubeIstioObject[];
}

export async function readAppliedConfig(kc: KubeConfig): Promise<AppliedConfig> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const list = async (plural: string): Promise<KubeIstioObject[]> => {
    try {
      return itemsOf(await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural }), plural);
    } catch (err) {
      throw new Error(`cannot list ${plural}.${GROUP}: ${apiErrorMessage(err)}`);
    }
  };
  const [virtualServices, destinationRules, serviceEntries] = await Promise.all([list('virtualservices'), list('destinationrules'), list('serviceentries')]);
  // The registry's own conversion: name, namespace, spec, creation time (Istio's order).
  const { snapshot } = buildMeshSnapshot({ clusters: [], config: [{ cluster: kc.getCurrentContext(), virtualServices, destinationRules, serviceEntries, gateways: [] }] });
  return { virtualServices: snapshot.virtualServices, destinationRules: snapshot.destinationRules, serviceEntries: snapshot.serviceEntries };
}
