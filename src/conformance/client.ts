// Sends one case request to one target (HTTP/1.1, h2c or a gRPC call) and records what came back.

import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { testPki } from './tls-pki.js';
import type { CaseRequest, Observation, UpstreamView } from './case.js';
import { sendL4 } from './l4-client.js';
import { ECHO_SERVICE } from './upstream.js';

export const DEFAULT_HOST = 'example.test';

export interface TargetClient {
  send(req: CaseRequest, key: string): Promise<Observation>;
  close(): void;
}

function flat(h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !k.startsWith(':')) out[k] = Array.isArray(v) ? v.join(',') : String(v);
  return out;
}

function echoOf(body: string, headers: Record<string, string>): UpstreamView | undefined {
  if (headers['x-upstream'] === undefined || !headers['content-type']?.startsWith('application/json')) return undefined;
  try {
    return JSON.parse(body) as UpstreamView;
  } catch {
    return undefined;
  }
}

export function targetClient(address: { host: string; port: number }): TargetClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let session: http2.ClientHttp2Session | undefined;
  const grpcClients = new Map<string, grpc.Client>();

  const h1 = (req: CaseRequest, headers: Record<string, string>): Promise<Observation> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const r = http.request({ host: address.host, port: address.port, method: req.method ?? 'GET', path: req.path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          const hs = flat(res.headers);
          resolve({ status: res.statusCode ?? 0, upstream: hs['x-upstream'], headers: hs, body, upstreamSaw: echoOf(body, hs), elapsedMs: performance.now() - started });
        });
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(req.body);
    });

  const h2 = (req: CaseRequest, headers: Record<string, string>): Promise<Observation> =>
    new Promise((resolve, reject) => {
      if (!session || session.closed || session.destroyed) session = http2.connect(`http://${address.host}:${address.port}`);
      const started = performance.now();
      const { host, ...rest } = headers;
      const stream = session.request({ ':method': req.method ?? 'GET', ':path': req.path, ':authority': host, ...rest });
      let status = 0;
      let hs: Record<string, string> = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[':status']);
        hs = flat(h);
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status, upstream: hs['x-upstream'], headers: hs, body, upstreamSaw: echoOf(body, hs), elapsedMs: performance.now() - started });
      });
      stream.on('error', reject);
      stream.end(req.body);
    });

  const grpcCall = (req: CaseRequest, headers: Record<string, string>): Promise<Observation> => {
    const authority = headers['host'] ?? DEFAULT_HOST;
    let client = grpcClients.get(authority);
    if (!client) {
      client = new grpc.Client(`${address.host}:${address.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority });
      grpcClients.set(authority, client);
    }
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) if (k !== 'host') metadata.set(k, v);
    const def = ECHO_SERVICE['Echo']!;
    const started = performance.now();
    return new Promise((resolve) => {
      let responseHeaders: Record<string, string> = {};
      const call = client.makeUnaryRequest(
        req.path || def.path,
        def.requestSerialize,
        def.responseDeserialize as (b: Buffer) => Buffer,
        Buffer.from(req.message ?? 'hello'),
        metadata,
        { deadline: Date.now() + 5000 },
        (error: grpc.ServiceError | null, value?: Buffer) => {
          const body = value?.toString() ?? '';
          let upstream: string | undefined;
          try {
            upstream = (JSON.parse(body) as { upstream?: string }).upstream;
          } catch {
            upstream = undefined;
          }
          resolve({
            status: 200,
            upstream,
            grpcStatus: error ? error.code : grpc.status.OK,
            headers: responseHeaders,
            body: error ? error.details : body,
            elapsedMs: performance.now() - started,
          });
        },
      );
      call.on('metadata', (m: grpc.Metadata) => {
        responseHeaders = Object.fromEntries(Object.entries(m.getMap()).map(([k, v]) => [k, String(v)]));
      });
    });
  };

  /** HTTP over TLS, a new connection per request (each may present another certificate). */
  const overTls = (req: CaseRequest, headers: Record<string, string>): Promise<Observation> =>
    new Promise((resolve) => {
      const started = performance.now();
      const pki = testPki();
      const cert = req.clientCert ? pki[req.clientCert] : undefined;
      let settled = false;
      const settle = (o: Omit<Observation, 'elapsedMs'>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...o, elapsedMs: performance.now() - started });
      };
      const refused = (): void => settle({ status: 0, upstream: undefined, headers: {}, body: 'refused' });
      // A proxy that neither answers nor closes is an outcome too (status -1), not a hung table.
      const timer = setTimeout(() => settle({ status: -1, upstream: undefined, headers: {}, body: 'no answer in 5 s' }), 5000);
      const tlsOptions = { ca: pki.root.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}), ...(req.sni ? { servername: req.sni } : {}), checkServerIdentity: () => undefined };
      const alpn = req.protocol === 'https' && req.alpn ? { ALPNProtocols: req.alpn } : {};
      const done = (status: number, h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders, body: string): void => {
        const hs = flat(h);
        settle({ status, upstream: hs['x-upstream'], headers: hs, body, upstreamSaw: echoOf(body, hs) });
      };
      if (req.protocol === 'h2') {
        const s = http2.connect(`https://${address.host}:${address.port}`, tlsOptions);
        s.on('error', refused);
        const { host, ...rest } = headers;
        const stream = s.request({ ':method': req.method ?? 'GET', ':path': req.path, ':authority': host, ...rest });
        let status = 0;
        let hs: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        stream.on('response', (h) => {
          status = Number(h[':status']);
          hs = h;
        });
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          done(status, hs, Buffer.concat(chunks).toString());
          s.close();
        });
        stream.on('error', refused);
        stream.on('close', () => {
          refused();
          s.close();
        });
        stream.end(req.body);
        return;
      }
      const r = https.request({ host: address.host, port: address.port, method: req.method ?? 'GET', path: req.path, headers, agent: false, ...tlsOptions, ...alpn }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString()));
        res.on('error', refused);
      });
      r.on('error', refused);
      r.end(req.body);
    });

  return {
    send(req, key) {
      if (req.protocol === 'tcp' || req.protocol === 'tls') return sendL4(address, req);
      const headers: Record<string, string> = { host: req.host ?? DEFAULT_HOST, 'x-test-key': key, ...req.headers };
      if (req.protocol === 'grpc') return grpcCall(req, headers);
      if (req.protocol === 'h2c') return h2(req, headers);
      if (req.protocol === 'https' || req.protocol === 'h2') return overTls(req, headers);
      return h1(req, headers);
    },
    close() {
      agent.destroy();
      session?.close();
      for (const c of grpcClients.values()) c.close();
    },
  };
}
