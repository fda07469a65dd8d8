// `meshwork control-plane`: one per cluster (multi-primary). Watches its own cluster and every
// cluster its remote secrets name, and serves xDS (ADS) plus the debug port.

import { KubeConfig } from '@kubernetes/client-node';
import { loadDefault, loadKubeConfig } from '../kubeapi/client.js';
import { SnapshotCache } from '../xds/cache.js';
import type { Clock } from '../clock.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import { startDebugServer } from './debug-server.js';
import { MeshSources } from './mesh-sources.js';
import { ProxyPusher } from './pusher.js';
import { ConfigStatusReporter } from './status-reporter.js';
import { IngressStatusSyncer } from './ingress-status.js';
import { DEFAULT_INGRESS_NAMESPACE } from '../ingress/class.js';

export interface ControlPlaneOptions {
  /** The member cluster this control plane runs in (CLUSTER_ID of its proxies). */
  clusterId: string;
  /** Without kubeconfig or context: client-node's default (KUBECONFIG, ~/.kube/config, or in-cluster). */
  kubeconfig?: string;
  context?: string;
  /** Where remote secrets live: istio-system. */
  namespace: string;
  /** The mesh revision this control plane serves (asm-managed-stable): its mesh config is ConfigMap istio-<revision>. */
  revision: string;
  /** istiod's K8S_INGRESS_NS: where Gateways made of Kubernetes Ingresses go and the ingress Service is (default istio-system). */
  ingressNamespace?: string;
  xds: { host: string; port: number };
  debug: { host: string; port: number };
  log: (line: string) => void;
  /** How long to wait for the own cluster's first list before serving anyway (default 30 s). */
  syncTimeoutMs?: number;
  /**
   * Write the analysis findings into the status of the own cluster's Istio config objects (istiod's
   * analysis in status); default true.
   */
  configStatus?: boolean;
  /** For tests. */
  debounce?: { quietMs: number; maxDelayMs: number };
  clock?: Clock;
}

export interface RunningControlPlane {
  stop(): Promise<void>;
  xdsPort: number;
  debugPort: number;
}

export async function runControlPlane(opts: ControlPlaneOptions): Promise<RunningControlPlane> {
  const log = opts.log;
  const kubeConfig = ownKubeConfig(opts);
  const cache = new SnapshotCache();
  // The pusher exists before the sources so that their first events find it.
  let pusher: ProxyPusher | undefined;
  // Created once the caches are synced: findings of a half-listed mesh would be wrong.
  let reporter: ConfigStatusReporter | undefined;
  let ingressStatus: IngressStatusSyncer | undefined;
  const sources = new MeshSources({
    clusterId: opts.clusterId,
    kubeConfig,
    namespace: opts.namespace,
    revision: opts.revision,
    ingressNamespace: opts.ingressNamespace ?? DEFAULT_INGRESS_NAMESPACE,
    onChange: () => pusher?.changed(),
    onConfigStatusChange: () => reporter?.changed(),
    onIngressStatusChange: () => ingressStatus?.changed(),
    log,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  pusher = new ProxyPusher({
    clusterId: opts.clusterId,
    view: sources,
    cache,
    log,
    onRebuilt: () => {
      reporter?.changed();
      // The ingress gateway's Service, or an Ingress's class, may have changed.
      ingressStatus?.changed();
    },
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.debounce ? { debounce: opts.debounce } : {}),
  });
  const push = pusher;

  let xds: RunningXdsServer | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const debug = await startDebugServer({
    host: opts.debug.host,
    port: opts.debug.port,
    pusher: push,
    xds: () => xds?.xds,
    sources: () => sources.status(),
    configStatus: () => reporter?.stats() ?? null,
    log,
  }).catch(async (err: unknown) => {
    push.stop();
    await sources.stop();
    throw new Error(`control-plane ${opts.clusterId}: cannot serve the debug port on ${opts.debug.host}:${opts.debug.port}: ${err instanceof Error ? err.message : String(err)}`);
  });

  // As Istio's discovery server, serve proxies only once the caches reflect the cluster: an empty
  // config pushed to a proxy would take its routes away.
  const synced = await waitFor(() => sources.ready(), opts.syncTimeoutMs ?? 30_000);
  if (!synced) {
    const waiting = sources.status();
    log(`control-plane: ${opts.clusterId}: caches not synced after ${opts.syncTimeoutMs ?? 30_000} ms; serving anyway. ` +
      `Watches: ${JSON.stringify([...waiting.clusters.flatMap((c) => c.watches), ...waiting.config, waiting.secrets].filter((w) => !w.synced))}`);
  }
  await sources.settled();
  if (opts.configStatus ?? true) {
    // Member clusters that do not answer would hold the findings back forever: after the sync
    // timeout, the findings are written with what is known.
    const graceEnds = Date.now() + (opts.syncTimeoutMs ?? 30_000);
    const created = new ConfigStatusReporter({
      kubeConfig,
      config: () => sources.config()[0],
      problems: () => push.problems().problems,
      ready: () => sources.ready() && (sources.allSynced() || Date.now() >= graceEnds),
      log,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    reporter = created;
    graceTimer = setTimeout(() => created.changed(), opts.syncTimeoutMs ?? 30_000);
    graceTimer.unref();
  }
  ingressStatus = new IngressStatusSyncer({ kubeConfig, inputs: () => sources.ingressStatusInputs(), ready: () => sources.ready(), log, ...(opts.clock ? { clock: opts.clock } : {}) });
  push.rebuild();

  try {
    xds = await startXdsServer({
      host: opts.xds.host,
      port: opts.xds.port,
      cache,
      onStreamOpen: (node) => push.onStreamOpen(node),
      onStreamClosed: (node) => push.onStreamClosed(node),
      log: (line) => log(`control-plane: ${line}`),
    });
  } catch (err) {
    push.stop();
    reporter?.stop();
    ingressStatus.stop();
    clearTimeout(graceTimer);
    await debug.close();
    await sources.stop();
    throw new Error(`control-plane ${opts.clusterId}: cannot serve xDS on ${opts.xds.host}:${opts.xds.port}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const running = xds;
  log(`control-plane: ${opts.clusterId} (revision ${opts.revision}) serving xDS on ${opts.xds.host}:${running.port}, debug on ${opts.debug.host}:${debug.port}`);

  let stopping: Promise<void> | undefined;
  return {
    xdsPort: running.port,
    debugPort: debug.port,
    stop() {
      stopping ??= (async () => {
        push.stop();
        reporter?.stop();
        ingressStatus?.stop();
        clearTimeout(graceTimer);
        await running.close();
        await debug.close();
        await sources.stop();
      })();
      return stopping;
    },
  };
}

export function ownKubeConfig(opts: ControlPlaneOptions): KubeConfig {
  if (opts.kubeconfig || opts.context) {
    return loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) });
  }
  return loadDefault(new KubeConfig());
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
