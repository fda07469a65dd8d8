import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { callWebhooks } from './webhooks.js';

let server: Server;
let base: string;
const bodies: unknown[] = [];

before(async () => {
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      bodies.push({ path: req.url, method: req.method, type: req.headers['content-type'], body: JSON.parse(data) });
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1500);
      res.statusCode = req.url === '/refuse' ? 503 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.245.201.1', r));
  base = `http://127.245.201.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('webhooks: POST a JSON body naming canary, step and weights; 2xx ok, other codes and timeouts not; only the asked types are called', async () => {
  const hooks = [
    { name: 'ok', type: 'pre-step' as const, url: `${base}/ok`, timeoutMs: 1000 },
    { name: 'refuse', type: 'pre-step' as const, url: `${base}/refuse`, timeoutMs: 1000 },
    { name: 'slow', type: 'pre-step' as const, url: `${base}/slow`, timeout: '200ms', timeoutMs: 200 },
    { name: 'gate', type: 'confirm-promotion' as const, url: `${base}/gate`, timeoutMs: 1000 },
  ];
  const payload = { name: 'helloworld', namespace: 'sample', phase: 'Progressing', step: 2, canaryWeight: 50, weights: { v1: 50, v2: 50 } };
  const outcomes = await callWebhooks(hooks, ['pre-step'], payload);
  assert.deepEqual(outcomes.map((o) => [o.name, o.ok, o.message]), [
    ['ok', true, 'HTTP 200'],
    ['refuse', false, 'HTTP 503'],
    ['slow', false, 'no answer within 200ms'],
  ]);
  const okCall = bodies.find((b) => (b as { path: string }).path === '/ok');
  assert.deepEqual(okCall, { path: '/ok', method: 'POST', type: 'application/json', body: { ...payload, type: 'pre-step', webhook: 'ok' } });
  assert.ok(!bodies.some((b) => (b as { path: string }).path === '/gate'));
});
