// Where proxies reach a revision's control plane: the istiod Service's ClusterIP and xDS port. A
// ClusterIP needs no DNS, which local clusters do not have; their kube-proxy listens on it.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { apiErrorMessage } from '../k8s/client/client.js';
import { istiodName, XDS_SECURE_PORT } from './names.js';

export async function discoveryIp(kc: KubeConfig, revision: string, namespace = 'istio-system'): Promise<string> {
  const name = istiodName(revision);
  let clusterIP: string | undefined;
  try {
    const svc = await kc.makeApiClient(CoreV1Api).readNamespacedService({ name, namespace });
    clusterIP = svc.spec?.clusterIP;
  } catch (err) {
    throw new Error(`reading service ${namespace}/${name}: ${apiErrorMessage(err)}`);
  }
  if (!clusterIP || clusterIP === 'None') throw new Error(`service ${namespace}/${name} has no ClusterIP`);
  return clusterIP;
}

/** The ClusterIP with the TLS port injected proxies use (xDS and the CA). */
export async function discoveryAddress(kc: KubeConfig, revision: string, namespace = 'istio-system'): Promise<string> {
  return `${await discoveryIp(kc, revision, namespace)}:${XDS_SECURE_PORT}`;
}
