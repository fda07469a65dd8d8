// What stops a control plane before it serves anything: plaintext xDS on a non-loopback address, and
// a cluster without its CA (Secret istio-system/cacerts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../local/apiserver/test-support.js';
import { isLoopbackHost, runControlPlane } from './control-plane.js';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster();
});

after(async () => {
  await cluster.close();
});

const base = () => ({ clusterId: 'cluster-1', kubeconfig: cluster.kubeconfig, namespace: 'istio-system', revision: 'asm-managed-stable', debug: { host: '127.245.0.40', port: 0 }, log: () => {} });

test('plaintext xDS is refused on an address other machines can reach', async () => {
  assert.deepEqual(['127.245.0.40', '::1', 'localhost', '10.0.0.1', '0.0.0.0'].map(isLoopbackHost), [true, true, true, false, false]);
  await assert.rejects(
    runControlPlane({ ...base(), xds: { host: '0.0.0.0', securePort: 0, plaintextPort: 0 } }),
    /control-plane cluster-1: plaintext xDS \(--plaintext-xds-port\) serves any caller without authentication, so only on a loopback address \(127\.0\.0\.0\/8, ::1\), not 0\.0\.0\.0/,
  );
});

test('without Secret istio-system/cacerts the control plane does not start, and says how to make one', async () => {
  await assert.rejects(
    runControlPlane({ ...base(), xds: { host: '127.245.0.40', securePort: 0 } }),
    /control-plane cluster-1: secret istio-system\/cacerts not found: .*Run `meshwork install` for this cluster .*or create it from your CA's ca-cert\.pem, ca-key\.pem, root-cert\.pem and cert-chain\.pem/,
  );
});
