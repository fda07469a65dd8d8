// `meshwork up` in the foreground: hosts every local cluster in this process until SIGINT/SIGTERM.
import { mergeKubeconfigFile } from '../k8s/kubeconfig.js';
import { startLocalCluster, type LocalCluster } from '../local/cluster.js';
import { MciController } from '../mci/controller.js';
import { ControllerProcess, controllerProcessPaths } from './canary-controller-process.js';
import { unsyncedProxies } from './mesh-ready.js';
import { claimStateDir, writeUpState, type StatePaths } from './state.js';
import { PodNetworkHost } from '../local/kubelet/pod-network-host.js';
import { clusterNetworkBlocks, describeBlock, meshNetworkPlan } from '../local/pod-network-addresses.js';
import { podUserAccessProblem } from './interception-option.js';

const MESH_SYNC_POLL_MS = 500;

export interface UpOptions {
  clusters: number;
  stateDir: string;
  /** Cluster i gets 127.<subnetBase + 10*(i-1)>.0.0/16. */
  subnetBase: number;
  /** Progress lines for the user. */
  say: (line: string) => void;
  /** `iptables`: pods the injector captures run in network namespaces of their own (root; docs/interception.md). */
  interception?: 'http_proxy' | 'iptables';
}

/** The pod network goes after its pods; what cannot be removed stays recorded for `down` and is logged. */
function tearDownLogged(podNetwork: PodNetworkHost | undefined, log: (line: string) => void): void {
  try {
    podNetwork?.tearDown();
  } catch (err) {
    log((err as Error).message);
  }
}

export function clusterNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `cluster-${i + 1}`);
}

export function subnetOctetFor(base: number, index: number): number {
  return base + 10 * index;
}

export async function runUp(opts: UpOptions): Promise<{ stop(): Promise<void>; clusters: LocalCluster[]; paths: StatePaths }> {
  const { paths, log, state } = claimStateDir(opts.stateDir);

  const clusters: LocalCluster[] = [];
  let podNetwork: PodNetworkHost | undefined;
  try {
    if (opts.interception === 'iptables') {
      const problem = podUserAccessProblem(paths.dir);
      if (problem) throw new Error(problem);
      podNetwork = PodNetworkHost.open(paths.dir, meshNetworkPlan(opts.subnetBase), log);
    }
    const names = clusterNames(opts.clusters);
    const blocksOf = (i: number) => clusterNetworkBlocks(opts.subnetBase, subnetOctetFor(opts.subnetBase, i));
    const started = await Promise.all(
      names.map((name, i) =>
        startLocalCluster({
          name, subnetOctet: subnetOctetFor(opts.subnetBase, i), dir: paths.clusterDir(name), log,
          ...(podNetwork ? { podNetwork: { host: podNetwork, blocks: blocksOf(i) } } : {}),
        }),
      ),
    );
    clusters.push(...started);
    for (const [i, c] of started.entries()) {
      state.clusters.push({ name: c.name, server: c.server, subnetOctet: subnetOctetFor(opts.subnetBase, i) });
      const captured = podNetwork ? `; pods captured by iptables in ${describeBlock(blocksOf(i).pods)} on ${podNetwork.plan.bridge}, ClusterIPs in ${describeBlock(blocksOf(i).services)}` : '';
      opts.say(`${c.name}: API server ${c.server}, pods in 127.${subnetOctetFor(opts.subnetBase, i)}.0.0/16${captured}`);
    }
    mergeKubeconfigFile(
      paths.kubeconfig,
      started.map((c) => ({ name: c.name, server: c.server, caPem: c.caPem, token: c.token })),
      started[0].name,
    );
  } catch (err) {
    await Promise.allSettled(clusters.map((c) => c.stop()));
    tearDownLogged(podNetwork, log);
    writeUpState(paths, { ...state, error: (err as Error).message });
    throw err;
  }
  // The local stand-in for GKE's hub-managed multi-cluster ingress: cluster-1 is the config cluster,
  // every local cluster a member; its VIPs come from cluster-1's service range, so two state folders
  // never share one.
  const mci = new MciController({
    configContext: clusters[0].name,
    memberContexts: clusters.map((c) => c.name),
    kubeconfig: paths.kubeconfig,
    vipRange: { prefix: `127.${subnetOctetFor(opts.subnetBase, 0) + 1}.255`, first: 1, last: 254 },
    // Edge Envoys a killed previous run left serving are adopted by their MCI's edge, or killed.
    pidRecords: paths.edgePids,
    edgesDir: paths.edgesDir,
    log: (line) => log(`mci ${line}`),
  });
  mci.start();
  // The Canary controller, as its own process against the config cluster (cluster-1).
  const canaryController = new ControllerProcess({ ...controllerProcessPaths(paths), context: clusters[0].name, log: (line) => log(line) });
  canaryController.start();
  state.ready = true;
  writeUpState(paths, state);

  let stopping: Promise<void> | undefined;
  // Pods a previous run left running were adopted; their proxies are current only once their control
  // planes (adopted too) have found the API servers again and pushed. `up -d` waits for this.
  void (async () => {
    let last = '';
    while (!stopping) {
      const pending = await unsyncedProxies(clusters).catch((err: Error) => [`cannot tell: ${err.message}`]);
      if (stopping) return;
      const text = pending.join('\n');
      if (text !== last || pending.length === 0) writeUpState(paths, { ...state, meshSynced: pending.length === 0, meshPending: pending });
      last = text;
      if (pending.length === 0) return;
      await new Promise((r) => setTimeout(r, MESH_SYNC_POLL_MS));
    }
  })();
  return {
    clusters,
    paths,
    stop() {
      stopping ??= (async () => {
        await Promise.allSettled([mci.stop(), canaryController.stop()]);
        await Promise.allSettled(clusters.map((c) => c.stop()));
        tearDownLogged(podNetwork, log);
        writeUpState(paths, { ...state, ready: false, pid: 0 });
      })();
      return stopping;
    },
  };
}
