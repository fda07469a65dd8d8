// The node's kubelet API on <InternalIP>:10250 over TLS, where kube-apiserver proxies `kubectl logs`
// (GET /containerLogs/{namespace}/{pod}/{container}). Callers authenticate with a client certificate of
// the cluster CA and must be the API server's kubelet client (or in system:masters): the real kubelet
// asks the API server (SubjectAccessReview) instead; here the one caller is known.
// `kubectl exec` and `port-forward` come as upgrades to SPDY (kubelet-exec.ts, kubelet-portforward.ts).
// attach is not served, and said so (501) in a Status the API server relays to kubectl.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { StatusError } from '../k8s/status.js';
import type { PodRuntime } from '../local/kubelet/runtime.js';
import { serveExecUpgrade } from './kubelet-exec.js';
import { servePortForwardUpgrade } from './kubelet-portforward.js';

export const APISERVER_KUBELET_CLIENT = 'kube-apiserver-kubelet-client';

export interface KubeletServerOptions {
  host: string;
  port: number;
  caPem: string;
  certPem: string;
  keyPem: string;
  runtime: PodRuntime;
  /** Where a pod's ports listen, in the order port-forward tries them; none when the pod is not running here. */
  podAddresses?: (namespace: string, pod: string) => string[];
  nodeName: string;
  log: (line: string) => void;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const server: Server = createServer({ ca: opts.caPem, cert: opts.certPem, key: opts.keyPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    handle(req, res, opts).catch((err: Error) => {
      opts.log(`kubelet server: ${req.method} ${req.url}: ${err.message}`);
      if (!res.headersSent) send(res, 500, err.message);
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const caller = callerOf(req);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const refuse = (code: number, reason: string, message: string) =>
      socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code })}`);
    if (!authorized(caller)) return refuse(403, 'Forbidden', forbiddenMessage(caller, req, url));
    const [root, namespace, pod, container] = parts;
    if (root === 'portForward' && namespace && pod) {
      const addresses = opts.podAddresses?.(namespace, pod) ?? [];
      if (addresses.length === 0) return refuse(404, 'NotFound', `pod ${namespace}/${pod} has no IP on node ${opts.nodeName}`);
      return servePortForwardUpgrade(req, socket, head, { namespace, pod, addresses }, opts.log);
    }
    if (root !== 'exec') return refuse(501, 'NotImplemented', unsupported(root ?? url.pathname, opts.nodeName));
    if (!namespace || !pod || !container) return refuse(400, 'BadRequest', 'expected /exec/{namespace}/{pod}/{container}?command=...');
    serveExecUpgrade(req, socket, head, opts.runtime, { namespace, pod, container, query: url.searchParams }, opts.log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`the kubelet server cannot listen on ${opts.host}:${opts.port}: ${err.message}${err.code === 'EADDRINUSE' ? ' (another node or kubelet holds that port)' : ''}`)),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: opts.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(message.endsWith('\n') ? message : `${message}\n`);
}

/** The client certificate's user and groups (CN, O), as kube-apiserver reads them. */
function callerOf(req: IncomingMessage): { user: string; groups: string[] } | undefined {
  const cert = (req.socket as TLSSocket).getPeerCertificate?.();
  if (!cert || !cert.subject) return undefined;
  const o = cert.subject.O;
  return { user: String(cert.subject.CN ?? ''), groups: o === undefined ? [] : Array.isArray(o) ? o.map(String) : [String(o)] };
}

function authorized(caller: { user: string; groups: string[] } | undefined): boolean {
  return caller !== undefined && (caller.user === APISERVER_KUBELET_CLIENT || caller.groups.includes('system:masters'));
}

function forbiddenMessage(caller: { user: string } | undefined, req: IncomingMessage, url: URL): string {
  return `Forbidden (user=${caller?.user ?? 'unknown'}, verb=${req.method?.toLowerCase()}, path=${url.pathname}): only kube-apiserver's kubelet client may use this kubelet's API`;
}

function unsupported(what: string, nodeName: string): string {
  return `${what} is not supported by node ${nodeName}: the meshwork process kubelet serves logs, exec and port-forward, not ${what}, yet`;
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: KubeletServerOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://kubelet');
  const caller = callerOf(req);
  if (url.pathname === '/healthz') return send(res, 200, 'ok');
  if (!authorized(caller)) return send(res, 403, forbiddenMessage(caller, req, url));
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const [root] = parts;
  if (root === 'containerLogs' && req.method === 'GET') {
    const [, namespace, pod, container] = parts;
    if (!namespace || !pod || !container) return send(res, 400, 'expected /containerLogs/{namespace}/{pod}/{container}');
    return serveLogs(req, res, opts, { namespace, pod, container, query: url.searchParams });
  }
  if (root === 'exec' || root === 'attach' || root === 'portForward' || root === 'run') {
    // A Status, which kube-apiserver's stream upgrade decodes and hands on to kubectl as the error.
    const streaming = root === 'exec' || root === 'portForward';
    const message = streaming ? `${root} needs an upgrade to SPDY/3.1 (kube-apiserver sends one)` : unsupported(root, opts.nodeName);
    res.writeHead(streaming ? 400 : 501, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: streaming ? 'BadRequest' : 'NotImplemented', code: streaming ? 400 : 501 }));
    return;
  }
  return send(res, 404, `${url.pathname} is not served by node ${opts.nodeName} (it serves /containerLogs and /healthz)`);
}

function serveLogs(req: IncomingMessage, res: ServerResponse, opts: KubeletServerOptions, r: { namespace: string; pod: string; container: string; query: URLSearchParams }): void {
  const flag = (name: string) => r.query.get(name) === 'true' || r.query.get(name) === '1';
  const tail = r.query.get('tailLines');
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  let stream;
  try {
    stream = opts.runtime.logs({
      namespace: r.namespace,
      pod: r.pod,
      container: r.container,
      follow: flag('follow'),
      previous: flag('previous'),
      timestamps: flag('timestamps'),
      ...(tail !== null && /^-?\d+$/.test(tail) ? { tailLines: Number(tail) } : {}),
      signal: abort.signal,
    });
  } catch (err) {
    if (err instanceof StatusError) return send(res, err.code, err.message);
    throw err;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'transfer-encoding': 'chunked' });
  stream.on('error', (err: Error) => {
    opts.log(`kubelet server: logs of ${r.namespace}/${r.pod}/${r.container}: ${err.message}`);
    res.end();
  });
  stream.pipe(res);
  req.on('close', () => abort.abort());
}
