// One HTTPS request to a cluster's API server as a kubeconfig's current user (client-node's
// applyToHTTPSOptions: the CA, a client certificate or a token), the answer as text. For calls whose
// JSON must stay as the API wrote it: client-node's typed APIs turn timestamps into Dates and drop keys
// their models do not know (a CRD schema's x-kubernetes-* extensions).
import { request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawResponse {
  status: number;
  text: string;
}

export interface RawRequestOptions {
  body?: { contentType: string; text: string };
  /** Sent besides accept: application/json and the body's content-type (e.g. a User-Agent). */
  headers?: Record<string, string>;
  /** Fails the request when the API server has not answered by then; none when absent. */
  timeoutMs?: number;
}

export async function rawRequest(kc: KubeConfig, method: string, path: string, opts: RawRequestOptions = {}): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(path, cluster.server.endsWith('/') ? cluster.server : `${cluster.server}/`);
  const options: RequestOptions = { method, hostname: url.hostname, port: url.port || 443, path: url.pathname + url.search, headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const { body } = opts;
  options.headers = { ...options.headers, ...opts.headers, ...(body ? { 'content-type': body.contentType, 'content-length': Buffer.byteLength(body.text) } : {}) };
  if (opts.timeoutMs !== undefined) options.timeout = opts.timeoutMs;
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${(opts.timeoutMs ?? 0) / 1000} s`)));
    req.on('error', reject);
    req.end(body?.text);
  });
}
