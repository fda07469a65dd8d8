// Everything `meshwork install` puts in a cluster, in the order it is applied (and printed by
// `--dry-run`): CRDs, the namespace, identities and rights, config (the webhook's serving certificate,
// the CA's cacerts, the IngressClass), the webhook configurations, then the workload (Service,
// Deployment). For a control plane outside the cluster (`--webhook-url https://HOST:PORT`, Kubernetes
// mode run from a laptop or CI) the webhook configurations call that URL instead of the Service, the
// Deployment is left out, and the istiod Service has no selector: an EndpointSlice points it at HOST
// when HOST is an IP address pods can reach (not loopback or link-local, which the API server refuses
// as endpoints), so injected proxies still find xDS at the Service's ClusterIP. Where pods cannot
// reach that ClusterIP (no kube-proxy, a loopback control plane), `--discovery-address HOST:PORT` puts
// the mesh config ConfigMap istio-<rev> with `defaultConfig.discoveryAddress` in the cluster, as
// istioctl's `values.global.remotePilotAddress` does: injected proxies then reach xDS and the CA there.
// Pure: no I/O.
//
// Exports: installPlan(opts), parseWebhookUrl(text), parseDiscoveryAddress(text).
import { isIP } from 'node:net';
import type { KubeObject } from '../k8s/object.js';
import { hostPortProblem } from '../config/proxy-config.js';
import { meshCrds } from './crds.js';
import { type InstallOptions, installManifests } from './manifests.js';
import { istiodName, MESH_CONFIG_KEY, meshConfigMapName, MONITORING_PORT, XDS_PORT, XDS_SECURE_PORT } from './names.js';
import { webhookTlsSecret, type WebhookTls } from './webhook-tls.js';

export interface WebhookUrl {
  /** `https://HOST:PORT` without a trailing slash; the paths /inject and /validate are appended. */
  base: string;
  host: string;
  port: number;
}

/** Checks `--webhook-url`: https, a host, no path, query, fragment or credentials. */
export function parseWebhookUrl(text: string): WebhookUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--webhook-url ${JSON.stringify(text)} is not a URL: give https://HOST:PORT, where the API server reaches the control plane's webhook port (15017)`);
  }
  if (url.protocol !== 'https:') throw new Error(`--webhook-url ${text}: the API server calls webhooks over https only: give https://HOST:PORT`);
  if (url.username || url.password) throw new Error(`--webhook-url ${text}: a webhook URL may not carry user info`);
  if (url.search || url.hash) throw new Error(`--webhook-url ${text}: a webhook URL may not have a query or fragment`);
  if (url.pathname !== '/' && url.pathname !== '') throw new Error(`--webhook-url ${text}: give no path (the paths /inject and /validate are added)`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : 443;
  return { base: `https://${url.host}`, host, port };
}

/** Checks `--discovery-address`: HOST:PORT, the control plane's xDS TLS port as pods reach it. */
export function parseDiscoveryAddress(text: string): string {
  const problem = hostPortProblem(text);
  if (problem) throw new Error(`--discovery-address ${JSON.stringify(text)}: ${problem}; give HOST:PORT where injected proxies reach the control plane's xDS TLS port (its --address and 15012)`);
  return text;
}

/** The mesh config (Istio's ConfigMap istio-<rev>, key mesh) that sends injected proxies to `address`. */
function meshConfigMap(opts: InstallPlanOptions, address: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: meshConfigMapName(opts.revision), namespace: opts.namespace, labels: { 'istio.io/rev': opts.revision, 'app.kubernetes.io/part-of': 'meshwork' } },
    data: { [MESH_CONFIG_KEY]: `defaultConfig:\n  discoveryAddress: ${address}\n` },
  };
}

export interface InstallPlanOptions extends InstallOptions {
  /** The webhook serving certificate (its Secret is applied; its CA is the webhooks' caBundle). */
  webhookTls: WebhookTls;
  /** istio-system/cacerts, when the cluster gets a new one. */
  cacertsSecret?: KubeObject;
  /** Apply the CRDs (real clusters; a local cluster registers its own). */
  crds: boolean;
  /** The control plane runs outside the cluster, its webhook here. */
  webhookUrl?: WebhookUrl;
  /** HOST:PORT (parseDiscoveryAddress): the mesh config's defaultConfig.discoveryAddress. */
  discoveryAddress?: string;
}

/** Apply order: a kind's rank; kinds not listed go last. */
const ORDER = [
  'CustomResourceDefinition',
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Secret',
  'ConfigMap',
  'IngressClass',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'Service',
  'EndpointSlice',
  'Deployment',
];

function rank(obj: KubeObject): number {
  const i = ORDER.indexOf(obj.kind);
  return i < 0 ? ORDER.length : i;
}

/** Points the webhooks of a configuration at `url` instead of the istiod Service. */
function toUrl(config: KubeObject, url: WebhookUrl): KubeObject {
  const webhooks = (config.webhooks as Array<{ clientConfig: { service: { path: string }; caBundle: string } }>).map((w) => ({
    ...w,
    clientConfig: { url: `${url.base}${w.clientConfig.service.path}`, caBundle: w.clientConfig.caBundle },
  }));
  return { ...config, webhooks };
}

/**
 * Addresses the API server refuses as endpoints (ValidateEndpointIP: unspecified, loopback, link-local)
 * and no pod could reach on another machine anyway.
 */
export function unroutableEndpointIp(ip: string): boolean {
  const v4 = isIP(ip) === 4 ? ip : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (v4) return /^(0\.|127\.|169\.254\.|22[4-9]\.|23\d\.)/.test(v4);
  const lower = ip.toLowerCase();
  return lower === '::' || lower === '::1' || /^fe[89ab]/.test(lower) || lower.startsWith('ff');
}

/** The istiod Service's endpoints outside the cluster: an EndpointSlice of the URL's host when pods can reach it. */
function externalEndpoints(opts: InstallPlanOptions, url: WebhookUrl): KubeObject | undefined {
  const family = isIP(url.host);
  if (family === 0 || unroutableEndpointIp(url.host)) return undefined;
  const name = istiodName(opts.revision);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-external`, namespace: opts.namespace, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'meshwork-install' } },
    addressType: family === 4 ? 'IPv4' : 'IPv6',
    endpoints: [{ addresses: [url.host], conditions: { ready: true } }],
    ports: [
      { name: 'grpc-xds', port: XDS_PORT, protocol: 'TCP' },
      { name: 'https-dns', port: XDS_SECURE_PORT, protocol: 'TCP' },
      { name: 'https-webhook', port: url.port, protocol: 'TCP' },
      { name: 'http-monitoring', port: MONITORING_PORT, protocol: 'TCP' },
    ],
  };
}

export function installPlan(opts: InstallPlanOptions): KubeObject[] {
  const url = opts.webhookUrl;
  let objects = installManifests(opts);
  if (url) {
    objects = objects
      .filter((o) => o.kind !== 'Deployment')
      .map((o) => {
        if (o.kind === 'MutatingWebhookConfiguration' || o.kind === 'ValidatingWebhookConfiguration') return toUrl(o, url);
        // No pods to select: the EndpointSlice below says where the control plane is.
        if (o.kind === 'Service') {
          const { selector: _selector, ...spec } = o.spec as Record<string, unknown>;
          return { ...o, spec };
        }
        return o;
      });
    const slice = externalEndpoints(opts, url);
    if (slice) objects.push(slice);
  }
  const all = [
    ...(opts.crds ? meshCrds() : []),
    ...objects,
    webhookTlsSecret(opts.namespace, opts.revision, opts.webhookTls),
    ...(opts.cacertsSecret ? [opts.cacertsSecret] : []),
    ...(opts.discoveryAddress ? [meshConfigMap(opts, parseDiscoveryAddress(opts.discoveryAddress))] : []),
  ];
  // Stable: objects of one kind keep their order (the Namespace before everything it holds).
  return all.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i).map(({ o }) => o);
}
