import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { applyDefaults } from '../config/defaults.js';
import { findByApiVersionKind } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';
import { validateObject } from '../config/validate.js';
import { readMutatingWebhooks, readWebhooks, webhookMatches } from '../local/admission/webhook-config.js';
import { MESHWORK_IMAGE } from '../image.js';
import { installManifests } from './manifests.js';
import { createWebhookTls, readWebhookTlsSecret, webhookTlsSecret } from './webhook-tls.js';

const opts = { revision: 'asm-managed-stable', namespace: 'istio-system' as const, image: MESHWORK_IMAGE, clusterId: 'cluster-1', caBundlePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', dataPlane: 'envoy' as const };

function find(objects: KubeObject[], kind: string): KubeObject {
  const obj = objects.find((o) => o.kind === kind);
  assert.ok(obj, `a ${kind}`);
  return obj;
}

describe('installManifests', () => {
  it('every object validates clean against the real schemas (strict)', async () => {
    const tls = await createWebhookTls('asm-managed-stable', 'istio-system');
    for (const obj of [...installManifests(opts), webhookTlsSecret('istio-system', 'asm-managed-stable', tls)]) {
      const t = findByApiVersionKind(obj.apiVersion, obj.kind);
      assert.ok(t, `${obj.kind} is a served kind`);
      assert.deepEqual(validateObject(t, applyDefaults(t, structuredClone(obj)), { strict: true }), [], `${obj.kind} ${obj.metadata.name}`);
    }
  });

  it('names the revision\'s istiod everywhere and runs the control plane from the meshwork image', () => {
    const objects = installManifests(opts);
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), [
      'Namespace/istio-system',
      'ServiceAccount/istiod-asm-managed-stable',
      'ClusterRole/istiod-clusterrole-asm-managed-stable-istio-system',
      'ClusterRoleBinding/istiod-clusterrole-asm-managed-stable-istio-system',
      'Role/istiod-asm-managed-stable',
      'RoleBinding/istiod-asm-managed-stable',
      'ServiceAccount/istio-reader-service-account',
      'ClusterRole/istio-reader-clusterrole-asm-managed-stable-istio-system',
      'ClusterRoleBinding/istio-reader-clusterrole-asm-managed-stable-istio-system',
      'Deployment/istiod-asm-managed-stable',
      'Service/istiod-asm-managed-stable',
      'MutatingWebhookConfiguration/istio-sidecar-injector-asm-managed-stable',
      'ValidatingWebhookConfiguration/istio-validator-asm-managed-stable-istio-system',
      'IngressClass/istio',
    ]);
    assert.deepEqual(find(objects, 'IngressClass').spec, { controller: 'istio.io/ingress-controller' });
    const container = (find(objects, 'Deployment').spec as { template: { spec: { containers: Array<{ image: string; args: string[] }> } } }).template.spec.containers[0];
    assert.equal(container?.image, MESHWORK_IMAGE);
    assert.deepEqual(container?.args, ['control-plane', '--cluster-id', 'cluster-1', '--revision', 'asm-managed-stable', '--data-plane', 'envoy']);
    const ports = (find(objects, 'Service').spec as { ports: Array<{ port: number; targetPort: number }> }).ports;
    assert.deepEqual(ports.map((p) => `${p.port}->${p.targetPort}`), ['15010->15010', '15012->15012', '443->15017', '15014->15014']);
    // Plaintext xDS only when asked for.
    const withPlaintext = (find(installManifests({ ...opts, plaintextXdsPort: 15010 }), 'Deployment').spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0];
    assert.deepEqual(withPlaintext?.args.slice(-2), ['--plaintext-xds-port', '15010']);
  });

  it('the validator configuration sends creates and updates of Istio config to /validate, failurePolicy Fail', () => {
    const [webhook, ...rest] = readWebhooks(find(installManifests(opts), 'ValidatingWebhookConfiguration'));
    assert.ok(webhook);
    assert.equal(rest.length, 0);
    assert.equal(webhook.name, 'rev.validation.istio.io');
    assert.equal(webhook.failurePolicy, 'Fail');
    assert.deepEqual(webhook.clientConfig.service, { name: 'istiod-asm-managed-stable', namespace: 'istio-system', path: '/validate', port: 443 });
    const attrs = (group: string, resource: string, operation = 'CREATE') => ({ operation, group, version: 'v1', resource, subresource: '', namespaced: true });
    const sel = { namespaceLabels: {}, objectLabels: {} };
    assert.equal(webhookMatches(webhook, attrs('networking.istio.io', 'gateways'), sel), true);
    assert.equal(webhookMatches(webhook, attrs('networking.istio.io', 'virtualservices', 'UPDATE'), sel), true);
    assert.equal(webhookMatches(webhook, attrs('security.istio.io', 'authorizationpolicies'), sel), true);
    assert.equal(webhookMatches(webhook, attrs('networking.istio.io', 'gateways', 'DELETE'), sel), false);
    assert.equal(webhookMatches(webhook, attrs('', 'pods'), sel), false);
    assert.equal(webhookMatches(webhook, { ...attrs('networking.istio.io', 'gateways'), subresource: 'status' }, sel), false);
  });

  it('the injector configuration selects what Istio\'s does', () => {
    const [webhook, objectWebhook, legacy] = readMutatingWebhooks(find(installManifests(opts), 'MutatingWebhookConfiguration'));
    assert.ok(webhook && objectWebhook && legacy);
    assert.equal(webhook.clientConfig.caPem, opts.caBundlePem);
    assert.deepEqual(webhook.clientConfig.service, { name: 'istiod-asm-managed-stable', namespace: 'istio-system', path: '/inject', port: 443 });
    const attrs = { operation: 'CREATE', group: '', version: 'v1', resource: 'pods', subresource: '', namespaced: true };
    const sel = (ns: Record<string, string>, pod: Record<string, string> = {}) => ({ namespaceLabels: ns, objectLabels: pod });
    assert.equal(webhookMatches(webhook, attrs, sel({ 'istio.io/rev': 'asm-managed-stable' })), true);
    assert.equal(webhookMatches(webhook, attrs, sel({ 'istio.io/rev': 'asm-managed-rapid' })), false);
    assert.equal(webhookMatches(webhook, attrs, sel({ 'istio.io/rev': 'asm-managed-stable' }, { 'sidecar.istio.io/inject': 'false' })), false);
    assert.equal(webhookMatches(webhook, { ...attrs, operation: 'UPDATE' }, sel({ 'istio.io/rev': 'asm-managed-stable' })), false);
    assert.equal(webhookMatches(objectWebhook, attrs, sel({}, { 'istio.io/rev': 'asm-managed-stable' })), true);
    assert.equal(webhookMatches(objectWebhook, attrs, sel({})), false);
    assert.equal(webhookMatches(legacy, attrs, sel({ 'istio-injection': 'enabled' })), true);
    assert.equal(webhookMatches(legacy, attrs, sel({})), false);
  });

  it('the webhook certificate is for the istiod Service\'s DNS name, signed by the CA it carries', async () => {
    const tls = readWebhookTlsSecret(webhookTlsSecret('istio-system', 'asm-managed-stable', await createWebhookTls('asm-managed-stable', 'istio-system')));
    const cert = new X509Certificate(tls.certPem);
    assert.ok(cert.checkHost('istiod-asm-managed-stable.istio-system.svc'));
    assert.ok(cert.verify(new X509Certificate(tls.caPem).publicKey));
  });
});
