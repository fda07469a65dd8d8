import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { outsideControlPlaneOf } from './control-plane.js';

const injector = (url: string | undefined, labels: Record<string, string> = { app: 'sidecar-injector', 'istio.io/rev': 'asm-managed-stable' }): V1MutatingWebhookConfiguration => ({
  metadata: { name: 'istio-sidecar-injector-asm-managed-stable', labels },
  webhooks: [{ name: 'rev.namespace.sidecar-injector.istio.io', clientConfig: url ? { url } : { service: { name: 'istiod-asm-managed-stable', namespace: 'istio-system', path: '/inject' } }, admissionReviewVersions: ['v1'], sideEffects: 'None' }],
});

describe('outsideControlPlaneOf: a control plane outside the cluster, found by its injector webhook URL', () => {
  it('the debug port on the URL\'s host, with the revision', () => {
    assert.deepEqual(outsideControlPlaneOf([injector('https://127.58.0.1:15017/inject')]), { url: 'http://127.58.0.1:15014', revision: 'asm-managed-stable' });
    assert.deepEqual(outsideControlPlaneOf([injector('https://cp.example.com:15017/inject')]), { url: 'http://cp.example.com:15014', revision: 'asm-managed-stable' });
  });

  it('none for an in-cluster injector (a Service) or a webhook configuration of someone else', () => {
    assert.equal(outsideControlPlaneOf([injector(undefined)]), undefined);
    assert.equal(outsideControlPlaneOf([injector('https://10.0.0.9:443/inject', { app: 'other' })]), undefined);
    assert.equal(outsideControlPlaneOf([]), undefined);
  });
});
