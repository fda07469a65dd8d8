// The HTTP fault filter: decide, per request, whether to delay and/or abort it. The most specific
// config wins (route, then virtual host, then the listener's filter config), as Envoy's
// typed_per_filter_config overrides the filter's own config.

import type { FaultConfig } from '../model/fault.js';

export interface FaultDecision {
  delayMs: number;
  abort: { status: number; grpcStatus: number | undefined } | undefined;
}

export function effectiveFault(levels: readonly (FaultConfig | undefined)[]): FaultConfig | undefined {
  for (let i = levels.length - 1; i >= 0; i--) if (levels[i]) return levels[i];
  return undefined;
}

export function decideFault(config: FaultConfig | undefined, random: () => number): FaultDecision {
  if (!config) return { delayMs: 0, abort: undefined };
  const delayMs = config.delay && random() < config.delay.fraction ? config.delay.delayMs : 0;
  const abort = config.abort && random() < config.abort.fraction ? { status: config.abort.status, grpcStatus: config.abort.grpcStatus } : undefined;
  return { delayMs, abort };
}
