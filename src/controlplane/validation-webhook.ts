// istiod's validating admission webhook: POST /validate with an AdmissionReview of an Istio object,
// answered allowed, or denied with Istio's message (`configuration is invalid: ...`). The control
// plane mounts it on its HTTPS webhook server (15017) beside /inject; `meshwork install` points the
// ValidatingWebhookConfiguration `istio-validator-<rev>-istio-system` at it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatIstioErrors, validateIstioObject } from '../config/istio-validation/validate.js';
import type { AdmissionResponse, AdmissionReview } from '../inject/admission-review.js';
import { parseAdmissionReviewRequest } from '../inject/admission-review.js';

export const VALIDATE_PATH = '/validate';
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const GROUPS = new Set(['networking.istio.io', 'security.istio.io']);

export interface ValidationWebhookStats {
  allowed: number;
  denied: number;
  badRequests: number;
}

export type ValidationWebhookHandler = ((req: IncomingMessage, res: ServerResponse) => void) & { stats: ValidationWebhookStats };

function reply(res: ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The verdict on one review's request: what istiod's webhook answers. */
export function reviewIstioObject(request: ReturnType<typeof parseAdmissionReviewRequest>['request']): AdmissionResponse {
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
  const badRequest = (res: ServerResponse, code: number, message: string): void => {
    stats.badRequests++;
    opts.log(`validate: rejected a webhook call: ${message}`);
    reply(res, code, `${message}\n`);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://webhook').pathname;
    if (path !== VALIDATE_PATH) return badRequest(res, 404, `no handler for ${path}; the validation webhook serves ${VALIDATE_PATH}`);
    if (req.method !== 'POST') return badRequest(res, 405, `method ${req.method ?? ''} not allowed; the validation webhook takes POST`);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') return badRequest(res, 415, `contentType=${contentType || '(none)'}, expect application/json`);
    let parsed: ReturnType<typeof parseAdmissionReviewRequest>;
    try {
      const raw = await readBody(req);
      if (raw.length === 0) return badRequest(res, 400, 'no body found');
      parsed = parseAdmissionReviewRequest(JSON.parse(raw.toString('utf8')));
    } catch (err) {
      return badRequest(res, 400, `could not decode the AdmissionReview: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { request } = parsed;
    const response = reviewIstioObject(request);
    if (response.allowed) stats.allowed++;
    else {
      stats.denied++;
      opts.log(`validate: ${request.kind.kind} ${request.namespace ?? ''}/${request.name ?? ''} denied: ${response.status?.message ?? ''}`);
    }
    const review: AdmissionReview = { apiVersion: parsed.apiVersion, kind: 'AdmissionReview', response };
    reply(res, 200, review);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      opts.log(`validate: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      if (!res.headersSent) reply(res, 500, 'internal error in the validation webhook\n');
      else res.destroy();
    });
  };
  return Object.assign(handler, { stats });
}
