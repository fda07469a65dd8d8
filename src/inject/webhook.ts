// The injection webhook as the API server calls it: POST /inject with an AdmissionReview, answered
// with the review's response (allowed, plus a JSONPatch that adds the proxy). The control plane
// mounts this handler on its HTTPS server (port 15017, the port the firewall opens for the webhook).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdmissionApiVersion, AdmissionResponse, AdmissionReview } from './admission-review.js';
import { parseAdmissionReviewRequest } from './admission-review.js';
import type { InjectionContext } from './inject.js';
import { injectPod } from './inject.js';

export const INJECT_PATH = '/inject';
/** Pods are small; anything bigger than this is not a pod review. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

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

export function createInjectionWebhook(opts: InjectionWebhookOptions): InjectionWebhookHandler {
  const stats: InjectionWebhookStats = { injected: 0, skipped: 0, failed: 0, badRequests: 0 };
  const contextNow = (): InjectionContext => (typeof opts.injection === 'function' ? opts.injection() : opts.injection);

  const badRequest = (res: ServerResponse, code: number, message: string): void => {
    stats.badRequests++;
    opts.log(`inject: rejected a webhook call: ${message}`);
    reply(res, code, `${message}\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://webhook').pathname;
    if (path !== INJECT_PATH && !path.startsWith(`${INJECT_PATH}/`)) return badRequest(res, 404, `no handler for ${path}; the injection webhook serves ${INJECT_PATH}`);
    if (req.method !== 'POST') return badRequest(res, 405, `method ${req.method ?? ''} not allowed; the injection webhook takes POST`);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') return badRequest(res, 415, `contentType=${contentType || '(none)'}, expect application/json`);
    let body: unknown;
    try {
      const raw = await readBody(req);
      if (raw.length === 0) return badRequest(res, 400, 'no body found');
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      return badRequest(res, 400, `could not read the AdmissionReview: ${err instanceof Error ? err.message : String(err)}`);
    }
    let parsed: ReturnType<typeof parseAdmissionReviewRequest>;
    try {
      parsed = parseAdmissionReviewRequest(body);
    } catch (err) {
      return badRequest(res, 400, `could not decode the AdmissionReview: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { request } = parsed;
    const where = `${request.namespace ?? ''}/${request.name || '(generated name)'}`;
    let response: AdmissionResponse;
    if (request.kind.group !== '' || request.kind.kind !== 'Pod' || request.operation !== 'CREATE') {
      stats.failed++;
      response = {
        uid: request.uid,
        allowed: false,
        status: { code: 400, message: `the injection webhook handles pod creation only, got ${request.operation} of ${request.kind.kind}` },
      };
    } else {
      try {
        const result = injectPod(request.object, { ...contextNow(), ...(request.namespace ? { namespace: request.namespace } : {}) });
        if (result.skipped) {
          stats.skipped++;
          opts.log(`inject: pod ${where}: skipped: ${result.skipped}`);
          response = { uid: request.uid, allowed: true };
        } else {
          stats.injected++;
          opts.log(`inject: pod ${where}: injected (${result.patch.length} patch operations)`);
          response = { uid: request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(result.patch)).toString('base64') };
        }
      } catch (err) {
        // As Istio: an injection that cannot be done refuses the pod (with failurePolicy Fail the
        // API server then refuses it too) rather than letting it run without its proxy.
        stats.failed++;
        const message = `injection failed for pod ${where}: ${err instanceof Error ? err.message : String(err)}`;
        opts.log(`inject: ${message}`);
        response = { uid: request.uid, allowed: false, status: { code: 500, message } };
      }
    }
    const review: AdmissionReview = { apiVersion: parsed.apiVersion satisfies AdmissionApiVersion, kind: 'AdmissionReview', response };
    reply(res, 200, review);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      stats.failed++;
      opts.log(`inject: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      if (!res.headersSent) reply(res, 500, 'internal error in the injection webhook\n');
      else res.destroy();
    });
  };
  return Object.assign(handler, { stats });
}
