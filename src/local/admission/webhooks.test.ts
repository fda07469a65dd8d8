// The local API server's webhook caller against a real HTTPS injection webhook: TLS verified with the
// configuration's caBundle for `<svc>.<ns>.svc`, the Service resolved through its EndpointSlice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server } from 'node:https';
import { createCertificateAuthority, issueServerCertificate } from '../../security/pki/authority.js';
import { findByKind, type ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { StatusError } from '../../k8s/status.js';
import { createInjectionWebhook } from '../../inject/webhook.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { ObjectStore } from '../store/store.js';
import type { AdmissionHook } from '../apiserver/options.js';
import { mutatingWebhookAdmission, validatingWebhookAdmission } from './webhooks.js';
import { createValidationWebhook } from '../../controlplane/validation-webhook.js';
import { storeServiceResolver } from './service-resolver.js';

const HOST = '127.233.0.2';

function type(group: string, kind: string): ResourceType {
  const t = findByKind(group, kind);
  assert.ok(t);
  return t;
}
const PODS = type('', 'Pod');
const NAMESPACES = type('', 'Namespace');
const SERVICES = type('', 'Service');
const SLICES = type('discovery.k8s.io', 'EndpointSlice');
const MWC = type('admissionregistration.k8s.io', 'MutatingWebhookConfiguration');
const VWC = type('admissionregistration.k8s.io', 'ValidatingWebhookConfiguration');
const GATEWAYS = type('networking.istio.io', 'Gateway');

function pod(namespace: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sleep-1', namespace, labels: { app: 'sleep', ...labels } },
    spec: { containers: [{ name: 'sleep', image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'] }] },
  };
}

function webhookConfig(name: string, caBundle: string, overrides: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [
      {
        name: 'rev.namespace.sidecar-injector.istio.io',
        clientConfig: { service: { name: 'istiod-test', namespace: 'istio-system', path: '/inject', port: 443 }, caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        namespaceSelector: { matchExpressions: [{ key: 'istio.io/rev', operator: 'In', values: ['asm-managed-stable'] }] },
        objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }] },
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        failurePolicy: 'Fail',
        ...overrides,
      },
    ],
  };
}

async function rejection(hook: AdmissionHook, obj: KubeObject): Promise<StatusError> {
  try {
    await hook({ operation: 'CREATE', type: PODS, object: obj });
  } catch (err) {
    assert.ok(err instanceof StatusError, `a StatusError, got ${String(err)}`);
    return err;
  }
  assert.fail('the request was admitted');
}

describe('mutatingWebhookAdmission', () => {
  let store: ObjectStore;
  let server: Server;
  let caBundle: string;
  let otherCaBundle: string;
  const logs: string[] = [];
  let hook: AdmissionHook;

  before(async () => {
    const ca = await createCertificateAuthority('webhook-test-ca');
    const other = await createCertificateAuthority('unrelated-ca');
    caBundle = Buffer.from(ca.certPem).toString('base64');
    otherCaBundle = Buffer.from(other.certPem).toString('base64');
    const cert = await issueServerCertificate(ca, { commonName: 'istiod-test', dnsNames: ['istiod-test.istio-system.svc'], ipAddresses: [] });
    const handler = createInjectionWebhook({
      injection: { revision: 'asm-managed-stable', xdsAddress: '127.234.0.1:15010', clusterId: 'cluster-t', proxyImage: 'ghcr.io/meshwork/meshwork:test' },
      log: (l) => logs.push(l),
    });
    const validation = createValidationWebhook({ log: (l) => logs.push(l) });
    server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => (req.url?.startsWith('/validate') ? validation(req, res) : handler(req, res)));
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');

    store = openSqliteStore({ path: ':memory:', log: (l) => logs.push(l) });
    store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sample', labels: { 'istio.io/rev': 'asm-managed-stable' } } });
    store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } });
    store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    store.create(SERVICES, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istiod-test', namespace: 'istio-system' },
      spec: { clusterIP: '127.234.0.1', ports: [{ name: 'https-webhook', port: 443, targetPort: 15017, protocol: 'TCP' }] },
    });
    store.create(SLICES, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'istiod-test-abc', namespace: 'istio-system', labels: { 'kubernetes.io/service-name': 'istiod-test' } },
      addressType: 'IPv4',
      // The test server's port stands in for the pod's 15017.
      ports: [{ name: 'https-webhook', port: address.port, protocol: 'TCP' }],
      endpoints: [{ addresses: [HOST], conditions: { ready: true } }],
    });
    store.create(MWC, webhookConfig('istio-sidecar-injector-asm-managed-stable', caBundle));
    hook = mutatingWebhookAdmission({ store, resolveService: storeServiceResolver(store), log: (l) => logs.push(l) });
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    store.close();
  });

  it('injects a pod of a namespace labelled with the revision, through a verified HTTPS call', async () => {
    const out = await hook({ operation: 'CREATE', type: PODS, object: pod('sample') });
    const spec = out.spec as { containers: Array<{ name: string; image?: string; env?: Array<{ name: string; value?: string }> }> };
    assert.deepEqual(spec.containers.map((c) => c.name), ['sleep', 'istio-proxy']);
    assert.equal(spec.containers[1]?.image, 'ghcr.io/meshwork/meshwork:test');
    assert.equal(spec.containers[1]?.env?.find((e) => e.name === 'XDS_ADDRESS')?.value, '127.234.0.1:15010');
    assert.ok(out.metadata.annotations?.['sidecar.istio.io/status']);
    assert.ok(logs.some((l) => l.includes('patched pods sample/sleep-1')));
  });

  it('leaves pods of other namespaces and opted-out pods alone (selectors: no call at all)', async () => {
    const callsBefore = logs.filter((l) => l.startsWith('inject:')).length;
    const plain = pod('plain');
    assert.deepEqual(await hook({ operation: 'CREATE', type: PODS, object: plain }), plain);
    const optedOut = pod('sample', { 'sidecar.istio.io/inject': 'false' });
    assert.deepEqual(await hook({ operation: 'CREATE', type: PODS, object: optedOut }), optedOut);
    assert.equal(logs.filter((l) => l.startsWith('inject:')).length, callsBefore);
  });

  it('does not call for operations or resources outside its rules', async () => {
    const obj = pod('sample');
    assert.deepEqual(await hook({ operation: 'UPDATE', type: PODS, object: obj, oldObject: obj }), obj);
  });

  it('failurePolicy Fail: an unverifiable certificate rejects the request as kube-apiserver does', async () => {
    store.create(MWC, webhookConfig('zz-wrong-ca', otherCaBundle));
    try {
      const err = await rejection(hook, pod('sample'));
      assert.equal(err.code, 500);
      assert.match(err.message, /^Internal error occurred: failed calling webhook "rev.namespace.sidecar-injector.istio.io": failed to call webhook: Post "https:\/\/istiod-test.istio-system.svc:443\/inject\?timeout=10s": /);
    } finally {
      store.delete(MWC, undefined, 'zz-wrong-ca');
    }
  });

  it('failurePolicy Ignore: an unreachable webhook is logged and skipped, the earlier patch stays', async () => {
    store.create(MWC, webhookConfig('zz-unreachable', caBundle, { name: 'gone.example.com', failurePolicy: 'Ignore', clientConfig: { url: 'https://127.233.0.3:1/x', caBundle } }));
    try {
      const out = await hook({ operation: 'CREATE', type: PODS, object: pod('sample') });
      assert.equal((out.spec as { containers: unknown[] }).containers.length, 2);
      assert.ok(logs.some((l) => l.includes('failed calling webhook "gone.example.com"') && l.includes('ignored (failurePolicy Ignore)')));
    } finally {
      store.delete(MWC, undefined, 'zz-unreachable');
    }
  });

  it('failurePolicy Fail: a service without ready endpoints rejects the request', async () => {
    store.create(MWC, webhookConfig('zz-no-endpoints', caBundle, { name: 'none.example.com', clientConfig: { service: { name: 'missing', namespace: 'istio-system' }, caBundle } }));
    try {
      const err = await rejection(hook, pod('sample'));
      assert.match(err.message, /failed calling webhook "none.example.com": failed to call webhook: service "missing" not found in namespace "istio-system"/);
    } finally {
      store.delete(MWC, undefined, 'zz-no-endpoints');
    }
  });

  it('a webhook that answers allowed=false rejects with its message, whatever the failure policy', async () => {
    const bad = pod('sample');
    bad.metadata.annotations = { 'inject.istio.io/templates': 'nonesuch' };
    const err = await rejection(hook, bad);
    assert.equal(err.code, 500);
    assert.match(err.message, /^admission webhook "rev.namespace.sidecar-injector.istio.io" denied the request: injection failed for pod sample\/sleep-1: requested template "nonesuch" not found/);
  });

  it('validating webhooks: a denial is a 400 with the webhook\'s message; allowed objects are stored as they are; a returned patch is not applied', async () => {
    store.create(VWC, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'istio-validator-asm-managed-stable-istio-system' },
      webhooks: [
        {
          name: 'rev.validation.istio.io',
          clientConfig: { service: { name: 'istiod-test', namespace: 'istio-system', path: '/validate', port: 443 }, caBundle },
          rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: ['networking.istio.io'], apiVersions: ['*'], resources: ['*'] }],
          failurePolicy: 'Fail',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
        },
      ],
    });
    const validating = validatingWebhookAdmission({ store, resolveService: storeServiceResolver(store), log: (l) => logs.push(l) });
    try {
      const gateway = (port: number): KubeObject => ({
        apiVersion: 'networking.istio.io/v1',
        kind: 'Gateway',
        metadata: { name: 'gw', namespace: 'sample' },
        spec: { servers: [{ port: { number: port, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
      });
      let denied: unknown;
      try {
        await validating({ operation: 'CREATE', type: GATEWAYS, object: gateway(99999) });
      } catch (err) {
        denied = err;
      }
      assert.ok(denied instanceof StatusError, 'denied');
      assert.equal(denied.code, 400);
      assert.equal(denied.message, 'admission webhook "rev.validation.istio.io" denied the request: configuration is invalid: port number 99999 must be in the range 1..2^16-1 (spec.servers[0].port.number)');
      const ok = gateway(8080);
      assert.deepEqual(await validating({ operation: 'UPDATE', type: GATEWAYS, object: ok, oldObject: gateway(80) }), ok);
      // Pods are outside the validator's rules: no call.
      const p = pod('sample');
      assert.deepEqual(await validating({ operation: 'CREATE', type: PODS, object: p }), p);
    } finally {
      store.delete(VWC, undefined, 'istio-validator-asm-managed-stable-istio-system');
    }
  });
});
