// `meshwork down`: stop the hosting process (it stops its pods on SIGTERM).
import { setTimeout as sleep } from 'node:timers/promises';
import { killRecordedEnvoys } from '../envoy/pid-records.js';
import { isAlive, readUpState, statePaths } from './state.js';

export async function runDown(stateDir: string, say: (line: string) => void, graceMs = 20_000): Promise<void> {
  const paths = statePaths(stateDir);
  const state = readUpState(paths);
  // Edge Envoys outlive a host that was killed (by a crash, or below): theirs are recorded.
  const killLeftovers = () => killRecordedEnvoys(paths.edgePids, say);
  if (!state || !state.pid || !isAlive(state.pid)) {
    killLeftovers();
    say(`no meshwork running for ${paths.dir}`);
    return;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(state.pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(state.pid)) {
    say(`pid ${state.pid} did not stop within ${graceMs / 1000} s: killing it (its pods are cleaned up by the next \`meshwork up\`)`);
    process.kill(state.pid, 'SIGKILL');
    killLeftovers();
  }
  say(`stopped ${state.clusters.map((c) => c.name).join(', ') || 'meshwork'} (state kept in ${paths.dir})`);
}
