// `meshwork up --apiserver real`: every cluster is the real Kubernetes control plane (etcd,
// kube-apiserver and kube-controller-manager v1.34.4, control-plane.ts) hosted by this process, with
// the same address plan, state folder and kubeconfig contexts as the local clusters.
//
// One node joins each cluster once its control plane is ready (node.ts: the process kubelet over the
// real API server), so pods run as on the local clusters. The mesh runs on them (mesh-real.ts):
// `meshwork install` into each, its control plane in this process outside the cluster (Kubernetes
// mode, as the cluster's istiod service account), `create-mesh`. What it does not do yet is said at
// every start (REAL_MODE_GAPS); docs/kubernetes-mode.md lists the gaps.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeKubeconfigFile } from '../k8s/kubeconfig.js';
import { clusterNames, subnetOctetFor, type UpOptions } from '../runtime/up.js';
import { claimStateDir, writeUpState, type StatePaths } from '../runtime/state.js';
import { requireKubeBinaries } from './binaries.js';
import { CONTROL_PLANE_PID_FILE, killControlPlaneLeftovers } from '../runtime/leftovers.js';
import { startRealControlPlane, type RealControlPlane } from './control-plane.js';
import { realMeshLines, startRealMesh, type RealMesh } from './mesh-real.js';
import { startRealNode, type RealNode } from './node.js';

export const REAL_MODE_GAPS = [
  'Services have no endpoints: kube-apiserver v1.34.4 refuses loopback pod IPs (127.s.x.y) in EndpointSlices and Endpoints, so the EndpointSlice controller cannot list the pods (the mesh control planes make the endpoints from the pods; kube-proxy and DNS have none)',
  'ClusterIPs do not answer: no kube-proxy runs on the node',
  'kubectl attach is refused by the node (logs, exec and port-forward work)',
  'the multi-cluster ingress controller and the Canary controller process are not started',
];

/** The mesh `up` runs on the clusters (when given), then what the real mode does not do yet. */
export function sayRealModeGaps(say: (line: string) => void, clusters: ReadonlyArray<{ name: string; subnetOctet: number }> = []): void {
  for (const line of realMeshLines(clusters)) say(line);
  for (const gap of REAL_MODE_GAPS) say(`not yet with --apiserver real: ${gap}`);
}

export async function runUpReal(opts: UpOptions): Promise<{ stop(): Promise<void>; clusters: RealControlPlane[]; nodes: RealNode[]; paths: StatePaths }> {
  const { paths, log, state } = claimStateDir(opts.stateDir);

  const clusters: RealControlPlane[] = [];
  const nodes: RealNode[] = [];
  let mesh: RealMesh | undefined;
  // The mesh's control planes first, then nodes: their pods stop (by PID) while the API server still takes their last writes.
  const stopAll = async () => {
    await mesh?.stop();
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await Promise.allSettled(clusters.map((c) => c.stop()));
  };
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
    const joined = await Promise.allSettled(
      clusters.map((c, i) => startRealNode({ cluster: c, nodeName: `${c.name}-node`, subnetOctet: subnetOctetFor(opts.subnetBase, i), stateDir: join(paths.clusterDir(c.name), 'kubelet'), log })),
    );
    for (const result of joined) if (result.status === 'fulfilled') nodes.push(result.value);
    const notJoined = joined.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (notJoined) throw notJoined.reason as Error;
    for (const n of nodes) opts.say(`${n.nodeName}: joined, Ready (the process kubelet; kubelet API on :10250)`);
    mesh = await startRealMesh({ clusters: clusters.map((plane, i) => ({ plane, subnetOctet: subnetOctetFor(opts.subnetBase, i) })), kubeconfig: paths.kubeconfig, meshCaDir: join(paths.dir, 'mesh-ca'), log });
  } catch (err) {
    await stopAll();
    writeUpState(paths, { ...state, error: (err as Error).message });
    throw err;
  }
  sayRealModeGaps(opts.say, state.clusters);
  // Fresh clusters have no proxies yet, and those of pods found at start reconnect by themselves: `up -d` returns once the control planes serve.
  writeUpState(paths, { ...state, ready: true, meshSynced: true, meshPending: [] });

  let stopping: Promise<void> | undefined;
  return {
    clusters,
    nodes,
    paths,
    stop() {
      stopping ??= (async () => {
        await stopAll();
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
