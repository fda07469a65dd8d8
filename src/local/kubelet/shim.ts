// The container monitor, conmon's (or containerd-shim's) job: one small process per container instance,
// started by the kubelet in a session of its own. It starts the container's process group, holds its
// pipes, writes its output into the CRI log file and records its exit status in a state file. The
// kubelet may die and a later one adopt the container: nothing the container needs lives in the
// kubelet's process. While its kubelet lives, the monitor tells it the container's process group over
// the IPC channel; the kubelet learns the rest from the state file once the monitor has exited.
//   node shim.(js|ts) <spec.json>
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ContainerLog } from './container-log.js';
import { exitCodeOf } from './exec.js';
import { killGroup } from './process-registry.js';
import { writeShimState as writeState, type ShimMessage, type ShimSpec, type ShimState } from './shim-protocol.js';

function tell(message: ShimMessage): void {
  // The kubelet that started us may be gone: the state file is what counts, the message is a courtesy.
  if (process.connected) process.send?.(message, undefined, undefined, () => undefined);
}

function main(specFile: string): void {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as ShimSpec;
  const state: ShimState = { shimPid: process.pid };
  // Our kubelet's death closes the IPC channel; the container keeps running and we keep monitoring it.
  process.on('disconnect', () => undefined);
  // Terminal and session signals are not ours to act on; SIGTERM is passed on to the container.
  for (const sig of ['SIGINT', 'SIGHUP', 'SIGPIPE'] as const) process.on(sig, () => undefined);
  const log = new ContainerLog(spec.log.dir, spec.log.namespace, spec.log.pod, spec.log.container, spec.log.rotation);
  const fail = (message: string): void => {
    log.note(`[kubelet] cannot start container: ${message}`);
    writeState(spec.stateFile, { ...state, error: message });
    if (process.connected) process.disconnect();
  };
  let child: ChildProcess;
  try {
    child = spawn(spec.argv[0], spec.argv.slice(1), { cwd: spec.cwd, env: spec.env, detached: true, stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  } catch (err) {
    fail((err as Error).message);
    return;
  }
  if (child.pid === undefined) {
    child.once('error', (err) => fail(err.message));
    return;
  }
  const pgid = child.pid;
  process.on('SIGTERM', () => killGroup(pgid, 'SIGTERM'));
  child.stdin?.on('error', () => undefined); // the container closed its stdin: nothing to do
  state.pgid = pgid;
  state.startedMs = Date.now();
  writeState(spec.stateFile, state);
  tell({ type: 'started', pgid, startedMs: state.startedMs });
  const captured = Promise.all([log.capture(child.stdout!, 'stdout'), log.capture(child.stderr!, 'stderr')]);
  child.on('exit', (code, signal) => {
    // The main process is gone: like a container runtime, end whatever else is in its group.
    killGroup(pgid, 'SIGKILL');
    void captured.then(() => {
      const exit = { code: exitCodeOf(code, signal), signal, finishedMs: Date.now() };
      writeState(spec.stateFile, { ...state, exit });
      child.stdin?.destroy();
      if (process.connected) process.disconnect();
    });
  });
}

const specFile = process.argv[2];
if (!specFile) {
  console.error('usage: shim <spec.json>');
  process.exit(2);
}
main(specFile);
