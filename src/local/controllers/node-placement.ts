// Which nodes a DaemonSet's pod belongs on, pure, as the daemon controller decides it
// (NodeShouldRunDaemonPod): the template's nodeSelector, its required node affinity, and the node's
// NoSchedule/NoExecute taints against the pod's tolerations plus those every daemon pod gets. A
// daemon pod is pinned to its node by a required node affinity on metadata.name, as the controller
// writes it for the scheduler.
import type { KubeObject } from '../../k8s/object.js';
import type { JsonObject } from './read.js';
import { cloneJson, isRecord, optArray, optRecord, optString, optStringMap } from './read.js';

type Requirement = { key: string; operator: string; values: string[] };

function requirements(value: unknown, path: string): Requirement[] {
  return optArray(value, path).map((raw, i) => {
    const r = optRecord(raw, `${path}[${i}]`) ?? {};
    return {
      key: optString(r.key, `${path}[${i}].key`) ?? '',
      operator: optString(r.operator, `${path}[${i}].operator`) ?? '',
      values: optArray(r.values, `${path}[${i}].values`).filter((v): v is string => typeof v === 'string'),
    };
  });
}

/** A node selector requirement (labels or fields) against the node's value of its key. */
function requirementHolds(r: Requirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const have = Number(value);
      const want = Number(r.values[0]);
      if (value === undefined || !Number.isInteger(have) || !Number.isInteger(want)) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** The required node affinity's terms (ORed); undefined when there is none. */
function requiredTerms(podSpec: JsonObject): unknown[] | undefined {
  const required = optRecord(optRecord(optRecord(podSpec.affinity, 'affinity')?.nodeAffinity, 'affinity.nodeAffinity')?.requiredDuringSchedulingIgnoredDuringExecution, 'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution');
  return required ? optArray(required.nodeSelectorTerms, 'nodeSelectorTerms') : undefined;
}

function termMatches(term: unknown, i: number, labels: Record<string, string>, nodeName: string): boolean {
  const t = optRecord(term, `nodeSelectorTerms[${i}]`) ?? {};
  const exprs = requirements(t.matchExpressions, `nodeSelectorTerms[${i}].matchExpressions`);
  const fields = requirements(t.matchFields, `nodeSelectorTerms[${i}].matchFields`);
  // An empty term matches no node.
  if (exprs.length === 0 && fields.length === 0) return false;
  return exprs.every((r) => requirementHolds(r, labels[r.key])) && fields.every((r) => requirementHolds(r, r.key === 'metadata.name' ? nodeName : undefined));
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

function readTolerations(podSpec: JsonObject): Toleration[] {
  return optArray(podSpec.tolerations, 'tolerations').filter(isRecord).map((t) => ({
    key: optString(t.key, 'tolerations.key'),
    operator: optString(t.operator, 'tolerations.operator'),
    value: optString(t.value, 'tolerations.value'),
    effect: optString(t.effect, 'tolerations.effect'),
  }));
}

function tolerates(t: Toleration, taint: { key: string; value: string; effect: string }): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if ((t.operator ?? 'Equal') === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === taint.value;
}

/** The tolerations every daemon pod gets (AddOrUpdateDaemonPodTolerations), so node conditions do not evict it. */
export function withDaemonTolerations(podSpec: JsonObject): JsonObject[] {
  const existing = optArray(podSpec.tolerations, 'tolerations').filter(isRecord).map((t) => cloneJson(t));
  const add: Array<[string, string]> = [
    ['node.kubernetes.io/not-ready', 'NoExecute'],
    ['node.kubernetes.io/unreachable', 'NoExecute'],
    ['node.kubernetes.io/disk-pressure', 'NoSchedule'],
    ['node.kubernetes.io/memory-pressure', 'NoSchedule'],
    ['node.kubernetes.io/pid-pressure', 'NoSchedule'],
    ['node.kubernetes.io/unschedulable', 'NoSchedule'],
  ];
  if (podSpec.hostNetwork === true) add.push(['node.kubernetes.io/network-unavailable', 'NoSchedule']);
  for (const [key, effect] of add) {
    if (!existing.some((t) => t.key === key && t.effect === effect)) existing.push({ key, operator: 'Exists', effect });
  }
  return existing;
}

/** Whether the daemon pod of this template should run on the node; when not, why. */
export function nodeShouldRunDaemonPod(node: KubeObject, podSpec: JsonObject): { run: boolean; reason?: string } {
  const labels = node.metadata.labels ?? {};
  const nodeName = node.metadata.name ?? '';
  const selector = optStringMap(podSpec.nodeSelector, 'nodeSelector') ?? {};
  const mismatch = Object.entries(selector).find(([k, v]) => labels[k] !== v);
  if (mismatch) return { run: false, reason: `node ${nodeName} does not match nodeSelector ${mismatch[0]}=${mismatch[1]}` };
  const terms = requiredTerms(podSpec);
  if (terms && !terms.some((t, i) => termMatches(t, i, labels, nodeName))) return { run: false, reason: `node ${nodeName} does not match the required node affinity` };
  const tolerations = readTolerations({ tolerations: withDaemonTolerations(podSpec) });
  for (const raw of optArray(optRecord(node.spec, 'spec')?.taints, 'spec.taints')) {
    if (!isRecord(raw)) continue;
    const taint = { key: String(raw.key ?? ''), value: String(raw.value ?? ''), effect: String(raw.effect ?? '') };
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => tolerates(t, taint))) return { run: false, reason: `node ${nodeName} has taint ${taint.key}:${taint.effect} the pod does not tolerate` };
  }
  return { run: true };
}

/** The pod's affinity with its required node terms replaced by "this node" (ReplaceDaemonSetPodNodeNameNodeAffinity). */
export function affinityForNode(podSpec: JsonObject, nodeName: string): JsonObject {
  const affinity = cloneJson(optRecord(podSpec.affinity, 'affinity') ?? {});
  const nodeAffinity = optRecord(affinity.nodeAffinity, 'affinity.nodeAffinity') ?? {};
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
  };
  affinity.nodeAffinity = nodeAffinity;
  return affinity;
}

/** The node a daemon pod is on or is pinned to (GetTargetNodeName). */
export function targetNodeOf(pod: KubeObject): string | undefined {
  const spec = optRecord(pod.spec, 'spec') ?? {};
  const bound = optString(spec.nodeName, 'spec.nodeName');
  if (bound) return bound;
  for (const [i, term] of (requiredTerms(spec) ?? []).entries()) {
    for (const r of requirements(optRecord(term, `nodeSelectorTerms[${i}]`)?.matchFields, 'matchFields')) {
      if (r.key === 'metadata.name' && r.operator === 'In' && r.values.length === 1) return r.values[0];
    }
  }
  return undefined;
}
