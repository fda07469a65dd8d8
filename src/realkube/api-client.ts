// JSON requests to a real kube-apiserver as one client-certificate identity (the node, or the binder
// acting as kube-scheduler), and client-node's Watch and KubeConfig for the same identity.
// REST calls go through k8s/client/raw-request.ts rather than client-node's typed APIs: those turn every
// timestamp into a Date, and the kubelet reads and writes objects as the API's JSON (strings), as the store gives them.
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { rawRequest } from '../k8s/client/raw-request.js';
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
  private readonly config: KubeConfig;

  constructor(readonly identity: ApiIdentity) {
    this.config = this.kubeConfig();
  }

  /** The parsed JSON answer; a non-2xx answer throws StatusError with the API's code, reason and message. */
  async send<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const id = this.identity;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const body = opts.body === undefined ? undefined : { contentType: opts.contentType ?? 'application/json', text: JSON.stringify(opts.body) };
    const { status: code, text } = await rawRequest(this.config, method, path, { ...(body ? { body } : {}), headers: { 'user-agent': id.userAgent }, timeoutMs });
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (code >= 200 && code < 300) return parsed as T;
    const status = parsed as { reason?: string; message?: string } | undefined;
    const reason = KNOWN_REASONS.has(status?.reason as StatusReason) ? (status!.reason as StatusReason) : code === 404 ? 'NotFound' : code === 409 ? 'Conflict' : code === 403 ? 'Forbidden' : 'InternalError';
    throw new StatusError(code, reason, `${method} ${path} as ${id.user}: ${status?.message ?? (text.trim() || `HTTP ${code}`)}`);
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
    return new Watch(this.config);
  }
}

/** Whether a failed write is worth sending again: the API could not be reached or was busy. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof StatusError)) return true; // connection refused, reset, timeout
  return err.code === 429 || err.code >= 500;
}
