// What the dashboard reads of one kubeconfig context each refresh (I/O): its pods, its Istio config, its
// Canaries and MultiClusterIngresses through the API server; through its control plane's debug port
// (found as every mesh command finds it) the proxies it serves (/debug/syncz), its member cluster's id and
// the services of the mesh (/debug/registry), and how far each config change has reached
// (/debug/config_distribution). Whatever cannot be read becomes a plain line in `problems`; the rest is
// still returned.
//
// Exports: ClusterRead, readCluster.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { AppliedConfig } from '../mesh-cli/intent/model.js';
import { readAppliedConfig } from '../mesh-cli/applied-config.js';
import { getJson, locateControlPlane } from '../mesh-cli/control-plane.js';
import { errorMessage } from '../mesh-cli/io.js';
import { imageVersion } from '../mesh-cli/mesh-versions.js';
import { syncRows } from '../mesh-cli/proxy-status.js';
import { apiErrorCode, apiErrorMessage } from '../k8s/client/client.js';
import { fetchFailure } from '../net/fetch-error.js';
import { CANARY_GROUP, CANARY_PLURAL, CANARY_VERSION, type Canary } from '../config/canary/types.js';
import type { ConfigChange, ConfigDistributionReport } from '../controlplane/propagation-report.js';
import type { ClusterInfo } from './model.js';
import { registryServices } from './inventory.js';
import { listMcis, type MciObject } from './mci-source.js';
import type { ServiceInventory } from './topology.js';

export interface ClusterRead {
  context: string;
  info: ClusterInfo;
  pods: V1Pod[];
  services: ServiceInventory[];
  config?: AppliedConfig;
  canaries: Canary[];
  mcis: MciObject[];
  changes: ConfigChange[];
  problems: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The control plane's own cluster in its /debug/registry (the one it does not watch through a remote secret). */
function ownClusterId(registry: unknown): string | undefined {
  if (!isObject(registry) || !Array.isArray(registry.clusters)) return undefined;
  const own = registry.clusters.find((c) => isObject(c) && c.remote === false);
  return isObject(own) && typeof own.clusterId === 'string' && own.clusterId ? own.clusterId : undefined;
}

/** GET /debug/config_distribution; undefined when the control plane predates it (404). */
async function configDistribution(baseUrl: string, timeoutMs: number): Promise<ConfigDistributionReport | undefined> {
  const url = `${baseUrl}/debug/config_distribution`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(`GET ${url} failed: ${fetchFailure(err)}`);
  }
  if (res.status === 404) return undefined;
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as ConfigDistributionReport;
  if (!isObject(body) || !Array.isArray(body.changes)) throw new Error(`GET ${url}: not a ConfigDistributionReport (no changes list)`);
  return body;
}

async function listCanaries(kc: KubeConfig): Promise<Canary[]> {
  try {
    const list = (await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: CANARY_GROUP, version: CANARY_VERSION, plural: CANARY_PLURAL })) as { items?: Canary[] };
    return list.items ?? [];
  } catch (err) {
    // A cluster without the Canary kind has no canaries.
    if (apiErrorCode(err) === 404) return [];
    throw new Error(`cannot list ${CANARY_PLURAL}.${CANARY_GROUP}: ${apiErrorMessage(err)}`);
  }
}

/** Everything of one context; never throws. `kc`'s current context is `context`. */
export async function readCluster(kc: KubeConfig, context: string, timeoutMs = 5_000): Promise<ClusterRead> {
  const problems: string[] = [];
  const say = (what: string, err: unknown) => problems.push(`${context}: ${what}: ${errorMessage(err).replace(`context ${context}: `, '')}`);
  const guard = async <T>(what: string, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (err) {
      say(what, err);
      return undefined;
    }
  };
  const [pods, config, canaries, mcis, cp] = await Promise.all([
    guard('cannot list pods', async () => (await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces()).items),
    guard('Istio config not read (no splits)', () => readAppliedConfig(kc)),
    guard('Canaries not read', () => listCanaries(kc)),
    guard('MultiClusterIngresses not read', () => listMcis(kc)),
    guard('control plane not found', () => locateControlPlane(kc)),
  ]);
  const info: ClusterInfo = { name: context, context, controlPlane: { reachable: false, proxies: 0 } };
  const services: ServiceInventory[] = [];
  let changes: ConfigChange[] = [];
  if (cp) {
    const pod = pods?.find((p) => p.metadata?.name === cp.pod && p.metadata?.namespace);
    const image = pod?.spec?.containers[0]?.image;
    const [syncz, registry, distribution] = await Promise.all([
      guard('control plane /debug/syncz', () => getJson(cp.url, '/debug/syncz', timeoutMs)),
      guard('control plane /debug/registry', () => getJson(cp.url, '/debug/registry', timeoutMs)),
      guard('config propagation not read', () => configDistribution(cp.url, timeoutMs)),
    ]);
    info.controlPlane = {
      reachable: syncz !== undefined || registry !== undefined,
      proxies: 0,
      ...(image ? { version: imageVersion(image) } : {}),
    };
    if (syncz !== undefined) {
      try {
        info.controlPlane.proxies = syncRows(syncz, { istiod: cp.pod ?? cp.url, context }).filter((r) => r.status.state !== 'DISCONNECTED').length;
      } catch (err) {
        say('control plane /debug/syncz', err);
      }
    }
    if (registry !== undefined) {
      info.name = ownClusterId(registry) ?? context;
      try {
        services.push(...registryServices(registry));
      } catch (err) {
        say('control plane /debug/registry', err);
      }
    }
    if (distribution === undefined && !problems.some((p) => p.includes('config propagation'))) {
      problems.push(`${context}: its control plane does not serve /debug/config_distribution (an older version): no propagation for its proxies`);
    }
    changes = distribution?.changes ?? [];
    if (!info.controlPlane.reachable) info.controlPlane.error = problems.find((p) => p.includes('/debug/')) ?? 'no answer';
  } else {
    info.controlPlane.error = problems.find((p) => p.includes('control plane not found')) ?? 'not found';
  }
  return {
    context,
    info,
    pods: pods ?? [],
    services,
    ...(config ? { config } : {}),
    canaries: canaries ?? [],
    mcis: mcis ?? [],
    changes,
    problems,
  };
}
