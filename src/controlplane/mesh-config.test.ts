import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_INGRESS_SETTINGS } from '../ingress/class.js';
import { meshConfigMapName } from '../install/names.js';
import { parseMeshConfig } from './mesh-config.js';

test('the mesh config of a revision: ConfigMap istio-<revision>, its defaultConfig checked', () => {
  assert.equal(meshConfigMapName('asm-managed-stable'), 'istio-asm-managed-stable');
  assert.deepEqual(parseMeshConfig('defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 2\naccessLogFile: /dev/stdout\n'), { ok: true, defaultConfig: { gatewayTopology: { numTrustedProxies: 2 } }, ingress: DEFAULT_INGRESS_SETTINGS });
  assert.deepEqual(parseMeshConfig(''), { ok: true, defaultConfig: {}, ingress: DEFAULT_INGRESS_SETTINGS });
  assert.deepEqual(parseMeshConfig('accessLogFile: /dev/stdout\n'), { ok: true, defaultConfig: {}, ingress: DEFAULT_INGRESS_SETTINGS });
  assert.deepEqual(parseMeshConfig('defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: -2\n'), {
    ok: false,
    error: 'defaultConfig.gatewayTopology.numTrustedProxies: expected a whole number from 0 to 4294967295, got -2',
  });
  assert.equal(parseMeshConfig('- a list').ok, false);
  assert.match((parseMeshConfig('defaultConfig: {') as { error: string }).error, /^not YAML: /);
});

test('the mesh config\'s Kubernetes Ingress settings, over Istio\'s defaults', () => {
  assert.deepEqual(DEFAULT_INGRESS_SETTINGS, { ingressControllerMode: 'STRICT', ingressClass: 'istio', ingressService: 'istio-ingressgateway', ingressSelector: '' });
  const parsed = parseMeshConfig('ingressControllerMode: DEFAULT\ningressSelector: my-gateway\ningressService: ""\n');
  assert.deepEqual(parsed.ok && parsed.ingress, { ingressControllerMode: 'DEFAULT', ingressClass: 'istio', ingressService: '', ingressSelector: 'my-gateway' });
  assert.deepEqual(parseMeshConfig('ingressControllerMode: SOMETIMES\n'), { ok: false, error: 'ingressControllerMode: expected one of OFF, STRICT, DEFAULT, got "SOMETIMES"' });
  assert.deepEqual(parseMeshConfig('ingressClass: 7\n'), { ok: false, error: 'ingressClass: expected a string, got 7' });
});

test('the mesh config\'s outboundTrafficPolicy: REGISTRY_ONLY, ALLOW_ANY, an unset mode is REGISTRY_ONLY (the proto\'s zero value)', () => {
  const mode = (text: string) => {
    const parsed = parseMeshConfig(text);
    return parsed.ok ? parsed.outboundTrafficMode : parsed.error;
  };
  assert.equal(mode(''), undefined);
  assert.equal(mode('outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n'), 'REGISTRY_ONLY');
  assert.equal(mode('outboundTrafficPolicy: {mode: ALLOW_ANY}\n'), 'ALLOW_ANY');
  assert.equal(mode('outboundTrafficPolicy: {}\n'), 'REGISTRY_ONLY');
  assert.equal(mode('outboundTrafficPolicy: {mode: DENY}\n'), 'outboundTrafficPolicy.mode: expected REGISTRY_ONLY or ALLOW_ANY, got "DENY"');
});

test('the mesh config\'s trustDomain: the SPIFFE IDs\' domain, unset when absent (cluster.local)', () => {
  const domain = (text: string) => {
    const parsed = parseMeshConfig(text);
    return parsed.ok ? parsed.trustDomain : parsed.error;
  };
  assert.equal(domain(''), undefined);
  assert.equal(domain('trustDomain: mesh.example\n'), 'mesh.example');
  assert.equal(domain('trustDomain: "a/b"\n'), 'trustDomain: expected a domain name such as cluster.local, got "a/b"');
});
