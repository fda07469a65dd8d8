// Pod phase and conditions from container states, following the kubelet's own rules (getPhase and
// the status generator of pkg/kubelet/status), as pure functions.
import type { ContainerStatus, PodCondition, PodPhase, RestartPolicy } from './pod-types.js';

export function podPhase(opts: {
  restartPolicy: RestartPolicy;
  initDone: boolean;
  initFailed: boolean;
  containers: readonly ContainerStatus[];
}): PodPhase {
  if (!opts.initDone) return opts.initFailed && opts.restartPolicy === 'Never' ? 'Failed' : 'Pending';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of opts.containers) {
    if ('running' in s.state) running++;
    else if ('terminated' in s.state) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState.terminated) stopped++; // restarting after a crash: has run before
    else waiting++;
  }
  const n = opts.containers.length;
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped === n) {
    if (opts.restartPolicy === 'Always') return 'Running';
    if (succeeded === n) return 'Succeeded';
    if (opts.restartPolicy === 'OnFailure') return 'Running';
    return 'Failed';
  }
  return 'Pending';
}

type Desired = Pick<PodCondition, 'type' | 'status' | 'reason' | 'message'>;

export function desiredConditions(opts: {
  phase: PodPhase;
  initDone: boolean;
  initPending: readonly string[];
  containers: readonly ContainerStatus[];
}): Desired[] {
  const unready = opts.containers.filter((c) => !c.ready).map((c) => c.name);
  const completed = opts.phase === 'Succeeded' || opts.phase === 'Failed';
  const notReady = (reason: string, message: string): Pick<Desired, 'status' | 'reason' | 'message'> => ({ status: 'False', reason, message });
  const readiness =
    completed && opts.phase === 'Succeeded'
      ? notReady('PodCompleted', '')
      : unready.length > 0
        ? notReady('ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`)
        : { status: 'True' as const };
  const initialized = opts.initDone
    ? { status: 'True' as const, ...(completed && opts.phase === 'Succeeded' ? { reason: 'PodCompleted' } : {}) }
    : notReady('ContainersNotInitialized', `containers with incomplete status: [${opts.initPending.join(' ')}]`);
  const conditions: Desired[] = [
    { type: 'Initialized', ...initialized },
    { type: 'Ready', ...readiness },
    { type: 'ContainersReady', ...readiness },
    { type: 'PodScheduled', status: 'True' },
  ];
  return conditions.map(dropEmpty);
}

function dropEmpty(c: Desired): Desired {
  const out: Desired = { type: c.type, status: c.status };
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  return out;
}

/** Conditions with lastTransitionTime kept from `previous` unless the status flipped. */
export function mergeConditions(previous: readonly PodCondition[] | undefined, desired: readonly Desired[], now: string): PodCondition[] {
  return desired.map((d) => {
    const prev = previous?.find((p) => p.type === d.type);
    const lastTransitionTime = prev && prev.status === d.status ? prev.lastTransitionTime : now;
    return { ...d, lastProbeTime: null, lastTransitionTime };
  });
}
