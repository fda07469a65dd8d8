// The control plane's webhooks: HTTPS on port 15017, sidecar injection on /inject and Istio config
// validation on /validate, with the serving certificate `meshwork install` stored in the
// istiod-webhook-tls Secret (its CA is the webhook configurations' caBundle). Proxies are told to reach xDS at the istiod Service's ClusterIP,
// and get the mesh config's defaultConfig (mesh-config.ts) as their ProxyConfig, the CA's address
// (CA_ADDR, the TLS port), the trust domain and the mesh root from Secret cacerts (MESHWORK_ROOT_CERT:
// with it the agent speaks TLS to XDS_ADDRESS, the TLS port, and gets the pod's certificate).
import { createServer, type Server } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { DataPlaneKind } from '../agent/data-plane.js';
import { createInjectionWebhook, INJECT_PATH } from '../inject/webhook.js';
import { discoveryAddress, discoveryIp } from '../install/discovery-address.js';
import { loadCaCerts } from '../install/mesh-ca.js';
import { XDS_SECURE_PORT } from '../install/names.js';
import { MESHWORK_IMAGE } from '../image.js';
import { loadWebhookTls } from '../install/webhook-tls.js';
import { watchMeshConfig } from './mesh-config.js';
import { createValidationWebhook, VALIDATE_PATH } from './validation-webhook.js';

export interface InjectorServerOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  revision: string;
  clusterId: string;
  dataPlane: DataPlaneKind;
  /** The cluster captures pod traffic with iptables: injected pods get istio-init (docs/interception.md). */
  interceptionMode?: 'REDIRECT';
  host: string;
  port: number;
  log: (line: string) => void;
}

export async function startInjectorServer(opts: InjectorServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const tls = await loadWebhookTls(opts.kubeConfig, opts.namespace);
  const xdsAddress = await discoveryAddress(opts.kubeConfig, opts.revision, opts.namespace);
  const caAddress = `${await discoveryIp(opts.kubeConfig, opts.revision, opts.namespace)}:${XDS_SECURE_PORT}`;
  const rootCertPem = (await loadCaCerts(opts.kubeConfig, opts.namespace)).rootCertPem;
  const meshConfig = watchMeshConfig({ kubeConfig: opts.kubeConfig, namespace: opts.namespace, revision: opts.revision, log: opts.log });
  const injection = {
    revision: opts.revision,
    xdsAddress,
    caAddress,
    rootCertPem,
    clusterId: opts.clusterId,
    proxyImage: MESHWORK_IMAGE,
    dataPlane: opts.dataPlane,
    ...(opts.interceptionMode ? { interceptionMode: opts.interceptionMode } : {}),
  };
  const webhook = createInjectionWebhook({
    injection: () => ({ ...injection, meshProxyConfig: meshConfig.defaultConfig(), trustDomain: meshConfig.trustDomain() }),
    log: opts.log,
  });
  const validation = createValidationWebhook({ log: opts.log });
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method === 'POST' && path === INJECT_PATH) return webhook(req, res);
    if (req.method === 'POST' && path === VALIDATE_PATH) return validation(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`not found: the webhooks are POST ${INJECT_PATH} (injection) and POST ${VALIDATE_PATH} (Istio config validation)\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  }).catch(async (err: unknown) => {
    await meshConfig.stop();
    throw err;
  });
  const address = server.address();
  opts.log(`injection webhook on https://${opts.host}:${opts.port}${INJECT_PATH}, validation on ${VALIDATE_PATH} (proxies get XDS_ADDRESS=${xdsAddress}, data plane ${opts.dataPlane} unless annotated)`);
  return {
    port: typeof address === 'object' && address ? address.port : opts.port,
    close: async () => {
      await meshConfig.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
