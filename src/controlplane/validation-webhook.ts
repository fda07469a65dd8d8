// istiod's validating admission webhook: POST /validate with an AdmissionReview of an Istio object,
// answered allowed, or denied with Istio's message (`configuration is invalid: ...`). The control
// plane mounts it on its HTTPS webhook server (15017) beside /inject; `meshwork install` points the
// ValidatingWebhookConfiguration `istio-validator-<rev>-istio-system` at it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatIstioErrors, validateIstioObject } from '../config/istio-validation/validate.js';
import { admissionHttpHandler } from '../inject/admission-http.js';
import type { AdmissionRequest, AdmissionResponse } from '../inject/admission-review.js';

export const VALIDATE_PATH = '/validate';
const GROUPS = new Set(['networking.istio.io', 'security.istio.io']);

export interface ValidationWebhookStats {
  allowed: number;
  denied: number;
  badRequests: number;
}

export type ValidationWebhookHandler = ((req: IncomingMessage, res: ServerResponse) => void) & { stats: ValidationWebhookStats };

/** The verdict on one review's request: what istiod's webhook answers. */
export function reviewIstioObject(request: AdmissionRequest): AdmissionResponse {
  const allowed: AdmissionResponse = { uid: request.uid, allowed: true };
  // Deletes and other groups pass, as with istiod (its rules only send Istio groups).
  if (request.operation === 'DELETE' || request.operation === 'CONNECT' || !GROUPS.has(request.kind.group)) return allowed;
  const obj = request.object;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return { uid: request.uid, allowed: false, status: { code: 400, message: 'cannot decode configuration: the request has no object' } };
  }
  const o = obj as { kind?: unknown; metadata?: { name?: string; namespace?: string }; spec?: unknown };
  const result = validateIstioObject({
    kind: request.kind.kind,
    metadata: { ...(o.metadata?.name !== undefined ? { name: o.metadata.name } : {}), ...(request.namespace ? { namespace: request.namespace } : {}) },
    spec: o.spec,
  });
  const warnings = result.warnings.map((w) => `${w.message} (${w.field})`);
  if (result.errors.length > 0) {
    return { uid: request.uid, allowed: false, status: { code: 400, message: formatIstioErrors(result.errors) }, ...(warnings.length ? { warnings } : {}) };
  }
  return { ...allowed, ...(warnings.length ? { warnings } : {}) };
}

export function createValidationWebhook(opts: { log: (line: string) => void }): ValidationWebhookHandler {
  const stats: ValidationWebhookStats = { allowed: 0, denied: 0, badRequests: 0 };
  const handler = admissionHttpHandler({
    name: 'validation webhook',
    path: VALIDATE_PATH,
    logPrefix: 'validate',
    log: opts.log,
    review(request) {
      const response = reviewIstioObject(request);
      if (response.allowed) stats.allowed++;
      else {
        stats.denied++;
        opts.log(`validate: ${request.kind.kind} ${request.namespace ?? ''}/${request.name ?? ''} denied: ${response.status?.message ?? ''}`);
      }
      return response;
    },
    onBadRequest: () => stats.badRequests++,
  });
  return Object.assign(handler, { stats });
}
