// Reading Pods as the workload controllers need them: activity, readiness, availability, the order
// in which a ReplicaSet gives pods up, and named container ports.
import type { KubeObject, OwnerReference, StoredObject } from '../../k8s/object.js';
import { isRecord, optArray, optInt, optRecord, optString } from './read.js';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export function podPhase(pod: KubeObject): PodPhase {
  const phase = optString(optRecord(pod.status, 'status')?.phase, 'status.phase');
  switch (phase) {
    case 'Running':
    case 'Succeeded':
    case 'Failed':
    case 'Unknown':
      return phase;
    default:
      return 'Pending';
  }
}

export function isPodTerminal(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Counts toward a ReplicaSet's replicas: not finished and not being deleted. */
export function isPodActive(pod: KubeObject): boolean {
  return !isPodTerminal(pod) && pod.metadata.deletionTimestamp === undefined;
}

interface ReadyCondition {
  ready: boolean;
  /** ms since epoch, when the condition last changed; undefined when not recorded. */
  since?: number;
}

export function podReadyCondition(pod: KubeObject): ReadyCondition {
  const status = optRecord(pod.status, 'status');
  for (const [i, c] of optArray(status?.conditions, 'status.conditions').entries()) {
    if (!isRecord(c) || c.type !== 'Ready') continue;
    const ltt = optString(c.lastTransitionTime, `status.conditions[${i}].lastTransitionTime`);
    const parsed = ltt === undefined ? NaN : Date.parse(ltt);
    return { ready: c.status === 'True', since: Number.isNaN(parsed) ? undefined : parsed };
  }
  return { ready: false };
}

export function isPodReady(pod: KubeObject): boolean {
  return podReadyCondition(pod).ready;
}

/**
 * Ready for at least minReadySeconds. Returns whether it is available now and, when it is ready but not
 * yet available, how long until it will be.
 */
export function podAvailability(pod: KubeObject, minReadySeconds: number, now: number): { available: boolean; inMs?: number } {
  const { ready, since } = podReadyCondition(pod);
  if (!ready) return { available: false };
  if (minReadySeconds <= 0 || since === undefined) return { available: true };
  const at = since + minReadySeconds * 1000;
  return at <= now ? { available: true } : { available: false, inMs: at - now };
}

export function podRestartCount(pod: KubeObject): number {
  const status = optRecord(pod.status, 'status');
  let total = 0;
  for (const cs of optArray(status?.containerStatuses, 'status.containerStatuses')) {
    if (isRecord(cs) && typeof cs.restartCount === 'number') total += cs.restartCount;
  }
  return total;
}

export function podNodeName(pod: KubeObject): string | undefined {
  return optString(optRecord(pod.spec, 'spec')?.nodeName, 'spec.nodeName') || undefined;
}

export function podIP(pod: KubeObject): string | undefined {
  return optString(optRecord(pod.status, 'status')?.podIP, 'status.podIP') || undefined;
}

const PHASE_RANK: Record<PodPhase, number> = { Pending: 0, Unknown: 1, Running: 2, Succeeded: 3, Failed: 3 };

/**
 * Orders pods so that the ones to delete first come first, as the ReplicaSet controller's ActivePods
 * ordering: unscheduled, then pending, then not ready, then ready for the shortest time, then the most
 * restarted, then the newest.
 */
export function compareForDeletion(a: StoredObject, b: StoredObject): number {
  const nodeA = podNodeName(a) ? 1 : 0;
  const nodeB = podNodeName(b) ? 1 : 0;
  if (nodeA !== nodeB) return nodeA - nodeB;
  const phaseA = PHASE_RANK[podPhase(a)];
  const phaseB = PHASE_RANK[podPhase(b)];
  if (phaseA !== phaseB) return phaseA - phaseB;
  const readyA = podReadyCondition(a);
  const readyB = podReadyCondition(b);
  if (readyA.ready !== readyB.ready) return readyA.ready ? 1 : -1;
  if (readyA.ready && readyA.since !== readyB.since) return (readyB.since ?? Infinity) - (readyA.since ?? Infinity);
  const restartsA = podRestartCount(a);
  const restartsB = podRestartCount(b);
  if (restartsA !== restartsB) return restartsB - restartsA;
  const createdA = Date.parse(a.metadata.creationTimestamp);
  const createdB = Date.parse(b.metadata.creationTimestamp);
  if (createdA !== createdB) return createdB - createdA;
  // Same second: the later write (higher resourceVersion of creation is unknown) - fall back to name.
  return b.metadata.name < a.metadata.name ? -1 : b.metadata.name > a.metadata.name ? 1 : 0;
}

/** The owner reference with controller: true, if any. */
export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  const refs = obj.metadata.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  return refs.find((r) => r.controller === true);
}

/**
 * The container port a Service's named targetPort refers to, as podutil.FindPort: the first container
 * port with that name and the service port's protocol.
 */
export function findNamedContainerPort(pod: KubeObject, name: string, protocol: string): number | undefined {
  const spec = optRecord(pod.spec, 'spec');
  for (const [ci, container] of optArray(spec?.containers, 'spec.containers').entries()) {
    if (!isRecord(container)) continue;
    for (const [pi, port] of optArray(container.ports, `spec.containers[${ci}].ports`).entries()) {
      if (!isRecord(port) || port.name !== name) continue;
      const portProtocol = optString(port.protocol, `spec.containers[${ci}].ports[${pi}].protocol`) ?? 'TCP';
      if (portProtocol !== protocol) continue;
      return optInt(port.containerPort, `spec.containers[${ci}].ports[${pi}].containerPort`);
    }
  }
  return undefined;
}
