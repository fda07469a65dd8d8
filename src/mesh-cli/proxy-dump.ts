// A proxy's config_dump: from the proxy itself (admin port 15000 on its pod IP: what it accepted),
// else from its control plane (/debug/config_dump: what it is sent). Callers say which one they show.

import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { getJson, locateControlPlane } from './control-plane.js';
import { CommandError, errorMessage } from './io.js';

export const ADMIN_PORT = 15000;

export interface FetchedDump {
  source: 'proxy' | 'control plane';
  url: string;
  dump: unknown;
  /** Why the proxy's own dump was not used. */
  fallbackReason?: string;
}

export interface DumpOptions {
  controlPlaneAddress?: string;
  /** Skip the proxy's admin port (e.g. --source control-plane). */
  controlPlaneOnly?: boolean;
  timeoutMs?: number;
}

export async function fetchProxyDump(kc: KubeConfig, pod: V1Pod, opts: DumpOptions = {}): Promise<FetchedDump> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  const ip = pod.status?.podIP;
  let fallbackReason: string;
  if (opts.controlPlaneOnly) fallbackReason = 'asked for the control plane\'s view';
  else if (!ip) fallbackReason = 'the pod has no IP yet';
  else if (!ip.startsWith('127.')) fallbackReason = `the pod IP ${ip} is not reachable from this machine (port-forwarding is not supported yet)`;
  else {
    const url = `http://${ip}:${ADMIN_PORT}`;
    try {
      // include_eds: Envoy leaves endpoints out of its dump unless asked (our proxy always has them).
      return { source: 'proxy', url: `${url}/config_dump`, dump: await getJson(url, '/config_dump?include_eds', opts.timeoutMs ?? 5000) };
    } catch (err) {
      fallbackReason = `the proxy's admin port did not answer: ${errorMessage(err)}`;
    }
  }
  let cp;
  try {
    cp = await locateControlPlane(kc, opts.controlPlaneAddress ? { address: opts.controlPlaneAddress } : {});
  } catch (err) {
    throw new CommandError(`no config for ${namespace}/${name}: ${fallbackReason}; and ${errorMessage(err)}`);
  }
  const pathFor = (id: string): string => `/debug/config_dump?proxyID=${encodeURIComponent(id)}`;
  const connected = pathFor(`${name}.${namespace}`);
  try {
    return { source: 'control plane', url: `${cp.url}${connected}`, dump: await getJson(cp.url, connected, opts.timeoutMs ?? 10_000), fallbackReason };
  } catch (err) {
    // Not connected (no sidecar running yet): the control plane still computes what it would send
    // to the sidecar of this pod, given its full node id.
    if (!ip || !errorMessage(err).includes('HTTP 404')) throw err;
    const full = pathFor(`sidecar~${ip}~${name}.${namespace}~${namespace}.svc.cluster.local`);
    const dump = await getJson(cp.url, full, opts.timeoutMs ?? 10_000);
    return { source: 'control plane', url: `${cp.url}${full}`, dump, fallbackReason: `${fallbackReason}; the proxy is not connected to the control plane, shown is what it would be sent` };
  }
}
