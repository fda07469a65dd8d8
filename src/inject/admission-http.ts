// The HTTP side every admission webhook of the control plane shares (injection on /inject, Istio
// validation on /validate): POST of an AdmissionReview as JSON, bounded body, the review's own
// apiVersion in the answer, and plain-text errors with the status codes the API server expects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdmissionApiVersion, AdmissionRequest, AdmissionResponse, AdmissionReview } from './admission-review.js';
import { parseAdmissionReviewRequest } from './admission-review.js';

/** Reviews are small; anything bigger than this is not one. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface AdmissionEndpoint {
  /** e.g. "injection webhook", in error messages. */
  name: string;
  path: string;
  /** Also serve paths below `path` (the injector's /inject/<options>). */
  subpaths?: boolean;
  /** Log lines are prefixed with it ("inject", "validate"). */
  logPrefix: string;
  log: (line: string) => void;
  /** The verdict on one request; a throw is an internal error (500). */
  review(request: AdmissionRequest, apiVersion: AdmissionApiVersion): AdmissionResponse;
  onBadRequest(): void;
  onInternalError?(): void;
}

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

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function admissionHttpHandler(endpoint: AdmissionEndpoint): (req: IncomingMessage, res: ServerResponse) => void {
  const badRequest = (res: ServerResponse, code: number, text: string): void => {
    endpoint.onBadRequest();
    endpoint.log(`${endpoint.logPrefix}: rejected a webhook call: ${text}`);
    reply(res, code, `${text}\n`);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://webhook').pathname;
    const served = path === endpoint.path || (endpoint.subpaths === true && path.startsWith(`${endpoint.path}/`));
    if (!served) return badRequest(res, 404, `no handler for ${path}; the ${endpoint.name} serves ${endpoint.path}`);
    if (req.method !== 'POST') return badRequest(res, 405, `method ${req.method ?? ''} not allowed; the ${endpoint.name} takes POST`);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') return badRequest(res, 415, `contentType=${contentType || '(none)'}, expect application/json`);
    let body: unknown;
    try {
      const raw = await readBody(req);
      if (raw.length === 0) return badRequest(res, 400, 'no body found');
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      return badRequest(res, 400, `could not read the AdmissionReview: ${message(err)}`);
    }
    let parsed: ReturnType<typeof parseAdmissionReviewRequest>;
    try {
      parsed = parseAdmissionReviewRequest(body);
    } catch (err) {
      return badRequest(res, 400, `could not decode the AdmissionReview: ${message(err)}`);
    }
    const response = endpoint.review(parsed.request, parsed.apiVersion);
    const review: AdmissionReview = { apiVersion: parsed.apiVersion, kind: 'AdmissionReview', response };
    reply(res, 200, review);
  };
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      endpoint.onInternalError?.();
      endpoint.log(`${endpoint.logPrefix}: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      if (!res.headersSent) reply(res, 500, `internal error in the ${endpoint.name}\n`);
      else res.destroy();
    });
  };
}
