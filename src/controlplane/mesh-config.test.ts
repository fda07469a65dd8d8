import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meshConfigMapName, parseMeshConfig } from './mesh-config.js';

test('the mesh config of a revision: ConfigMap istio-<revision>, its defaultConfig checked', () => {
  assert.equal(meshConfigMapName('asm-managed-stable'), 'istio-asm-managed-stable');
  assert.deepEqual(parseMeshConfig('defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 2\naccessLogFile: /dev/stdout\n'), { ok: true, defaultConfig: { gatewayTopology: { numTrustedProxies: 2 } } });
  assert.deepEqual(parseMeshConfig(''), { ok: true, defaultConfig: {} });
  assert.deepEqual(parseMeshConfig('accessLogFile: /dev/stdout\n'), { ok: true, defaultConfig: {} });
  assert.deepEqual(parseMeshConfig('defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: -2\n'), {
    ok: false,
    error: 'defaultConfig.gatewayTopology.numTrustedProxies: expected a whole number from 0 to 4294967295, got -2',
  });
  assert.equal(parseMeshConfig('- a list').ok, false);
  assert.match((parseMeshConfig('defaultConfig: {') as { error: string }).error, /^not YAML: /);
});
