// Small HTTP helpers shared by the handlers: bodies in, JSON and Status objects out.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { StatusError, badRequest } from '../../k8s/status.js';
import { PROTOBUF_MEDIA_TYPE, decodeKubernetesProtobuf } from './protobuf.js';

/** Bodies above this are refused, as the apiserver refuses requests over 3 MiB. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new StatusError(413, 'BadRequest', 'the request body is too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** The media type of a request without parameters: 'application/merge-patch+json'. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/** Decodes a JSON (or YAML, which the apiserver also accepts) request body into a plain object. */
export function decodeObjectBody(body: Buffer, contentType: string | undefined): Record<string, unknown> {
  const type = mediaType(contentType);
  // kubectl's typed generators (`kubectl create namespace|configmap|secret ...`) send protobuf.
  if (type === PROTOBUF_MEDIA_TYPE) return decodeKubernetesProtobuf(body);
  if (type !== '' && type !== 'application/json' && type !== 'application/yaml' && type !== '*/*') {
    throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  let value: unknown;
  try {
    value = type === 'application/yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
  }
  if (!isPlainObject(value)) throw badRequest('the body of the request must be a JSON object');
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-cache, private',
    ...headers,
  });
  res.end(text);
}

export function sendStatusError(res: ServerResponse, err: StatusError): void {
  sendJson(res, err.code, err.toJSON());
}

/** Any thrown value as a StatusError: unexpected errors become a 500 that still carries their message. */
export function toStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
}

export function notFoundPath(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function methodNotAllowed(method: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`, {});
}

/** Reads a boolean query parameter the way the apiserver does ('true', '1'). */
export function queryBool(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  return v === 'true' || v === '1';
}

export function queryInt(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid value for query parameter ${name}: "${v}"`);
  return n;
}

/** One entry of an Accept header: media type plus its parameters (as=Table, g=..., v=...). */
export interface AcceptEntry {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): AcceptEntry[] {
  if (!header) return [];
  return header
    .split(',')
    .map((part) => {
      const [type, ...rest] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
      }
      return { type: type.toLowerCase(), params };
    })
    .filter((e) => e.type !== '');
}

/** True when the client accepts plain JSON (or anything): the apiserver's default answer. */
export function acceptsJson(entries: AcceptEntry[]): boolean {
  if (entries.length === 0) return true;
  return entries.some(
    (e) => (e.type === 'application/json' && e.params.as === undefined) || e.type === '*/*' || e.type === 'application/*',
  );
}
