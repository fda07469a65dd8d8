import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { before, describe, it } from 'node:test';
import { cacertsSecret, certificateFingerprint, checkCaCerts, createClusterCaCerts, createMeshRoot, readCacertsSecret, type CaCerts } from './cacerts.js';
import { issueServerCertificate } from './authority.js';
import { issueServingCertificate, issuingCa, signWorkloadCsr, workloadTtlSeconds, type IssuingCa } from './sign.js';
import { KEY_ALGORITHM, SIGNING_ALGORITHM, x509, type PemPair } from './x509.js';

const SPIFFE = 'spiffe://cluster.local/ns/sample/sa/sleep';

async function makeCsr(sans: x509.JsonGeneralName[]): Promise<{ csrPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans, true)] : [],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { csrPem: csr.toString('pem'), keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY') };
}

describe('mesh PKI', () => {
  let root: PemPair;
  let otherRoot: PemPair;
  let cluster1: CaCerts;
  let cluster2: CaCerts;
  let ca: IssuingCa;

  before(async () => {
    root = await createMeshRoot();
    otherRoot = await createMeshRoot();
    cluster1 = await createClusterCaCerts(root, 'cluster-1');
    cluster2 = await createClusterCaCerts(root, 'cluster-2');
    ca = await issuingCa(cluster1);
  });

  it('a cluster intermediate is a CA signed by the mesh root, and its cacerts chain verifies', () => {
    const rootCert = new X509Certificate(root.certPem);
    for (const files of [cluster1, cluster2]) {
      const intermediate = new X509Certificate(files.caCertPem);
      assert.equal(intermediate.ca, true);
      assert.equal(intermediate.verify(rootCert.publicKey), true);
      assert.equal(intermediate.checkIssued(rootCert), true);
      assert.equal(certificateFingerprint(files.rootCertPem), rootCert.fingerprint256);
      checkCaCerts(files, 'test');
    }
    assert.notEqual(cluster1.caCertPem, cluster2.caCertPem);
  });

  it('the cacerts Secret round-trips Istio\'s four keys; a missing key is named', () => {
    const secret = cacertsSecret('istio-system', cluster1);
    assert.deepEqual(Object.keys(secret.data as object).sort(), ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);
    assert.deepEqual(readCacertsSecret(secret), cluster1);
    const data = { ...(secret.data as Record<string, string>) };
    delete data['cert-chain.pem'];
    assert.throws(() => readCacertsSecret({ ...secret, data }), /secret istio-system\/cacerts has no data key cert-chain\.pem/);
  });

  it('refuses a key that is not the intermediate\'s, an intermediate of another root, a non-CA, an expired CA', async () => {
    assert.throws(() => checkCaCerts({ ...cluster1, caKeyPem: cluster2.caKeyPem }, 'cacerts'), /cacerts: ca-key\.pem does not match the certificate in cacerts: ca-cert\.pem/);
    assert.throws(
      () => checkCaCerts({ ...cluster1, rootCertPem: otherRoot.certPem, certChainPem: cluster1.caCertPem + otherRoot.certPem }, 'cacerts'),
      /the intermediate cacerts: ca-cert\.pem .* is not signed by cacerts: cert-chain\.pem certificate 2/,
    );
    assert.throws(() => checkCaCerts({ ...cluster1, rootCertPem: otherRoot.certPem, certChainPem: cluster1.caCertPem }, 'cacerts'), /is not signed by cacerts: root-cert\.pem/);
    const leaf = await issueServerCertificate({ certPem: cluster1.caCertPem, keyPem: cluster1.caKeyPem }, { commonName: 'x', dnsNames: ['x'], ipAddresses: [] });
    assert.throws(() => checkCaCerts({ ...cluster1, caCertPem: leaf.certPem, caKeyPem: leaf.keyPem, certChainPem: leaf.certPem + root.certPem }, 'cacerts'), /ca-cert\.pem .* is not a CA certificate/);
    const later = new Date(Date.now() + 20 * 365 * 24 * 3600 * 1000);
    assert.throws(() => checkCaCerts(cluster1, 'cacerts', later), /cacerts: ca-cert\.pem .* expired on/);
    assert.throws(() => checkCaCerts({ ...cluster1, certChainPem: cluster2.caCertPem + root.certPem }, 'cacerts'), /cert-chain\.pem must begin with ca-cert\.pem/);
  });

  it('signs a CSR for the caller\'s own SPIFFE ID: [leaf, intermediate, root], the leaf verifies up to the root', async () => {
    const { csrPem } = await makeCsr([{ type: 'url', value: SPIFFE }]);
    const chain = await signWorkloadCsr(ca, { csrPem, spiffeId: SPIFFE, ttlSeconds: 120 });
    assert.equal(chain.length, 3);
    const [leaf, intermediate, rootCert] = chain.map((pem) => new X509Certificate(pem));
    assert.equal(leaf!.subjectAltName, `URI:${SPIFFE}`);
    assert.equal(leaf!.ca, false);
    assert.deepEqual(leaf!.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.equal(leaf!.verify(intermediate!.publicKey), true);
    assert.equal(intermediate!.verify(rootCert!.publicKey), true);
    assert.equal(rootCert!.fingerprint256, certificateFingerprint(root.certPem));
    assert.equal((new Date(leaf!.validTo).getTime() - new Date(leaf!.validFrom).getTime()) / 1000, 120);
  });

  it('refuses a CSR for another identity, naming both; extra SANs; no SAN; a CSR whose signature does not verify', async () => {
    const other = await makeCsr([{ type: 'url', value: 'spiffe://cluster.local/ns/sample/sa/admin' }]);
    await assert.rejects(signWorkloadCsr(ca, { csrPem: other.csrPem, spiffeId: SPIFFE }), (err: Error & { kind?: string }) => {
      assert.match(err.message, /the CSR asks for URI:spiffe:\/\/cluster\.local\/ns\/sample\/sa\/admin, but the caller is spiffe:\/\/cluster\.local\/ns\/sample\/sa\/sleep/);
      assert.equal(err.kind, 'forbidden');
      return true;
    });
    const extra = await makeCsr([{ type: 'url', value: SPIFFE }, { type: 'dns', value: 'evil.example' }]);
    await assert.rejects(signWorkloadCsr(ca, { csrPem: extra.csrPem, spiffeId: SPIFFE }), /asks for URI:spiffe:.*, DNS:evil\.example, but the caller is/);
    const none = await makeCsr([]);
    await assert.rejects(signWorkloadCsr(ca, { csrPem: none.csrPem, spiffeId: SPIFFE }), /asks for no subject alternative name/);
    const good = await makeCsr([{ type: 'url', value: SPIFFE }]);
    const der = Buffer.from(x509.PemConverter.decode(good.csrPem)[0]!);
    der[der.length - 2] ^= 0x01; // inside the signature's last integer
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await assert.rejects(signWorkloadCsr(ca, { csrPem: tampered, spiffeId: SPIFFE }), /the CSR signature does not verify/);
  });

  it('lifetime: default 24 h, capped by the maximum, below a minute refused', () => {
    assert.equal(workloadTtlSeconds(undefined), 86400);
    assert.equal(workloadTtlSeconds(0), 86400);
    assert.equal(workloadTtlSeconds(7 * 86400), 86400);
    assert.equal(workloadTtlSeconds(3600, 600), 600);
    assert.throws(() => workloadTtlSeconds(5), /below the minimum of 60s/);
  });

  it('TLS: the serving certificate is trusted with the root alone; a workload certificate authenticates as its SPIFFE ID', async () => {
    const serving = await issueServingCertificate(ca, { dnsNames: ['istiod.istio-system.svc'], ipAddresses: ['127.245.0.1'] });
    const server = createServer({ cert: serving.certChainPem, key: serving.keyPem, ca: root.certPem, requestCert: true, rejectUnauthorized: true }, (socket) => {
      const peer = socket.getPeerCertificate();
      socket.end(`${peer.subjectaltname}\n`);
    });
    server.listen(0, '127.245.0.1');
    await once(server, 'listening');
    try {
      const { csrPem, keyPem } = await makeCsr([{ type: 'url', value: SPIFFE }]);
      const chain = await signWorkloadCsr(ca, { csrPem, spiffeId: SPIFFE });
      const port = (server.address() as AddressInfo).port;
      const socket: TLSSocket = connect({ host: '127.245.0.1', port, servername: 'istiod.istio-system.svc', ca: root.certPem, cert: chain.slice(0, -1).join(''), key: keyPem });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      await once(socket, 'end');
      assert.equal(socket.authorized, true);
      assert.equal(text.trim(), `URI:${SPIFFE}`);
      // By IP too: the IP SAN.
      const byIp = connect({ host: '127.245.0.1', port, ca: root.certPem, cert: chain.slice(0, -1).join(''), key: keyPem });
      await once(byIp, 'secureConnect');
      assert.equal(byIp.authorized, true);
      byIp.destroy();
      // Another mesh's root does not trust it.
      const stranger = connect({ host: '127.245.0.1', port, servername: 'istiod.istio-system.svc', ca: otherRoot.certPem });
      const [err] = (await once(stranger, 'error')) as [Error & { code?: string }];
      assert.match(err.code ?? err.message, /UNABLE_TO_GET_ISSUER_CERT|unable to get|UNABLE_TO_VERIFY/i);
    } finally {
      server.close();
    }
  });

  it('a user\'s RSA plug-in CA made with openssl (Istio\'s samples/certs shape, PKCS#1 keys) signs workload and serving certificates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plugin-ca-'));
    try {
      const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root-key.pem', '-out', 'root-cert.pem', '-days', '30', '-subj', '/O=Istio/CN=Root CA',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.csr', '-subj', '/O=Istio/CN=Intermediate CA/L=cluster-1');
      writeFileSync(join(dir, 'ext.cnf'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n');
      openssl('x509', '-req', '-in', 'ca.csr', '-CA', 'root-cert.pem', '-CAkey', 'root-key.pem', '-CAcreateserial', '-days', '10', '-out', 'ca-cert.pem', '-extfile', 'ext.cnf');
      openssl('pkey', '-in', 'ca-key.pem', '-traditional', '-out', 'ca-key-pkcs1.pem');
      const read = (f: string) => readFileSync(join(dir, f), 'utf8');
      assert.match(read('ca-key-pkcs1.pem'), /BEGIN RSA PRIVATE KEY/);
      const files: CaCerts = { caCertPem: read('ca-cert.pem'), caKeyPem: read('ca-key-pkcs1.pem'), rootCertPem: read('root-cert.pem'), certChainPem: read('ca-cert.pem') + read('root-cert.pem') };
      checkCaCerts(files, 'plug-in');
      const rsaCa = await issuingCa(files);
      const { csrPem } = await makeCsr([{ type: 'url', value: SPIFFE }]);
      const chain = (await signWorkloadCsr(rsaCa, { csrPem, spiffeId: SPIFFE })).map((pem) => new X509Certificate(pem));
      assert.equal(chain.length, 3);
      assert.equal(chain[0]!.verify(chain[1]!.publicKey), true);
      assert.equal(chain[1]!.verify(chain[2]!.publicKey), true);
      const serving = await issueServingCertificate(rsaCa, { dnsNames: ['istiod.istio-system.svc'], ipAddresses: [] });
      assert.equal(new X509Certificate(serving.certChainPem).verify(chain[1]!.publicKey), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
