// Finding a cluster's control plane and reading its debug port (15014): /debug/syncz,
// /debug/config_dump, /debug/registry, /debug/analyze.
//
// The control plane runs as pods `istiod-<revision>-...` (label app=istiod) in istio-system. Pods of
// local clusters live on loopback, so their debug port is reachable from this machine directly; the
// pod IPs of a real cluster are not, and a port-forward would be needed (not supported yet): the user
// is told so at once, with the address flag that works around it, rather than left waiting on a timeout.
// A control plane outside the cluster (`meshwork install --webhook-url https://HOST:PORT`) has no pod:
// the injector webhook's URL names its host, and its debug port is there.

import { AdmissionregistrationV1Api, CoreV1Api, type KubeConfig, type V1MutatingWebhookConfiguration, type V1Pod } from '@kubernetes/client-node';
import { apiErrorMessage } from '../k8s/client/client.js';
import { ISTIO_SYSTEM, MONITORING_PORT } from '../install/names.js';
import { CommandError, errorMessage } from './io.js';

export interface ControlPlaneEndpoint {
  /** Base URL of the debug port, e.g. http://127.10.0.7:15014 */
  url: string;
  /** The istiod pod, when found through the API (not with an explicit address). */
  pod?: string;
  revision?: string;
}

export interface LocateOptions {
  /** host:port or URL of the debug port: skips the lookup (for port-forwards and tests). */
  address?: string;
  namespace?: string;
}

/** host:port or http(s) URL -> base URL without a trailing slash. */
export function debugBaseUrl(address: string): string {
  const withScheme = /^https?:\/\//.test(address) ? address : `http://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CommandError(`control plane address "${address}" is neither host:port nor a URL`);
  }
  return `${url.protocol}//${url.host}`;
}

const isLoopback = (ip: string): boolean => /^127\./.test(ip);

/** Running istiod pods with an IP, newest first (a rollout leaves the old one terminating). */
export function pickControlPlanePods(pods: readonly V1Pod[]): V1Pod[] {
  return pods
    .filter((p) => p.status?.phase === 'Running' && p.status.podIP && !p.metadata?.deletionTimestamp)
    .sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
}

export async function locateControlPlane(kc: KubeConfig, opts: LocateOptions = {}): Promise<ControlPlaneEndpoint> {
  if (opts.address) return { url: debugBaseUrl(opts.address) };
  const namespace = opts.namespace ?? ISTIO_SYSTEM;
  const context = kc.getCurrentContext();
  let pods: V1Pod[];
  try {
    pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: 'app=istiod' })).items;
  } catch (err) {
    throw new CommandError(`context ${context}: cannot list the control plane pods in ${namespace}: ${apiErrorMessage(err)}`);
  }
  const running = pickControlPlanePods(pods);
  if (running.length === 0) {
    const outside = await outsideControlPlane(kc);
    if (outside) return outside;
    const seen = pods.map((p) => `${p.metadata?.name ?? '?'} (${p.status?.phase ?? 'no phase'})`).join(', ');
    throw new CommandError(
      `context ${context}: no running control plane (pods with label app=istiod in namespace ${namespace})` + (seen ? `; found ${seen}` : '') +
        '. Install one, or give its debug address with --control-plane-address HOST:PORT',
    );
  }
  const pod = running[0];
  const ip = pod.status?.podIP ?? '';
  const name = pod.metadata?.name ?? '';
  if (!isLoopback(ip)) {
    throw new CommandError(
      `context ${context}: the control plane ${namespace}/${name} has pod IP ${ip}, which this machine cannot reach directly; ` +
        `port-forwarding is not supported yet. Run \`kubectl --context ${context} -n ${namespace} port-forward pod/${name} ${MONITORING_PORT}\` ` +
        `and pass --control-plane-address 127.0.0.1:${MONITORING_PORT}`,
    );
  }
  const revision = pod.metadata?.labels?.['istio.io/rev'];
  return { url: `http://${ip}:${MONITORING_PORT}`, pod: name, ...(revision ? { revision } : {}) };
}

/**
 * The control plane outside the cluster, from the sidecar injector's webhook URL (`install --webhook-url`):
 * its debug port on the URL's host. Undefined when no injector configuration calls a URL.
 */
export function outsideControlPlaneOf(configs: readonly V1MutatingWebhookConfiguration[]): ControlPlaneEndpoint | undefined {
  for (const config of configs) {
    if (config.metadata?.labels?.app !== 'sidecar-injector') continue;
    const url = config.webhooks?.map((w) => w.clientConfig.url).find((u): u is string => typeof u === 'string' && u.endsWith('/inject'));
    if (!url) continue;
    let host: string;
    try {
      host = new URL(url).host.replace(/:\d+$/, '');
    } catch {
      continue;
    }
    const revision = config.metadata?.labels?.['istio.io/rev'];
    return { url: `http://${host}:${MONITORING_PORT}`, ...(revision ? { revision } : {}) };
  }
  return undefined;
}

async function outsideControlPlane(kc: KubeConfig): Promise<ControlPlaneEndpoint | undefined> {
  try {
    return outsideControlPlaneOf((await kc.makeApiClient(AdmissionregistrationV1Api).listMutatingWebhookConfiguration()).items);
  } catch {
    // Not allowed to read webhook configurations: the pod lookup's message says what to do.
    return undefined;
  }
}

/** GET a JSON document from a debug port; errors name the URL and carry the server's {error}. */
export async function getJson(baseUrl: string, path: string, timeoutMs = 10_000): Promise<unknown> {
  const url = `${baseUrl}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new CommandError(`GET ${url} failed: ${errorMessage(cause ?? err)}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CommandError(`GET ${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const message = typeof body === 'object' && body !== null && 'error' in body ? String((body as { error: unknown }).error) : text.slice(0, 200);
    throw new CommandError(`GET ${url}: HTTP ${res.status}: ${message}`);
  }
  return body;
}
