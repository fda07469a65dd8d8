// The real control planes' processes a killed `meshwork up --apiserver real` left running: their PIDs
// are recorded in clusters/<name>/control-plane-pids.json; one still running one of our binaries
// (checked through /proc/<pid>/exe, so a reused PID is left alone) is killed by the next `up` or by `down`.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processRunning } from '../os/proc.js';

export const CONTROL_PLANE_PID_FILE = 'control-plane-pids.json';
const COMPONENTS = new Set(['etcd', 'kube-apiserver', 'kube-controller-manager']);

/** Kills the recorded control-plane processes of every cluster under `clustersDir`; returns how many. */
export async function killControlPlaneLeftovers(clustersDir: string, say: (line: string) => void): Promise<number> {
  if (!existsSync(clustersDir)) return 0;
  let killed = 0;
  for (const cluster of readdirSync(clustersDir)) {
    const file = join(clustersDir, cluster, CONTROL_PLANE_PID_FILE);
    if (!existsSync(file)) continue;
    const recorded = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
    for (const [component, pid] of Object.entries(recorded)) {
      if (!COMPONENTS.has(component) || !processRunning(pid)) continue;
      let exe: string;
      try {
        exe = realpathSync(`/proc/${pid}/exe`);
      } catch {
        continue;
      }
      if (basename(exe) !== component) continue; // the PID now belongs to something else
      say(`${cluster}: stopping ${component} (pid ${pid}) left running by an earlier \`meshwork up --apiserver real\``);
      process.kill(pid, 'SIGKILL');
      // Its ports must be free before a new one binds them.
      for (let waited = 0; processRunning(pid) && waited < 5000; waited += 50) await sleep(50);
      killed++;
    }
  }
  return killed;
}
