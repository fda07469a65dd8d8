// The agent's workload certificate against a real gRPC CA over TLS (testdata/test-ca.ts): the CSR's
// SPIFFE SAN, the Bearer token read from its file at every call, the requested TTL, rotation at half
// life, retries while the CA is down with the old certificate still served.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certificateInfo, splitPemChain } from '../../security/certificate-info.js';
import { ROOT_CA_SECRET, WORKLOAD_SECRET } from '../../security/secrets.js';
import { CaClient } from './ca-client.js';
import { identityConfigFromEnv } from './config.js';
import { createWorkloadCsr } from './csr.js';
import { controlPlaneCredentials } from './credentials.js';
import { parseGoDuration } from '../../config/duration.js';
import { startTestCa, type TestCa } from './testdata/test-ca.js';
import { rotationDelayMs, WorkloadCertificates } from './workload-certificates.js';

const SA_ID = 'spiffe://cluster.local/ns/sample/sa/sleep';

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('SECRET_TTL and the rotation time', () => {
  it('reads Go durations as Istio does, and names a bad one', () => {
    assert.equal(parseGoDuration('24h', 'SECRET_TTL'), 86_400_000);
    assert.equal(parseGoDuration('2m', 'SECRET_TTL'), 120_000);
    assert.equal(parseGoDuration('1h30m', 'SECRET_TTL'), 5_400_000);
    assert.equal(parseGoDuration('1.5s', 'SECRET_TTL'), 1500);
    assert.equal(parseGoDuration('500ms', 'SECRET_TTL'), 500);
    assert.throws(() => parseGoDuration('2 minutes', 'SECRET_TTL'), /SECRET_TTL: "2 minutes" is not a duration: .*"24h", "2m"/);
    assert.throws(() => parseGoDuration('10', 'SECRET_TTL'), /not a duration/);
  });

  it('rotates when half the life left at receipt has passed, whatever the notBefore', () => {
    const receivedAt = new Date(1_000_000);
    const info = { notAfter: new Date(1_000_000 + 3_600_000) };
    assert.equal(rotationDelayMs({ receivedAt, info }, 1_000_000), 1_800_000);
    assert.equal(rotationDelayMs({ receivedAt, info }, 1_000_000 + 1_000_000), 800_000);
    assert.equal(rotationDelayMs({ receivedAt, info }, 1_000_000 + 5_000_000), 0, 'overdue: now');
  });

  it('takes its settings from the injected environment; none without MESHWORK_ROOT_CERT', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n';
    assert.equal(identityConfigFromEnv({ XDS_ADDRESS: '127.246.0.1:15012' }, 'sample'), undefined);
    const config = identityConfigFromEnv({ XDS_ADDRESS: '127.246.0.1:15012', MESHWORK_ROOT_CERT: pem, MESHWORK_SERVICEACCOUNT_DIR: '/pods/x/.serviceaccount', SERVICE_ACCOUNT: 'sleep', TRUST_DOMAIN: 'mesh.example', SECRET_TTL: '2m' }, 'sample');
    assert.deepEqual(config, { spiffeId: 'spiffe://mesh.example/ns/sample/sa/sleep', rootCertPem: pem, caAddress: '127.246.0.1:15012', tokenPath: '/pods/x/.serviceaccount/token', ttlMs: 120_000 });
    assert.equal(identityConfigFromEnv({ XDS_ADDRESS: 'a:1', CA_ADDR: 'b:2', MESHWORK_ROOT_CERT: pem, MESHWORK_SERVICEACCOUNT_DIR: '/d' }, 'ns')?.ttlMs, 86_400_000, 'Istio\'s default 24h');
    assert.throws(() => identityConfigFromEnv({ XDS_ADDRESS: 'a:1', MESHWORK_ROOT_CERT: pem, MESHWORK_SERVICEACCOUNT_DIR: '/d', SECRET_TTL: 'soon' }, 'ns'), /SECRET_TTL: "soon" is not a duration/);
  });
});

describe('the workload certificate from a CA over TLS', () => {
  let ca: TestCa;
  const dir = mkdtempSync(join(tmpdir(), 'agent-identity-'));
  const tokenPath = join(dir, 'token');
  let client: CaClient;
  const running: WorkloadCertificates[] = [];
  const certificates = (ttlMs: number, lines: string[] = []): WorkloadCertificates => {
    const c = new WorkloadCertificates({ spiffeId: SA_ID, signer: client, ttlMs, rootCertPem: ca.root.certPem, log: (l) => lines.push(l), retry: { initialMs: 50, maxMs: 200 } });
    running.push(c);
    c.start();
    return c;
  };

  before(async () => {
    ca = await startTestCa({ host: '127.246.0.1' });
    writeFileSync(tokenPath, 'token-1\n');
    ca.tokens.set('token-1', SA_ID);
    client = new CaClient(ca.address, controlPlaneCredentials({ rootCertPem: ca.root.certPem, tokenPath }), 'cluster-1');
  });
  after(async () => {
    for (const c of running) c.stop();
    client?.close();
    await ca?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates a key, asks with the SPIFFE URI SAN and the token, and serves default and ROOTCA', async () => {
    const changes: string[] = [];
    const c = certificates(3_600_000);
    c.onChange((name) => changes.push(name));
    await c.waitFirst();
    const cert = c.certificate()!;
    assert.deepEqual(cert.info.uriSans, [SA_ID]);
    assert.equal(ca.issued.at(-1)?.ttlSeconds, 3600, 'SECRET_TTL is the requested validity_duration');
    assert.equal(ca.issued.at(-1)?.serial, cert.info.serialNumber);
    const secret = c.current(WORKLOAD_SECRET)!;
    assert.equal(splitPemChain(secret.certificateChainPem!).length, 1, 'the leaf; the root is what peers trust already');
    assert.match(secret.privateKeyPem!, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(c.current(ROOT_CA_SECRET)?.trustedCaPem, ca.root.certPem);
    assert.equal(c.current('kubernetes://other'), undefined);
    assert.deepEqual(changes, [WORKLOAD_SECRET]);
  });

  it('reads the token file at every call: a rotated token is used, a revoked one refused until it is replaced', async () => {
    writeFileSync(tokenPath, 'token-2\n');
    ca.tokens.delete('token-1');
    ca.tokens.set('token-2', SA_ID);
    assert.equal((await client.createCertificate((await createWorkloadCsr(SA_ID)).csrPem, 60)).length, 2);
    writeFileSync(tokenPath, 'revoked\n');
    const refusedBefore = ca.refused;
    const lines: string[] = [];
    const c = certificates(3_600_000, lines);
    await until('refused calls retried', () => (ca.refused >= refusedBefore + 2 ? true : undefined));
    assert.equal(c.certificate(), undefined);
    assert.ok(lines.some((l) => /CreateCertificate at 127\.246\.0\.1:\d+: UNAUTHENTICATED: test CA: unknown token; retrying in \d+ ms/.test(l)), lines.join('\n'));
    writeFileSync(tokenPath, 'token-2\n');
    await c.waitFirst();
    assert.deepEqual(c.certificate()?.info.uriSans, [SA_ID]);
  });

  it('refuses a CA answer for another identity', async () => {
    ca.tokens.set('token-2', 'spiffe://cluster.local/ns/other/sa/default');
    await assert.rejects(client.createCertificate((await createWorkloadCsr(SA_ID)).csrPem, 60), /PERMISSION_DENIED: test CA: the token is spiffe:\/\/cluster\.local\/ns\/other\/sa\/default/);
    ca.tokens.set('token-2', SA_ID);
  });

  it('rotates at half life with a fresh key, and keeps serving the old certificate while the CA is down', async () => {
    const c = certificates(2000);
    await c.waitFirst();
    const first = c.certificate()!;
    const second = await until('a rotation', () => (c.issued() >= 2 ? c.certificate() : undefined), 5000);
    assert.notEqual(second.info.serialNumber, first.info.serialNumber);
    assert.notEqual(second.keyPem, first.keyPem, 'a new key per certificate');
    const rotatedAfter = second.receivedAt.getTime() - first.receivedAt.getTime();
    // notAfter has whole seconds: the life left at receipt is 1-2 s, and half of it is when to rotate.
    const half = (first.info.notAfter.getTime() - first.receivedAt.getTime()) / 2;
    assert.ok(rotatedAfter >= half - 5 && rotatedAfter < half + 500, `rotated after ${rotatedAfter} ms, half the life is ${half} ms`);
    ca.down = true;
    await until('attempts while the CA is down', () => (ca.unavailable >= 3 ? true : undefined), 5000);
    assert.equal(c.certificate()?.info.serialNumber, second.info.serialNumber, 'the old certificate stays while the CA fails');
    assert.equal(c.issued(), 2);
    ca.down = false;
    const third = await until('a rotation after the CA is back', () => (c.issued() >= 3 ? c.certificate() : undefined), 5000);
    assert.ok(third.info.notAfter.getTime() > Date.now());
    assert.ok(certificateInfo(c.current(WORKLOAD_SECRET)!.certificateChainPem!).serialNumber === third.info.serialNumber);
  });
});
