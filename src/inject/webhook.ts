// The injection webhook as the API server calls it: POST /inject with an AdmissionReview, answered
// with the review's response (allowed, plus a JSONPatch that adds the proxy). The control plane
// mounts this handler on its HTTPS server (port 15017, the port the firewall opens for the webhook).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { admissionHttpHandler } from './admission-http.js';
import type { AdmissionRequest, AdmissionResponse } from './admission-review.js';
import type { InjectionContext } from './inject.js';
import { injectPod } from './inject.js';

export const INJECT_PATH = '/inject';

export interface InjectionWebhookOptions {
  /** Read on every review, so the control plane can change the xDS address without a restart. */
  injection: InjectionContext | (() => InjectionContext);
  log: (line: string) => void;
}

export interface InjectionWebhookStats {
  injected: number;
  skipped: number;
  failed: number;
  badRequests: number;
}

export type InjectionWebhookHandler = ((req: IncomingMessage, res: ServerResponse) => void) & { stats: InjectionWebhookStats };

export function createInjectionWebhook(opts: InjectionWebhookOptions): InjectionWebhookHandler {
  const stats: InjectionWebhookStats = { injected: 0, skipped: 0, failed: 0, badRequests: 0 };
  const contextNow = (): InjectionContext => (typeof opts.injection === 'function' ? opts.injection() : opts.injection);

  const review = (request: AdmissionRequest): AdmissionResponse => {
    const where = `${request.namespace ?? ''}/${request.name || '(generated name)'}`;
    if (request.kind.group !== '' || request.kind.kind !== 'Pod' || request.operation !== 'CREATE') {
      stats.failed++;
      return {
        uid: request.uid,
        allowed: false,
        status: { code: 400, message: `the injection webhook handles pod creation only, got ${request.operation} of ${request.kind.kind}` },
      };
    }
    try {
      const result = injectPod(request.object, { ...contextNow(), ...(request.namespace ? { namespace: request.namespace } : {}) });
      if (result.skipped) {
        stats.skipped++;
        opts.log(`inject: pod ${where}: skipped: ${result.skipped}`);
        return { uid: request.uid, allowed: true };
      }
      stats.injected++;
      opts.log(`inject: pod ${where}: injected (${result.patch.length} patch operations)`);
      for (const warning of result.warnings ?? []) opts.log(`inject: pod ${where}: warning: ${warning}`);
      return {
        uid: request.uid,
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(result.patch)).toString('base64'),
        ...(result.warnings ? { warnings: result.warnings } : {}),
      };
    } catch (err) {
      // As Istio: an injection that cannot be done refuses the pod (with failurePolicy Fail the
      // API server then refuses it too) rather than letting it run without its proxy.
      stats.failed++;
      const message = `injection failed for pod ${where}: ${err instanceof Error ? err.message : String(err)}`;
      opts.log(`inject: ${message}`);
      return { uid: request.uid, allowed: false, status: { code: 500, message } };
    }
  };
  const handler = admissionHttpHandler({
    name: 'injection webhook',
    path: INJECT_PATH,
    subpaths: true,
    logPrefix: 'inject',
    log: opts.log,
    review,
    onBadRequest: () => stats.badRequests++,
    onInternalError: () => stats.failed++,
  });
  return Object.assign(handler, { stats });
}
