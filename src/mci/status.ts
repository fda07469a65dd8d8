// The status a MultiClusterIngress shows: `VIP` (as GKE writes it) and a `Ready` condition whose reason
// says what is wrong when the edge cannot follow the spec. The edge keeps serving its last good
// configuration meanwhile, and the message says so.

export interface MciCondition {
  type: 'Ready';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface MciStatus {
  VIP?: string;
  conditions: MciCondition[];
  /** Gateways the edge balances over, per cluster: `cluster-1: 1/1 healthy`. */
  gateways?: Record<string, string>;
}

export type MciOutcome =
  | { ok: true; vip: string; gateways: Record<string, string> }
  | { ok: false; reason: string; message: string; vip?: string; servingLastGoodConfig: boolean };

export function desiredStatus(outcome: MciOutcome, previous: Record<string, unknown>, now: Date): MciStatus {
  const condition: Omit<MciCondition, 'lastTransitionTime'> = outcome.ok
    ? { type: 'Ready', status: 'True', reason: 'EdgeServing', message: `the edge serves http://${outcome.vip}/ over the healthy gateways of every member cluster` }
    : {
        type: 'Ready',
        status: 'False',
        reason: outcome.reason,
        message: outcome.servingLastGoodConfig ? `${outcome.message}; the edge keeps serving its last good configuration` : outcome.message,
      };
  const old = previousCondition(previous);
  const lastTransitionTime = old && old.status === condition.status && old.reason === condition.reason && typeof old.lastTransitionTime === 'string' ? old.lastTransitionTime : now.toISOString();
  const vip = outcome.vip;
  return {
    ...(vip ? { VIP: vip } : {}),
    conditions: [{ ...condition, lastTransitionTime }],
    ...(outcome.ok ? { gateways: outcome.gateways } : {}),
  };
}

/** Patching only on a real change keeps the status's resourceVersion (and watchers) quiet. */
export function statusChanged(previous: Record<string, unknown>, next: MciStatus): boolean {
  const keys = ['VIP', 'conditions', 'gateways'] as const;
  return keys.some((k) => JSON.stringify(previous[k] ?? null) !== JSON.stringify(next[k] ?? null));
}

function previousCondition(previous: Record<string, unknown>): Record<string, unknown> | undefined {
  const conditions = previous.conditions;
  if (!Array.isArray(conditions)) return undefined;
  const ready: unknown = conditions.find((c: unknown) => typeof c === 'object' && c !== null && (c as { type?: unknown }).type === 'Ready');
  return typeof ready === 'object' && ready !== null ? (ready as Record<string, unknown>) : undefined;
}
