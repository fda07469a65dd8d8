// Canary webhooks (Flagger's pre-step and confirm-promotion): an HTTP POST with a JSON body naming the
// canary, the step and the weights; 2xx within the timeout is ok, anything else is not.
//
// Exports: callWebhooks(hooks, payload) -> WebhookOutcome[], WebhookPayload.
import { fetchFailure } from '../net/fetch-error.js';
import type { WebhookOutcome } from './plan.js';
import type { ResolvedWebhook } from '../config/canary/spec.js';

export interface WebhookPayload {
  name: string;
  namespace: string;
  phase: string;
  /** Index of the step about to be written. */
  step: number;
  canaryWeight: number;
  weights: Record<string, number>;
}

async function callOne(hook: ResolvedWebhook, payload: WebhookPayload): Promise<WebhookOutcome> {
  const base = { name: hook.name, type: hook.type };
  try {
    const res = await fetch(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...payload, type: hook.type, webhook: hook.name }),
      signal: AbortSignal.timeout(hook.timeoutMs),
    });
    await res.arrayBuffer();
    return { ...base, ok: res.status >= 200 && res.status < 300, message: `HTTP ${res.status}` };
  } catch (err) {
    if ((err as { name?: string }).name === 'TimeoutError') return { ...base, ok: false, message: `no answer within ${hook.timeout ?? `${hook.timeoutMs}ms`}` };
    return { ...base, ok: false, message: fetchFailure(err) };
  }
}

/** Calls every hook of the given types, in parallel. */
export async function callWebhooks(hooks: readonly ResolvedWebhook[], types: ReadonlyArray<WebhookOutcome['type']>, payload: WebhookPayload): Promise<WebhookOutcome[]> {
  return Promise.all(hooks.filter((h) => types.includes(h.type)).map((h) => callOne(h, payload)));
}
