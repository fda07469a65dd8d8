// Status conditions of workload objects (Deployment, ReplicaSet): read, and set the way
// k8s.io/kubernetes/pkg/controller/deployment/util does (a condition whose status does not change keeps
// its lastTransitionTime).
import { MalformedObjectError, isRecord, optArray, optString } from './read.js';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export function readConditions(value: unknown, path: string): Condition[] {
  return optArray(value, path).map((raw, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(raw)) throw new MalformedObjectError(at, 'an object', raw);
    const type = optString(raw.type, `${at}.type`);
    const status = optString(raw.status, `${at}.status`);
    if (!type) throw new MalformedObjectError(`${at}.type`, 'a condition type', raw.type);
    if (status !== 'True' && status !== 'False' && status !== 'Unknown') throw new MalformedObjectError(`${at}.status`, 'True, False or Unknown', raw.status);
    const cond: Condition = { type, status };
    const lastUpdateTime = optString(raw.lastUpdateTime, `${at}.lastUpdateTime`);
    const lastTransitionTime = optString(raw.lastTransitionTime, `${at}.lastTransitionTime`);
    const reason = optString(raw.reason, `${at}.reason`);
    const message = optString(raw.message, `${at}.message`);
    if (lastUpdateTime !== undefined) cond.lastUpdateTime = lastUpdateTime;
    if (lastTransitionTime !== undefined) cond.lastTransitionTime = lastTransitionTime;
    if (reason !== undefined) cond.reason = reason;
    if (message !== undefined) cond.message = message;
    return cond;
  });
}

export function findCondition(conditions: readonly Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

/**
 * Sets a condition in place. Same status and reason: nothing changes (not even lastUpdateTime), as
 * SetDeploymentCondition; same status, other reason: lastTransitionTime is kept.
 */
export function setCondition(conditions: Condition[], next: Condition): void {
  const i = conditions.findIndex((c) => c.type === next.type);
  const current = i >= 0 ? conditions[i] : undefined;
  if (current && current.status === next.status && current.reason === next.reason) return;
  const cond = { ...next };
  if (current && current.status === next.status && current.lastTransitionTime) cond.lastTransitionTime = current.lastTransitionTime;
  if (i >= 0) conditions[i] = cond;
  else conditions.push(cond);
}

export function removeCondition(conditions: Condition[], type: string): void {
  const i = conditions.findIndex((c) => c.type === type);
  if (i >= 0) conditions.splice(i, 1);
}
