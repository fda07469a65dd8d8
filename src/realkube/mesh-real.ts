// The mesh on the real control planes of `meshwork up --apiserver real`: for every cluster,
// `meshwork install` with the control plane outside the cluster (webhooks at https://127.s.0.1:15017,
// proxies told `discoveryAddress` 127.s.0.1:15012: pods reach the host address, not a ClusterIP, as no
// kube-proxy runs), then that control plane in this process as the cluster's istiod service account
// (Kubernetes mode: it lists and watches the API server, reviews pod tokens with TokenReview, writes
// status) with its injection and validation webhooks, then `create-mesh` over all clusters. The
// scenario's kubectl steps (namespaces, apps, rules) stay the user's, as with local clusters.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { runControlPlane, type RunningControlPlane } from '../controlplane/control-plane.js';
import { startInjectorServer } from '../controlplane/injector-server.js';
import { buildKubeconfig } from '../k8s/kubeconfig.js';
import { apiErrorMessage, loadKubeConfig } from '../k8s/client/client.js';
import { runCreateMesh, runInstall } from '../install/commands.js';
import { DEFAULT_REVISION, ISTIO_SYSTEM, istiodName, MONITORING_PORT, WEBHOOK_PORT, XDS_SECURE_PORT } from '../install/names.js';
import { hostIpOf } from '../local/kubelet/ip-allocator.js';
import type { RealControlPlane } from './control-plane.js';

export interface RealMeshOptions {
  clusters: Array<{ plane: RealControlPlane; subnetOctet: number }>;
  /** The kubeconfig with a context per cluster (admin), as `up` wrote it. */
  kubeconfig: string;
  /** The mesh root's folder, shared by every cluster. */
  meshCaDir: string;
  log: (line: string) => void;
}

export interface RealMesh {
  /** Per cluster: where its control plane serves (xDS/CA TLS, debug, webhooks). */
  controlPlanes: Array<{ cluster: string; host: string }>;
  stop(): Promise<void>;
}

/**
 * How long the control plane's service-account token lives. The token is asked for at every `up`;
 * a host running longer than this would see the API server refuse its watches.
 */
const ISTIOD_TOKEN_SECONDS = 365 * 24 * 3600;

export async function startRealMesh(opts: RealMeshOptions): Promise<RealMesh> {
  const running: Array<{ cp: RunningControlPlane; injector: { close(): Promise<void> } | undefined }> = [];
  const stopAll = async () => {
    for (const r of running.reverse()) {
      await r.injector?.close();
      await r.cp.stop();
    }
  };
  const controlPlanes: RealMesh['controlPlanes'] = [];
  try {
    for (const { plane, subnetOctet } of opts.clusters) {
      const host = hostIpOf(subnetOctet);
      const out = (line: string) => opts.log(`install ${plane.name}: ${line}`);
      await runInstall({
        context: plane.name,
        kubeconfig: opts.kubeconfig,
        meshCaDir: opts.meshCaDir,
        dataPlane: 'envoy',
        webhookUrl: `https://${host}:${WEBHOOK_PORT}`,
        discoveryAddress: `${host}:${XDS_SECURE_PORT}`,
        out,
      });
      const saKubeconfig = join(plane.logDir, '..', 'istiod.kubeconfig');
      writeFileSync(saKubeconfig, buildKubeconfig([{ name: plane.name, server: plane.server, caPem: plane.caPem, token: await istiodToken(opts.kubeconfig, plane.name) }], plane.name), { mode: 0o600 });
      const log = (line: string) => opts.log(`control-plane ${plane.name}: ${line}`);
      const cp = await runControlPlane({
        clusterId: plane.name,
        kubeconfig: saKubeconfig,
        context: plane.name,
        namespace: ISTIO_SYSTEM,
        revision: DEFAULT_REVISION,
        xds: { host, securePort: XDS_SECURE_PORT },
        debug: { host, port: MONITORING_PORT },
        // kube-apiserver refuses the pods' loopback addresses in EndpointSlices.
        endpointsFromPods: true,
        log,
      });
      let injector: { close(): Promise<void> } | undefined;
      try {
        injector = await startInjectorServer({
          kubeConfig: loadKubeConfig({ kubeconfig: saKubeconfig, context: plane.name }),
          namespace: ISTIO_SYSTEM,
          revision: DEFAULT_REVISION,
          clusterId: plane.name,
          dataPlane: 'envoy',
          host,
          port: WEBHOOK_PORT,
          log,
        });
      } finally {
        running.push({ cp, injector });
      }
      controlPlanes.push({ cluster: plane.name, host });
    }
    if (opts.clusters.length > 1) await runCreateMesh(opts.clusters.map((c) => c.plane.name), { kubeconfig: opts.kubeconfig, out: (line) => opts.log(`create-mesh: ${line}`) });
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { controlPlanes, stop: stopAll };
}

/** What `up` says of the mesh it runs (the detached parent too, from the clusters in the state). */
export function realMeshLines(clusters: ReadonlyArray<{ name: string; subnetOctet: number }>): string[] {
  const lines = clusters.map((c) => `${c.name}: mesh control plane (Kubernetes mode, outside the cluster) on ${hostIpOf(c.subnetOctet)}: xDS and CA :${XDS_SECURE_PORT}, webhooks :${WEBHOOK_PORT}, debug :${MONITORING_PORT}`);
  if (clusters.length > 1) lines.push(`create-mesh: ${clusters.map((c) => c.name).join(', ')} joined into one mesh`);
  return lines;
}

/** A token of the control plane's own service account (TokenRequest), so it runs with istiod's rights, no more. */
async function istiodToken(kubeconfig: string, context: string): Promise<string> {
  const api = loadKubeConfig({ kubeconfig, context }).makeApiClient(CoreV1Api);
  const name = istiodName(DEFAULT_REVISION);
  try {
    const answer = await api.createNamespacedServiceAccountToken({ name, namespace: ISTIO_SYSTEM, body: { spec: { expirationSeconds: ISTIOD_TOKEN_SECONDS, audiences: [] } } });
    const token = answer.status?.token;
    if (!token) throw new Error('the API server answered without a token');
    return token;
  } catch (err) {
    throw new Error(`${context}: a token for service account ${ISTIO_SYSTEM}/${name}: ${apiErrorMessage(err)}`);
  }
}
