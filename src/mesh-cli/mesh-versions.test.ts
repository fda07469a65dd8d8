import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMeshVersions, imageVersion } from './mesh-versions.js';

describe('meshwork version: the mesh part', () => {
  it('the control plane version is its image tag', () => {
    assert.equal(imageVersion('ghcr.io/meshwork/meshwork:0.1.0'), '0.1.0');
    assert.equal(imageVersion('localhost:5000/meshwork:1.2.3'), '1.2.3');
    assert.equal(imageVersion('localhost:5000/meshwork'), 'localhost:5000/meshwork (untagged)');
    assert.equal(imageVersion('meshwork@sha256:abc'), 'sha256:abc');
  });

  it('one line per cluster, one per data plane version with its proxy count, as istioctl version', () => {
    const lines = formatMeshVersions({
      controlPlanes: [
        { cluster: 'cluster-1', version: '0.1.0', pod: 'istiod-a', revision: 'asm-managed-stable' },
        { cluster: 'cluster-2', error: 'no running control plane (app=istiod in istio-system)' },
      ],
      dataPlanes: { 'meshwork-proxy 0.1.0': 1, 'envoy 1.40.0': 4 },
    });
    assert.deepEqual(lines, [
      'control plane version (cluster-1): 0.1.0 (istiod-a, revision asm-managed-stable)',
      'control plane version (cluster-2): unknown: no running control plane (app=istiod in istio-system)',
      'data plane version: envoy 1.40.0 (4 proxies)',
      'data plane version: meshwork-proxy 0.1.0 (1 proxy)',
    ]);
    assert.deepEqual(formatMeshVersions({ controlPlanes: [], dataPlanes: {} }), ['data plane version: none (no proxy is connected)']);
  });
});
