// `meshwork down`: stop the hosting process (it stops its pods on SIGTERM).
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, readUpState, statePaths } from './state.js';

export async function runDown(stateDir: string, say: (line: string) => void, graceMs = 20_000): Promise<void> {
  const paths = statePaths(stateDir);
  const state = readUpState(paths);
  if (!state || !state.pid || !isAlive(state.pid)) {
    say(`no meshwork running for ${paths.dir}`);
    return;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(state.pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(state.pid)) {
    say(`pid ${state.pid} did not stop within ${graceMs / 1000} s: killing it (its pods are cleaned up by the next \`meshwork up\`)`);
    process.kill(state.pid, 'SIGKILL');
  }
  say(`stopped ${state.clusters.map((c) => c.name).join(', ') || 'meshwork'} (state kept in ${paths.dir})`);
}
