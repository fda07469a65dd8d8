// Retry policy decisions, as Envoy's retry_on: which outcomes are retriable and how long to back off.

import type { RetryCondition, RetryPolicy } from '../model/route.js';
import type { UpstreamFailureKind } from './types.js';

export type AttemptOutcome = { kind: 'status'; status: number; grpcStatus?: number } | { kind: 'failure'; failure: UpstreamFailureKind } | { kind: 'per-try-timeout' };

/** Envoy's gRPC retry_on conditions by the grpc-status they retry. */
const GRPC_CONDITIONS: Record<number, RetryCondition> = { 1: 'cancelled', 4: 'deadline-exceeded', 8: 'resource-exhausted', 13: 'internal', 14: 'unavailable' };

export function isRetriable(policy: RetryPolicy | undefined, outcome: AttemptOutcome): boolean {
  if (!policy || policy.numRetries <= 0) return false;
  const on = policy.retryOn;
  switch (outcome.kind) {
    case 'status': {
      const s = outcome.status;
      if (on.has('5xx') && s >= 500) return true;
      if (on.has('gateway-error') && (s === 502 || s === 503 || s === 504)) return true;
      if (on.has('retriable-4xx') && s === 409) return true;
      if (outcome.grpcStatus !== undefined && GRPC_CONDITIONS[outcome.grpcStatus] !== undefined && on.has(GRPC_CONDITIONS[outcome.grpcStatus]!)) return true;
      return on.has('retriable-status-codes') && policy.retriableStatusCodes.includes(s);
    }
    case 'per-try-timeout':
      // Envoy treats a per-try timeout as a 504 for retry purposes.
      return on.has('5xx') || on.has('gateway-error');
    case 'failure':
      if (outcome.failure === 'aborted') return false;
      if (outcome.failure === 'connect-failure') return on.has('connect-failure') || on.has('5xx') || on.has('gateway-error');
      if (outcome.failure === 'refused-stream') return on.has('refused-stream') || on.has('5xx') || on.has('reset');
      return on.has('reset') || on.has('5xx');
  }
}

/** Envoy's back-off: uniformly random in [0, min(max, base * (2^n - 1))], n = retries so far + 1. */
export function retryBackoffMs(policy: RetryPolicy, retryNumber: number, random: () => number): number {
  const ceiling = Math.min(policy.backOffMaxMs, policy.backOffBaseMs * (2 ** (retryNumber + 1) - 1));
  return random() * ceiling;
}
