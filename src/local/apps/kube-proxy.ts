// kube-proxy as the local kubelet runs it: a pod of its own in kube-system (image
// registry.k8s.io/kube-proxy), watching Services and EndpointSlices through the API server with the
// pod's kubeconfig and keeping every ClusterIP listener (kubeproxy/kube-proxy.ts). As a pod it
// outlives the process hosting the API server: ClusterIPs (the sidecars' xDS address among them) keep
// their last endpoints, and the watches resume when the API server is back.
// `GET /healthz` on port 10256 (kube-proxy's healthz port) answers 200 once both watches have synced
// and every listener they ask for is open.
//   kube-proxy.(ts|js) --port=10256
import { createServer } from 'node:http';
import { loadDefault } from '../../k8s/client/client.js';
import { CoreV1Api, DiscoveryV1Api, KubeConfig, type V1EndpointSlice, type V1Service } from '@kubernetes/client-node';
import type { KubeObject } from '../../k8s/object.js';
import { startResourceWatch } from '../../k8s/client/resource-watch.js';
import { startKubeProxy } from '../kubeproxy/kube-proxy.js';
import { exitWithParent, isMainModule, parseAppArgs } from './app-process.js';

function main(): void {
  const args = parseAppArgs(process.argv.slice(2));
  const port = Number(args.get('port') ?? '10256');
  const host = process.env.MESHWORK_BIND_IP || process.env.POD_IP || '127.0.0.1';
  exitWithParent();
  const log = (line: string): void => console.error(`kube-proxy: ${line}`);
  // Its own service account's kubeconfig (the kubelet's tokenFile user), re-read as the token is refreshed.
  const kubeConfig = loadDefault(new KubeConfig());
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
  const proxy = startKubeProxy({ log });
  let settled = false;
  const onChange = (): void => {
    proxy.update(services.list() as unknown as KubeObject[], slices.list() as unknown as KubeObject[]);
    settled = false;
    void proxy.settled().then(() => (settled = true));
  };
  const services = startResourceWatch<V1Service>({ kubeConfig, what: 'services', path: '/api/v1/services', list: () => core.listServiceForAllNamespaces(), onChange, log });
  const slices = startResourceWatch<V1EndpointSlice>({
    kubeConfig,
    what: 'endpointslices',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    list: () => discovery.listEndpointSliceForAllNamespaces(),
    onChange,
    log,
  });
  const health = createServer((req, res) => {
    const ready = services.synced() && slices.synced() && settled;
    res.writeHead(req.url === '/healthz' && ready ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(req.url !== '/healthz' ? 'not found\n' : ready ? `ok: ${proxy.listening().length} service ports\n` : 'not synced yet\n');
  });
  health.on('error', (err) => {
    console.error(`kube-proxy: cannot serve healthz on ${host}:${port}: ${err.message}`);
    process.exit(1);
  });
  health.listen(port, host, () => log(`healthz on http://${host}:${port}/healthz`));
  process.on('SIGTERM', () => {
    log('SIGTERM, closing listeners');
    void Promise.all([services.stop(), slices.stop(), proxy.stop()]).finally(() => process.exit(0));
  });
}

if (isMainModule(import.meta.url)) main();
