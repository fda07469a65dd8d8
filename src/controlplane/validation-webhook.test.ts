import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createValidationWebhook, reviewIstioObject } from './validation-webhook.js';

function review(kind: string, group: string, spec: unknown, operation = 'CREATE'): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u-1',
      kind: { group, version: 'v1', kind },
      resource: { group, version: 'v1', resource: `${kind.toLowerCase()}s` },
      name: 'x',
      namespace: 'default',
      operation,
      userInfo: { username: 'admin' },
      object: { apiVersion: `${group}/v1`, kind, metadata: { name: 'x', namespace: 'default' }, spec },
    },
  };
}

const badGateway = { servers: [{ port: { number: 99999, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] };

describe('validation webhook', () => {
  let server: Server;
  let base: string;
  const logs: string[] = [];
  const handler = createValidationWebhook({ log: (l) => logs.push(l) });

  before(async () => {
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const a = server.address();
    assert.ok(a && typeof a === 'object');
    base = `http://127.0.0.1:${a.port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = async (body: unknown, path = '/validate', contentType = 'application/json') => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };

  it('denies a Gateway with port 99999 with Istio\'s message and the field', async () => {
    const res = await post(review('Gateway', 'networking.istio.io', badGateway));
    assert.equal(res.status, 200);
    const answer = JSON.parse(res.text);
    assert.equal(answer.kind, 'AdmissionReview');
    assert.equal(answer.apiVersion, 'admission.k8s.io/v1');
    assert.equal(answer.response.uid, 'u-1');
    assert.equal(answer.response.allowed, false);
    assert.equal(answer.response.status.code, 400);
    assert.equal(answer.response.status.message, 'configuration is invalid: port number 99999 must be in the range 1..2^16-1 (spec.servers[0].port.number)');
    assert.equal(handler.stats.denied, 1);
  });

  it('allows valid config, with weights that do not sum to 100 and a 10s timeout', async () => {
    const spec = { hosts: ['reviews'], http: [{ timeout: '10s', route: [{ destination: { host: 'a' }, weight: 1 }, { destination: { host: 'b' }, weight: 2 }] }] };
    const answer = JSON.parse((await post(review('VirtualService', 'networking.istio.io', spec))).text);
    assert.deepEqual(answer.response, { uid: 'u-1', allowed: true });
  });

  it('validates updates, lets deletes and other groups through', () => {
    const parsed = (r: Record<string, unknown>) => r.request as Parameters<typeof reviewIstioObject>[0];
    assert.equal(reviewIstioObject(parsed(review('Gateway', 'networking.istio.io', badGateway, 'UPDATE'))).allowed, false);
    assert.equal(reviewIstioObject(parsed(review('Gateway', 'networking.istio.io', badGateway, 'DELETE'))).allowed, true);
    assert.equal(reviewIstioObject(parsed(review('Gateway', 'example.com', badGateway))).allowed, true);
    const ap = reviewIstioObject(parsed(review('AuthorizationPolicy', 'security.istio.io', { action: 'CUSTOM', rules: [{}] })));
    assert.match(ap.status?.message ?? '', /provider must be specified for CUSTOM action/);
  });

  it('passes warnings back', () => {
    const spec = { hosts: ['r'], http: [{ route: [{ destination: { host: 'r' } }] }, { route: [{ destination: { host: 'r' } }] }] };
    const r = reviewIstioObject(review('VirtualService', 'networking.istio.io', spec).request as Parameters<typeof reviewIstioObject>[0]);
    assert.equal(r.allowed, true);
    assert.match(r.warnings?.[0] ?? '', /no match conditions and is not the last rule/);
  });

  it('answers bad calls as istiod does: 404, 415, 400', async () => {
    assert.equal((await post(review('Gateway', 'networking.istio.io', {}), '/other')).status, 404);
    assert.equal((await post(review('Gateway', 'networking.istio.io', {}), '/validate', 'text/plain')).status, 415);
    assert.equal((await post('not json')).status, 400);
    assert.equal((await post({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1' })).status, 400);
    assert.equal((await post('')).status, 400);
  });
});
