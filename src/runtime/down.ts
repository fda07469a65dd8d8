// `meshwork down`: stop the hosting process (it stops its pods on SIGTERM). Pods outlive a hosting
// process that was killed (their monitors keep them running), and so do edge Envoys: without a live
// host, down stops what the kubelets and the edges recorded.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killRecordedEnvoys } from '../envoy/pid-records.js';
import { ProcessRegistry } from '../local/kubelet/process-registry.js';
import { removeRecordedPodNetwork } from '../local/kubelet/pod-network-host.js';
import { killLeftoverController } from './canary-controller-process.js';
import { killControlPlaneLeftovers } from './leftovers.js';
import { isAlive, readUpState, statePaths, type StatePaths } from './state.js';

/** Kills the pods every cluster's kubelet recorded (verified through /proc), the edge Envoys and the canary controller; removes recorded pod networks. */
export async function killOrphans(paths: StatePaths, say: (line: string) => void): Promise<number> {
  killRecordedEnvoys(paths.edgePids, say);
  killLeftoverController(paths, say);
  const clustersDir = join(paths.dir, 'clusters');
  let killed = await killControlPlaneLeftovers(clustersDir, say);
  if (existsSync(clustersDir)) {
    for (const name of readdirSync(clustersDir)) {
      const pids = join(paths.clusterDir(name), 'kubelet', 'pids.json');
      if (existsSync(pids)) killed += await new ProcessRegistry(pids, say).killLeftovers();
    }
  }
  // Pod network namespaces, the bridge and the ClusterIP route a killed host left (the pods in them are gone now).
  removeRecordedPodNetwork(paths.dir, say);
  return killed;
}

export async function runDown(stateDir: string, say: (line: string) => void, graceMs = 20_000): Promise<void> {
  const paths = statePaths(stateDir);
  const state = readUpState(paths);
  if (!state || !state.pid || !isAlive(state.pid)) {
    const killed = await killOrphans(paths, say);
    say(`no meshwork running for ${paths.dir}${killed > 0 ? `: stopped ${killed} pod processes it left running` : ''}`);
    return;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(state.pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(state.pid)) {
    say(`pid ${state.pid} did not stop within ${graceMs / 1000} s: killing it and the pods it left running`);
    process.kill(state.pid, 'SIGKILL');
    while (isAlive(state.pid)) await sleep(20);
  }
  // A host that stopped on SIGTERM stopped its pods; one that was dying already (killed a moment ago) did not.
  const killed = await killOrphans(paths, say);
  say(`stopped ${state.clusters.map((c) => c.name).join(', ') || 'meshwork'}${killed > 0 ? ` and ${killed} pod processes it left running` : ''} (state kept in ${paths.dir})`);
}
