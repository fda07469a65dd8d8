// The injection webhook's HTTP contract: clear errors for what is not an AdmissionReview, an answer in
// the review's own apiVersion with the request's uid, a base64 JSONPatch for a pod to inject.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server } from 'node:http';
import { createInjectionWebhook, type InjectionWebhookHandler } from './webhook.js';

describe('createInjectionWebhook', () => {
  let server: Server;
  let base: string;
  let handler: InjectionWebhookHandler;
  const logs: string[] = [];

  before(async () => {
    handler = createInjectionWebhook({
      injection: () => ({ revision: 'asm-managed-stable', xdsAddress: '127.235.0.1:15010', clusterId: 'c1', proxyImage: 'img' }),
      log: (l) => logs.push(l),
    });
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.235.0.2', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.235.0.2:${address.port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = async (body: string, opts: { path?: string; contentType?: string } = {}) => {
    const res = await fetch(`${base}${opts.path ?? '/inject'}`, { method: 'POST', headers: { 'Content-Type': opts.contentType ?? 'application/json' }, body });
    return { status: res.status, text: await res.text() };
  };

  const review = (apiVersion: string, request: Record<string, unknown>): string => JSON.stringify({ apiVersion, kind: 'AdmissionReview', request });
  const podRequest = (uid: string, object: unknown) => ({
    uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'sample',
    operation: 'CREATE',
    userInfo: { username: 'admin' },
    object,
  });
  const podObject = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'sleep-' }, spec: { containers: [{ name: 'sleep', image: 'curl' }] } };

  it('answers a pod review with a JSONPatch, in the apiVersion it was asked in', async () => {
    for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
      const res = await post(review(apiVersion, podRequest(`uid-${apiVersion}`, podObject)));
      assert.equal(res.status, 200);
      const answer = JSON.parse(res.text);
      assert.equal(answer.apiVersion, apiVersion);
      assert.equal(answer.response.uid, `uid-${apiVersion}`);
      assert.equal(answer.response.allowed, true);
      assert.equal(answer.response.patchType, 'JSONPatch');
      const ops = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8')) as Array<{ op: string; path: string }>;
      assert.ok(ops.some((op) => op.op === 'add' && op.path === '/spec/containers/1'));
    }
    assert.ok(handler.stats.injected >= 2);
  });

  it('allows a skipped pod without a patch', async () => {
    const skipped = { ...podObject, metadata: { name: 'x', labels: { 'sidecar.istio.io/inject': 'false' } } };
    const answer = JSON.parse((await post(review('admission.k8s.io/v1', podRequest('u2', skipped)))).text);
    assert.deepEqual(answer.response, { uid: 'u2', allowed: true });
  });

  it('refuses what it does not handle with a reason', async () => {
    const req = { ...podRequest('u3', {}), kind: { group: 'apps', version: 'v1', kind: 'Deployment' } };
    const answer = JSON.parse((await post(review('admission.k8s.io/v1', req))).text);
    assert.equal(answer.response.allowed, false);
    assert.match(answer.response.status.message, /pod creation only, got CREATE of Deployment/);
  });

  const bad: Array<[string, string, { path?: string; contentType?: string }, number, RegExp]> = [
    ['wrong content type', '{}', { contentType: 'text/plain' }, 415, /contentType=text\/plain, expect application\/json/],
    ['not JSON', '{', {}, 400, /could not read the AdmissionReview/],
    ['empty body', '', {}, 400, /no body found/],
    ['not a review', JSON.stringify({ kind: 'Pod' }), {}, 400, /expected kind AdmissionReview, got "Pod"/],
    ['unknown version', review('admission.k8s.io/v2', {}), {}, 400, /unsupported AdmissionReview apiVersion "admission.k8s.io\/v2"/],
    ['no request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), {}, 400, /has no request/],
    ['no uid', review('admission.k8s.io/v1', { ...podRequest('', podObject) }), {}, 400, /request.uid is missing/],
    ['other path', '{}', { path: '/validate' }, 404, /no handler for \/validate/],
  ];
  for (const [name, body, opts, status, message] of bad) {
    it(`bad call: ${name}`, async () => {
      const res = await post(body, opts);
      assert.equal(res.status, status);
      assert.match(res.text, message);
    });
  }
});
