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

test('the serving certificate names the mesh config\'s discoveryAddress host, which injected proxies dial', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { connect } = await import('node:tls');
  const { stringify } = await import('yaml');
  const { cacertsSecret, createClusterCaCerts, createMeshRoot } = await import('../security/pki/cacerts.js');
  const dir = mkdtempSync(join(tmpdir(), 'cp-san-'));
  const file = join(dir, 'objects.yaml');
  const mesh = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-asm-managed-stable', namespace: 'istio-system' }, data: { mesh: 'defaultConfig:\n  discoveryAddress: cp.mesh.example:15012\n' } };
  writeFileSync(file, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } }, cacertsSecret('istio-system', await createClusterCaCerts(await createMeshRoot(), 'cluster-1')), mesh].map((o) => `---\n${stringify(o)}`).join(''));
  const applied = await cluster.kubectl(['apply', '-f', file]);
  assert.equal(applied.code, 0, applied.stderr);
  const cp = await runControlPlane({ ...base(), xds: { host: '127.245.0.41', securePort: 0 }, debug: { host: '127.245.0.41', port: 0 }, configStatus: false, syncTimeoutMs: 2000 });
  try {
    const cert = await new Promise<import('node:tls').PeerCertificate>((resolve, reject) => {
      const socket = connect({ host: '127.245.0.41', port: cp.secureXdsPort, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
        resolve(socket.getPeerCertificate());
        socket.destroy();
      });
      socket.once('error', reject);
    });
    assert.match(cert.subjectaltname ?? '', /DNS:cp\.mesh\.example/);
    assert.match(cert.subjectaltname ?? '', /IP Address:127\.245\.0\.41/);
    assert.match(cert.subjectaltname ?? '', /DNS:istiod-asm-managed-stable\.istio-system\.svc/);
  } finally {
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
