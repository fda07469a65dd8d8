// `meshwork up --apiserver real`: every cluster is the real Kubernetes control plane (etcd,
// kube-apiserver and kube-controller-manager v1.34.4, control-plane.ts) hosted by this process, with
// the same address plan, state folder and kubeconfig contexts as the local clusters.
//
// What it does not do yet, and says so at every start: no node joins these clusters (the process
// kubelet works against the in-process store, local/store/store.ts, not a remote API server), so pods
// stay Pending; and the mesh's own parts that need pods (the multi-cluster ingress edges, the Canary
// controller process) are not started. docs/kubernetes-mode.md lists the gaps.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeKubeconfigFile } from '../k8s/kubeconfig.js';
import { clusterNames, subnetOctetFor, type UpOptions } from '../runtime/up.js';
import { claimStateDir, writeUpState, type StatePaths } from '../runtime/state.js';
import { requireKubeBinaries } from './binaries.js';
import { CONTROL_PLANE_PID_FILE, killControlPlaneLeftovers } from '../runtime/leftovers.js';
import { startRealControlPlane, type RealControlPlane } from './control-plane.js';

export const REAL_MODE_GAPS = [
  'no node joins these clusters yet: the process kubelet runs against the in-process store, not a remote API server, so pods stay Pending',
  'kubectl logs/exec/port-forward have no kubelet to reach (the API server answers that the pod has no node)',
  'the multi-cluster ingress controller and the Canary controller process are not started (they need pods)',
];

export function sayRealModeGaps(say: (line: string) => void): void {
  for (const gap of REAL_MODE_GAPS) say(`not yet with --apiserver real: ${gap}`);
}

export async function runUpReal(opts: UpOptions): Promise<{ stop(): Promise<void>; clusters: RealControlPlane[]; paths: StatePaths }> {
  const { paths, log, state } = claimStateDir(opts.stateDir);

  const clusters: RealControlPlane[] = [];
  try {
    const binaries = requireKubeBinaries();
    const names = clusterNames(opts.clusters);
    for (const name of names) refuseLocalClusterFolder(paths.clusterDir(name), paths.dir);
    await killControlPlaneLeftovers(join(paths.dir, 'clusters'), opts.say);
    opts.say(`starting ${names.length} real Kubernetes control plane(s) (etcd, kube-apiserver, kube-controller-manager) ...`);
    const started = await Promise.allSettled(
      names.map((name, i) => startRealControlPlane({ name, subnetOctet: subnetOctetFor(opts.subnetBase, i), dir: paths.clusterDir(name), binaries, log })),
    );
    for (const result of started) if (result.status === 'fulfilled') clusters.push(result.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason as Error;
    for (const [i, c] of clusters.entries()) {
      writeFileSync(join(paths.clusterDir(c.name), CONTROL_PLANE_PID_FILE), `${JSON.stringify(c.pids)}\n`);
      state.clusters.push({ name: c.name, server: c.server, subnetOctet: subnetOctetFor(opts.subnetBase, i) });
      opts.say(`${c.name}: kube-apiserver v1.34.4 at ${c.server}, ClusterIPs in 127.${subnetOctetFor(opts.subnetBase, i) + 1}.0.0/16 (logs: ${c.logDir})`);
    }
    mergeKubeconfigFile(
      paths.kubeconfig,
      clusters.map((c) => ({ name: c.name, server: c.server, caPem: c.caPem, token: c.token })),
      clusters[0]!.name,
    );
  } catch (err) {
    await Promise.allSettled(clusters.map((c) => c.stop()));
    writeUpState(paths, { ...state, error: (err as Error).message });
    throw err;
  }
  sayRealModeGaps(opts.say);
  // No proxies run here, so none is pending: `up -d` returns once the control planes are ready.
  writeUpState(paths, { ...state, ready: true, meshSynced: true, meshPending: [] });

  let stopping: Promise<void> | undefined;
  return {
    clusters,
    paths,
    stop() {
      stopping ??= (async () => {
        await Promise.allSettled(clusters.map((c) => c.stop()));
        writeUpState(paths, { ...state, ready: false, pid: 0 });
      })();
      return stopping;
    },
  };
}

/** A folder with a local cluster's store would mix two kinds of cluster under one name. */
function refuseLocalClusterFolder(dir: string, stateDir: string): void {
  if (existsSync(join(dir, 'store.db'))) {
    throw new Error(`${dir} holds a local cluster (store.db): use another --state-dir for --apiserver real, or \`meshwork down\` and remove ${stateDir}`);
  }
}
