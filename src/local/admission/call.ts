// One webhook call over HTTPS, as kube-apiserver makes it: to clientConfig.url, or to a Service
// (resolved to a ready endpoint, TLS verified for `<service>.<namespace>.svc` against caBundle),
// with `?timeout=<n>s` on the path and an overall deadline.
import { request } from 'node:https';
import { isIP } from 'node:net';
import type { ClientConfig } from './webhook-config.js';
import { splitHostPort } from '../../net/host-port.js';

/** `host:port` of a ready endpoint of the service port, or throws why there is none. */
export type ServiceResolver = (namespace: string, name: string, port: number) => string;

export interface WebhookTarget {
  /** The URL as the API server names it in errors: `https://istiod.istio-system.svc:443/inject?timeout=10s`. */
  displayUrl: string;
  host: string;
  port: number;
  path: string;
  /** TLS server name to send and verify; undefined for IP addresses. */
  servername: string | undefined;
  caPem: string | undefined;
}

export function webhookTarget(config: ClientConfig, timeoutSeconds: number, resolveService: ServiceResolver): WebhookTarget {
  const timeoutQuery = `timeout=${timeoutSeconds}s`;
  if (config.url !== undefined) {
    const url = new URL(config.url);
    if (url.protocol !== 'https:') throw new Error(`webhook clientConfig.url ${JSON.stringify(config.url)} must use the https scheme`);
    url.search = url.search ? `${url.search}&${timeoutQuery}` : `?${timeoutQuery}`;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return {
      displayUrl: url.toString(),
      host,
      port: url.port ? Number(url.port) : 443,
      path: `${url.pathname}${url.search}`,
      servername: isIP(host) ? undefined : host,
      caPem: config.caPem,
    };
  }
  const svc = config.service;
  if (!svc) throw new Error('webhook clientConfig has neither url nor service');
  const serverName = `${svc.name}.${svc.namespace}.svc`;
  const path = `${svc.path.startsWith('/') ? svc.path : `/${svc.path}`}?${timeoutQuery}`;
  const displayUrl = `https://${serverName}:${svc.port}${path}`;
  const endpoint = splitHostPort(resolveService(svc.namespace, svc.name, svc.port), 'resolved endpoint');
  return { displayUrl, host: endpoint.host, port: endpoint.port, path, servername: serverName, caPem: config.caPem };
}

/** POSTs the review and returns the parsed JSON answer; throws on transport errors, non-200 and bad JSON. */
export function postReview(target: WebhookTarget, review: unknown, timeoutMs: number): Promise<unknown> {
  const body = JSON.stringify(review);
  return new Promise((resolve, reject) => {
    let settled = false;
    let deadline: NodeJS.Timeout | undefined;
    const finish = (err: Error | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve(value);
    };
    const req = request(
      {
        host: target.host,
        port: target.port,
        path: target.path,
        method: 'POST',
        ...(target.servername ? { servername: target.servername } : {}),
        ...(target.caPem ? { ca: target.caPem } : {}),
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, */*', 'Content-Length': Buffer.byteLength(body) },
        // One connection per call: webhook calls are rare, and a pooled socket would outlive the test or cluster.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish(err));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            finish(new Error(`an error on the server (${JSON.stringify(text.trim().slice(0, 300))}) has prevented the request from succeeding (HTTP ${status})`));
            return;
          }
          try {
            finish(undefined, JSON.parse(text));
          } catch (err) {
            finish(new Error(`the webhook's answer is not JSON: ${err instanceof Error ? err.message : String(err)}`));
          }
        });
      },
    );
    deadline = setTimeout(() => {
      req.destroy();
      finish(new Error('context deadline exceeded'));
    }, timeoutMs);
    req.on('error', (err) => finish(err));
    req.end(body);
  });
}
