import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkProxyConfig, effectiveProxyConfig, mergeProxyConfig, parseProxyConfig, proxyConfigJson } from './proxy-config.js';

describe('ProxyConfig (proxy.istio.io/config, meshConfig.defaultConfig)', () => {
  it('reads JSON and YAML; gatewayTopology checked, other fields kept and listed as not acted on', () => {
    assert.deepEqual(parseProxyConfig('{"gatewayTopology":{"numTrustedProxies":2,"forwardClientCertDetails":"APPEND_FORWARD"}}'), {
      ok: true,
      config: { gatewayTopology: { numTrustedProxies: 2, forwardClientCertDetails: 'APPEND_FORWARD' } },
      notActedOn: [],
    });
    const yaml = parseProxyConfig('concurrency: 2\ngatewayTopology:\n  numTrustedProxies: 1\n  proxyProtocol: {}\nholdApplicationUntilProxyStarts: true\n');
    assert.ok(yaml.ok);
    assert.deepEqual(proxyConfigJson(yaml.config), { concurrency: 2, gatewayTopology: { numTrustedProxies: 1, proxyProtocol: {} }, holdApplicationUntilProxyStarts: true });
    assert.deepEqual(yaml.notActedOn, ['concurrency', 'holdApplicationUntilProxyStarts', 'gatewayTopology.proxyProtocol']);
    assert.deepEqual(parseProxyConfig(''), { ok: true, config: {}, notActedOn: [] });
  });

  it('discoveryAddress: HOST:PORT, acted on; anything else refused with the form to give', () => {
    assert.deepEqual(checkProxyConfig({ discoveryAddress: '127.58.0.5:15012' }), { ok: true, config: { discoveryAddress: '127.58.0.5:15012' }, notActedOn: [] });
    assert.ok(checkProxyConfig({ discoveryAddress: 'istiod.istio-system.svc:15012' }).ok);
    assert.ok(checkProxyConfig({ discoveryAddress: '[fd00::5]:15012' }).ok);
    const missingPort = checkProxyConfig({ discoveryAddress: '127.58.0.5' });
    assert.ok(!missingPort.ok && /^discoveryAddress: expected HOST:PORT \(give HOST:PORT of the control plane's xDS TLS port/.test(missingPort.error), JSON.stringify(missingPort));
    const badPort = checkProxyConfig({ discoveryAddress: 'cp:70000' });
    assert.ok(!badPort.ok && /port 70000 is not 1-65535/.test(badPort.error));
    const notString = checkProxyConfig({ discoveryAddress: 15012 });
    assert.ok(!notString.ok && /discoveryAddress: expected a string/.test(notString.error));
  });

  it('forwardClientCertDetails by name or proto enum number; UNDEFINED means the default', () => {
    const mode = (v: unknown) => {
      const r = checkProxyConfig({ gatewayTopology: { forwardClientCertDetails: v } });
      return r.ok ? r.config.gatewayTopology?.forwardClientCertDetails : r.error;
    };
    assert.equal(mode('SANITIZE_SET'), 'SANITIZE_SET');
    assert.equal(mode(1), 'SANITIZE');
    assert.equal(mode(5), 'ALWAYS_FORWARD_ONLY');
    assert.equal(mode('UNDEFINED'), undefined);
    assert.equal(mode(0), undefined);
    assert.match(String(mode('sanitize')), /expected one of SANITIZE, /);
    assert.match(String(mode(6)), /got 6/);
  });

  it('says what is wrong: not JSON/YAML, not an object, bad numbers, unknown gatewayTopology fields', () => {
    const error = (text: string) => {
      const r = parseProxyConfig(text);
      return r.ok ? 'ok' : r.error;
    };
    assert.match(error('{"gatewayTopology": {'), /^not YAML or JSON: /);
    assert.match(error('[1, 2]'), /^expected an object of ProxyConfig fields, got \[1,2\]$/);
    assert.match(error('{"gatewayTopology": 3}'), /^gatewayTopology: expected an object, got 3$/);
    assert.match(error('{"gatewayTopology": {"numTrustedProxies": 1.5}}'), /numTrustedProxies: expected a whole number from 0 to 4294967295, got 1.5/);
    assert.match(error('{"gatewayTopology": {"numTrustedProxies": "1"}}'), /got "1"/);
    assert.match(error('{"gatewayTopology": {"trustedProxies": 1}}'), /^gatewayTopology\.trustedProxies: unknown field \(known: numTrustedProxies, forwardClientCertDetails, proxyProtocol\)$/);
  });

  it('merges as a proto merge: set fields replace, nested objects merge field by field', () => {
    const base = { concurrency: 2, gatewayTopology: { numTrustedProxies: 1, forwardClientCertDetails: 'SANITIZE' as const } };
    assert.deepEqual(mergeProxyConfig(base, { gatewayTopology: { numTrustedProxies: 3 } }), { concurrency: 2, gatewayTopology: { numTrustedProxies: 3, forwardClientCertDetails: 'SANITIZE' } });
    assert.deepEqual(mergeProxyConfig(base, { concurrency: 4 }), { ...base, concurrency: 4 });
  });

  it("a pod's effective config: the annotation over the mesh default; an invalid annotation leaves the default and says why", () => {
    const mesh = { gatewayTopology: { numTrustedProxies: 1 } };
    assert.deepEqual(effectiveProxyConfig(mesh, undefined), { config: mesh, notActedOn: [] });
    assert.deepEqual(effectiveProxyConfig(mesh, '{"gatewayTopology":{"numTrustedProxies":0}}').config, { gatewayTopology: { numTrustedProxies: 0 } });
    const bad = effectiveProxyConfig(mesh, '{gatewayTopology: {numTrustedProxies: many}}');
    assert.equal(bad.config, mesh);
    assert.match(bad.annotationError ?? '', /^annotation proxy\.istio\.io\/config is invalid: gatewayTopology\.numTrustedProxies: expected a whole number/);
  });
});
