// The edge with real sockets: two fake gateways on loopback, one of which fails its health check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../clock.js';
import { BACKEND_HEADER, EdgeProxy, type EdgeBackend } from './edge-proxy.js';
import type { HealthCheckSpec } from './health.js';

interface FakeGateway {
  server: Server;
  status: Server;
  backend: EdgeBackend;
  statusPort: number;
  ready: boolean;
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

async function fakeGateway(cluster: string, host: string): Promise<FakeGateway> {
  const gw = { ready: true } as { ready: boolean };
  const server = createServer((req, res) => {
    if (req.url === '/hello') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello from ${cluster} host=${req.headers.host ?? ''}\n`);
    } else if (req.url === '/headers') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.headers));
    } else if (req.url === '/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.end(`${req.method} ${Buffer.concat(chunks).length} bytes`));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const status = createServer((req, res) => {
    res.writeHead(req.url === '/healthz/ready' && gw.ready ? 200 : 503);
    res.end();
  });
  const port = await listen(server, host);
  const statusPort = await listen(status, host);
  return Object.assign(gw, { server, status, statusPort, backend: { cluster, pod: `gw-${cluster}`, ip: host, port } });
}

const spec = (port: number): HealthCheckSpec => ({ type: 'HTTP', port, requestPath: '/healthz/ready', checkIntervalSec: 5, timeoutSec: 5, healthyThreshold: 2, unhealthyThreshold: 2 });

async function get(url: string): Promise<{ status: number; backend: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, backend: res.headers.get(BACKEND_HEADER), body: await res.text() };
}

test('edge: balances over healthy gateways only, follows health changes, counts per gateway', async (t) => {
  // The edge probes spec.port on each backend's IP (as 15021 on every gateway pod), so the two fake
  // gateways listen on different loopback IPs with the same status port.
  const a = await fakeGateway('cluster-1', '127.0.0.21');
  const statusPort = a.statusPort;
  const b = await fakeGateway('cluster-2', '127.0.0.22');
  // Move b's status server to the same port number as a's, on b's IP.
  await new Promise<void>((resolve) => b.status.close(() => resolve()));
  await new Promise<void>((resolve) => b.status.listen(statusPort, '127.0.0.22', resolve));
  b.ready = false;

  const clock = new ManualClock();
  const logs: string[] = [];
  const edge = new EdgeProxy({ name: 'test/edge', host: '127.0.0.23', port: 0, adminPort: 0, clock, log: (l) => logs.push(l) });
  t.after(async () => {
    await edge.stop();
    for (const s of [a.server, a.status, b.server, b.status]) await new Promise<void>((resolve) => s.close(() => resolve()));
  });
  await edge.start();
  edge.update({ backends: [a.backend, b.backend], healthCheck: spec(statusPort) });

  // Before any check passes, nothing is healthy: 503, as a GCLB backend service with no healthy backend.
  assert.equal((await get(`http://${edge.address}/hello`)).status, 503);

  await edge.checkAll();
  assert.equal((await get(`http://${edge.address}/hello`)).status, 503, 'one pass is below healthyThreshold');
  await edge.checkAll();
  const seen = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    const r = await get(`http://${edge.address}/hello`);
    assert.equal(r.status, 200);
    assert.match(r.body, /^hello from cluster-1 host=127\.0\.0\.23:\d+/, 'the Host header is passed through');
    seen.set(r.backend ?? '', (seen.get(r.backend ?? '') ?? 0) + 1);
  }
  assert.deepEqual([...seen], [['cluster-1/gw-cluster-1', 20]], 'the failing gateway gets nothing');
  // A resync with the same gateways keeps their health and counters (the controller resyncs every second).
  edge.update({ backends: [{ ...a.backend }, { ...b.backend }], healthCheck: spec(statusPort) });
  assert.deepEqual(edge.stats().backends.map((x) => [x.id, x.requests, x.healthy]), [['cluster-1/gw-cluster-1', 20, true], ['cluster-2/gw-cluster-2', 0, false]]);

  // b passes twice: both serve, round robin.
  b.ready = true;
  await edge.checkAll();
  await edge.checkAll();
  seen.clear();
  for (let i = 0; i < 20; i++) {
    const r = await get(`http://${edge.address}/hello`);
    seen.set(r.backend ?? '', (seen.get(r.backend ?? '') ?? 0) + 1);
  }
  assert.equal(seen.get('cluster-1/gw-cluster-1'), 10);
  assert.equal(seen.get('cluster-2/gw-cluster-2'), 10);

  // Unmatched paths come back from the gateway unchanged.
  assert.equal((await get(`http://${edge.address}/other`)).status, 404);
  // Request bodies are streamed to the gateway whole.
  const posted = await fetch(`http://${edge.address}/echo`, { method: 'POST', body: 'x'.repeat(300_000) });
  assert.match(await posted.text(), /^POST 300000 bytes$/);

  // a fails twice: only b serves.
  a.ready = false;
  await edge.checkAll();
  assert.equal(edge.stats().backends.find((x) => x.cluster === 'cluster-1')?.healthy, true, 'one failure is below unhealthyThreshold');
  await edge.checkAll();
  for (let i = 0; i < 6; i++) assert.equal((await get(`http://${edge.address}/hello`)).backend, 'cluster-2/gw-cluster-2');

  const stats = await (await fetch(`http://${edge.adminAddress}/stats`)).json() as { backends: { id: string; requests: number; healthy: boolean; lastFailure?: string }[] };
  const byId = Object.fromEntries(stats.backends.map((x) => [x.id, x]));
  // The /other and /echo requests went to one of the two each.
  assert.equal((byId['cluster-1/gw-cluster-1']?.requests ?? 0) + (byId['cluster-2/gw-cluster-2']?.requests ?? 0), 20 + 20 + 1 + 1 + 6);
  assert.ok((byId['cluster-1/gw-cluster-1']?.requests ?? 0) >= 30);
  assert.ok((byId['cluster-2/gw-cluster-2']?.requests ?? 0) >= 16);
  assert.equal(byId['cluster-1/gw-cluster-1']?.healthy, false);
  assert.equal(byId['cluster-1/gw-cluster-1']?.lastFailure, 'HTTP 503');
  assert.ok(logs.some((l) => l.includes('cluster-1/gw-cluster-1 is now unhealthy (HTTP 503)')), logs.join('\n'));
});

test('edge: a client-sent x-forwarded-client-cert and x-envoy-internal never reach a gateway; x-forwarded-for gets the client', async (t) => {
  const gw = await fakeGateway('cluster-1', '127.235.4.1');
  const edge = new EdgeProxy({ name: 'test/xfcc', host: '127.235.4.2', port: 0, adminPort: 0, clock: new ManualClock(), log: () => {} });
  t.after(async () => {
    await edge.stop();
    for (const s of [gw.server, gw.status]) await new Promise<void>((resolve) => s.close(() => resolve()));
  });
  await edge.start();
  edge.update({ backends: [gw.backend], healthCheck: { ...spec(gw.statusPort), healthyThreshold: 1 } });
  await edge.checkAll();
  const res = await fetch(`http://${edge.address}/headers`, {
    headers: { 'x-forwarded-client-cert': 'By=spiffe://evil/ns/x/sa/y;Hash=00', 'x-envoy-internal': 'true', 'x-forwarded-for': '203.0.113.9' },
  });
  assert.equal(res.status, 200);
  const seen = (await res.json()) as Record<string, string>;
  assert.equal(seen['x-forwarded-client-cert'], undefined);
  assert.equal(seen['x-envoy-internal'], undefined);
  assert.match(seen['x-forwarded-for'] ?? '', /^203\.0\.113\.9, 127\./);
});

test('edge: the clock drives the checks (first at once, then every checkIntervalSec); a refused connection is retried on another gateway', async (t) => {
  const a = await fakeGateway('cluster-1', '127.0.0.24');
  const clock = new ManualClock();
  const edge = new EdgeProxy({ name: 'test/edge2', host: '127.0.0.25', port: 0, adminPort: 0, clock, log: () => undefined });
  // A gateway whose serving port refuses connections while its health check still passes (it just died).
  const dead: EdgeBackend = { cluster: 'cluster-2', pod: 'gw-dead', ip: '127.0.0.24', port: 1 };
  const probed: string[] = [];
  const probingEdge = new EdgeProxy({
    name: 'test/edge3',
    host: '127.0.0.26',
    port: 0,
    adminPort: 0,
    clock,
    log: () => undefined,
    prober: async (b) => {
      probed.push(`${clock.now()}:${b.pod}`);
      return { ok: true };
    },
  });
  t.after(async () => {
    await edge.stop();
    await probingEdge.stop();
    for (const s of [a.server, a.status]) await new Promise<void>((resolve) => s.close(() => resolve()));
  });
  await probingEdge.start();
  probingEdge.update({ backends: [a.backend, dead], healthCheck: spec(a.statusPort) });
  clock.advance(0);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(probed, ['0:gw-cluster-1', '0:gw-dead']);
  clock.advance(4999);
  await new Promise((r) => setImmediate(r));
  assert.equal(probed.length, 2, 'no check before checkIntervalSec');
  clock.advance(1);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(probed.slice(2), ['5000:gw-cluster-1', '5000:gw-dead']);

  // Both healthy now (two passes); every request still succeeds: refused connections go to the other gateway.
  for (let i = 0; i < 6; i++) {
    const r = await get(`http://${probingEdge.address}/hello`);
    assert.equal(r.status, 200);
    assert.equal(r.backend, 'cluster-1/gw-cluster-1');
  }
  const stats = probingEdge.stats();
  assert.ok(stats.retries >= 3, `retries ${stats.retries}`);
  assert.ok((stats.backends.find((x) => x.pod === 'gw-dead')?.errors ?? 0) >= 3);
  // edge (unused) starts and stops cleanly with no backends.
  await edge.start();
  assert.equal((await get(`http://${edge.address}/hello`)).status, 503);
});

test('edge: a user who may not bind port 80 gets the fallback port, shown in the address and the log', async () => {
  // Run as an unprivileged user: root here may bind port 80, which is the other, ordinary case.
  const moduleUrl = new URL('./edge-proxy' + extname(fileURLToPath(import.meta.url)), import.meta.url).href;
  const script = `
    const { EdgeProxy } = await import(${JSON.stringify(moduleUrl)});
    const lines = [];
    const edge = new EdgeProxy({ name: 'priv', host: '127.0.0.27', port: 80, fallbackPort: 0, adminPort: 0, log: (l) => lines.push(l) });
    await edge.start();
    console.log(JSON.stringify({ address: edge.address, lines }));
    await edge.stop();`;
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const res = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { ...asUser, encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}') as { address: string; lines: string[] };
  assert.match(out.address, /^127\.0\.0\.27:\d+$/);
  assert.notEqual(out.address.split(':')[1], '80');
  assert.match(out.lines.join('\n'), /port 80 is privileged and this user may not bind it; serving 127\.0\.0\.27:80 on 127\.0\.0\.27:\d+ instead/);
});

test('edge HTTPS: the certificate whose DNS name is the SNI, else the first; x-forwarded-proto https; HTTP unchanged', async (t) => {
  const { createCertificateAuthority, issueServerCertificate } = await import('../security/pki/authority.js');
  const { request } = await import('node:https');
  const ca = await createCertificateAuthority('edge test root');
  const [a, b] = await Promise.all([
    issueServerCertificate(ca, { commonName: 'a.example.com', dnsNames: ['a.example.com'], ipAddresses: [] }),
    issueServerCertificate(ca, { commonName: 'b.example.com', dnsNames: ['*.b.example.com'], ipAddresses: [] }),
  ]);
  const gw = await fakeGateway('cluster-1', '127.249.0.31');
  const clock = new ManualClock();
  const edge = new EdgeProxy({ name: 'test/tls', host: '127.249.0.32', port: 0, tlsPort: 0, adminPort: 0, clock, log: () => {} });
  t.after(async () => {
    await edge.stop();
    for (const s of [gw.server, gw.status]) await new Promise<void>((resolve) => s.close(() => resolve()));
  });
  await edge.start();
  const tls = [{ certificateChainPem: a.certPem, privateKeyPem: a.keyPem }, { certificateChainPem: b.certPem, privateKeyPem: b.keyPem }];
  edge.update({ backends: [gw.backend], healthCheck: { ...spec(gw.statusPort), healthyThreshold: 1 }, tls });
  clock.advance(0);
  for (let i = 0; i < 50 && !edge.stats().backends[0]?.healthy; i++) await new Promise((r) => setTimeout(r, 20));
  const get = (servername: string | undefined, path: string) =>
    new Promise<{ status: number; body: string; subject: string }>((resolve, reject) => {
      const req = request({ host: '127.249.0.32', port: edge.tlsBoundPort, path, ca: ca.certPem, ...(servername ? { servername } : {}), checkServerIdentity: () => undefined, agent: false }, (res) => {
        const subject = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN ?? '');
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, subject }));
      });
      req.on('error', reject);
      req.end();
    });
  assert.deepEqual(await get('x.b.example.com', '/hello'), { status: 200, body: `hello from cluster-1 host=127.249.0.32:${edge.tlsBoundPort}\n`, subject: 'b.example.com' });
  assert.equal((await get('a.example.com', '/hello')).subject, 'a.example.com');
  assert.equal((await get(undefined, '/hello')).subject, 'a.example.com', 'no SNI: the first certificate');
  assert.equal(JSON.parse((await get('a.example.com', '/headers')).body)['x-forwarded-proto'], 'https');
  assert.equal(((await (await fetch(`http://${edge.address}/headers`)).json()) as Record<string, string>)['x-forwarded-proto'], 'http');
});
