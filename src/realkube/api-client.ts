// JSON requests to a real kube-apiserver as one client-certificate identity (the node, or the binder
// acting as kube-scheduler), and client-node's Watch and KubeConfig for the same identity.
// REST calls are plain HTTPS here rather than client-node's typed APIs: those turn every timestamp into
// a Date, and the kubelet reads and writes objects as the API's JSON (strings), as the store gives them.
import { request } from 'node:https';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { StatusError, type StatusReason } from '../k8s/status.js';

export interface ApiIdentity {
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** For messages: `system:node:cluster-1-node`. */
  user: string;
  /** Sent as User-Agent: the API server names the field manager of a write after its first word (`kubelet`). */
  userAgent: string;
}

export type PatchType = 'application/merge-patch+json' | 'application/strategic-merge-patch+json';

export interface RequestOptions {
  body?: unknown;
  contentType?: PatchType | 'application/json';
  timeoutMs?: number;
}

const KNOWN_REASONS = new Set<StatusReason>(['NotFound', 'AlreadyExists', 'Conflict', 'Invalid', 'BadRequest', 'Unauthorized', 'Forbidden', 'MethodNotAllowed', 'Gone', 'Expired', 'UnsupportedMediaType', 'NotAcceptable', 'InternalError']);

export class ApiClient {
  constructor(readonly identity: ApiIdentity) {}

  /** The parsed JSON answer; a non-2xx answer throws StatusError with the API's code, reason and message. */
  send<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const id = this.identity;
    return new Promise<T>((resolve, reject) => {
      const req = request(
        new URL(path, id.server),
        {
          method,
          ca: id.caPem,
          cert: id.certPem,
          key: id.keyPem,
          timeout: opts.timeoutMs ?? 30_000,
          headers: { accept: 'application/json', 'user-agent': id.userAgent, ...(body !== undefined ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(body) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const code = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            if (code >= 200 && code < 300) {
              resolve(parsed as T);
              return;
            }
            const status = parsed as { reason?: string; message?: string } | undefined;
            const reason = KNOWN_REASONS.has(status?.reason as StatusReason) ? (status!.reason as StatusReason) : code === 404 ? 'NotFound' : code === 409 ? 'Conflict' : code === 403 ? 'Forbidden' : 'InternalError';
            reject(new StatusError(code, reason, `${method} ${path} as ${id.user}: ${status?.message ?? (text.trim() || `HTTP ${code}`)}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} as ${id.user}: no answer within ${(opts.timeoutMs ?? 30_000) / 1000} s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** client-node's configuration for this identity (its Watch streams with it). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    const id = this.identity;
    kc.loadFromOptions({
      clusters: [{ name: 'cluster', server: id.server, caData: Buffer.from(id.caPem).toString('base64'), skipTLSVerify: false }],
      users: [{ name: id.user, certData: Buffer.from(id.certPem).toString('base64'), keyData: Buffer.from(id.keyPem).toString('base64') }],
      contexts: [{ name: 'ctx', cluster: 'cluster', user: id.user }],
      currentContext: 'ctx',
    });
    return kc;
  }

  watcher(): Watch {
    return new Watch(this.kubeConfig());
  }
}

/** Whether a failed write is worth sending again: the API could not be reached or was busy. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof StatusError)) return true; // connection refused, reset, timeout
  return err.code === 429 || err.code >= 500;
}
