// What `meshwork version` reports of the mesh, as `istioctl version` does: the control plane of each
// cluster (its istiod pod's image tag: the control plane has no version endpoint) and the data plane
// versions its connected proxies report, counted per version.

import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { ISTIO_SYSTEM, MONITORING_PORT } from '../install/names.js';
import { getJson, pickControlPlanePods } from './control-plane.js';
import { errorMessage } from './io.js';
import { syncRows } from './proxy-status.js';
import { apiErrorMessage } from '../k8s/client/client.js';

export interface ControlPlaneVersion {
  cluster: string;
  /** The image tag of the newest running istiod pod, or why none could be read. */
  version?: string;
  pod?: string;
  revision?: string;
  error?: string;
}

export interface MeshVersions {
  controlPlanes: ControlPlaneVersion[];
  /** Proxy version (`envoy 1.40.0`, `meshwork-proxy 0.1.0`) -> how many connected proxies report it. */
  dataPlanes: Record<string, number>;
}

/** `ghcr.io/meshwork/meshwork:0.1.0` -> `0.1.0`; a digest or a bare name says what it is. */
export function imageVersion(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1);
  const tag = /:([^/:]+)$/.exec(image);
  return tag ? tag[1] : `${image} (untagged)`;
}

async function controlPlaneOf(kc: KubeConfig, context: string, counts: Record<string, number>): Promise<ControlPlaneVersion> {
  kc.setCurrentContext(context);
  let pods;
  try {
    pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ISTIO_SYSTEM, labelSelector: 'app=istiod' })).items;
  } catch (err) {
    return { cluster: context, error: `cannot list the control plane pods: ${apiErrorMessage(err)}` };
  }
  const pod = pickControlPlanePods(pods)[0];
  if (!pod) return { cluster: context, error: `no running control plane (app=istiod in ${ISTIO_SYSTEM})` };
  const image = pod.spec?.containers[0]?.image ?? '';
  const revision = pod.metadata?.labels?.['istio.io/rev'];
  const found: ControlPlaneVersion = { cluster: context, version: imageVersion(image), pod: pod.metadata?.name ?? '', ...(revision ? { revision } : {}) };
  try {
    const rows = syncRows(await getJson(`http://${pod.status?.podIP ?? ''}:${MONITORING_PORT}`, '/debug/syncz', 5000), { istiod: found.pod ?? '', context });
    for (const r of rows.filter((x) => x.status.state !== 'DISCONNECTED')) counts[r.version] = (counts[r.version] ?? 0) + 1;
  } catch (err) {
    return { ...found, error: `its proxies are not counted: ${errorMessage(err)}` };
  }
  return found;
}

/** Every context of `kc`, one after the other (each answer names its cluster). */
export async function collectMeshVersions(kc: KubeConfig): Promise<MeshVersions> {
  const dataPlanes: Record<string, number> = {};
  const controlPlanes: ControlPlaneVersion[] = [];
  for (const c of kc.getContexts()) controlPlanes.push(await controlPlaneOf(kc, c.name, dataPlanes));
  return { controlPlanes, dataPlanes };
}

/** istioctl's lines: `control plane version: ...` per cluster, `data plane version: X (N proxies)` per version. */
export function formatMeshVersions(v: MeshVersions): string[] {
  const lines = v.controlPlanes.map((c) =>
    c.version
      ? `control plane version (${c.cluster}): ${c.version} (${c.pod}${c.revision ? `, revision ${c.revision}` : ''})${c.error ? `; ${c.error}` : ''}`
      : `control plane version (${c.cluster}): unknown: ${c.error ?? 'not found'}`,
  );
  const versions = Object.entries(v.dataPlanes).sort(([a], [b]) => a.localeCompare(b));
  if (versions.length === 0) lines.push('data plane version: none (no proxy is connected)');
  for (const [version, n] of versions) lines.push(`data plane version: ${version} (${n} ${n === 1 ? 'proxy' : 'proxies'})`);
  return lines;
}
