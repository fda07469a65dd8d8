import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type CertificateAuthority, type IssuedCertificate, createCertificateAuthority, issueClientCertificate, issueServerCertificate } from './authority.js';

const run = promisify(execFile);

interface Reply {
  status: number;
  body: string;
}

function get(port: number, opts: { ca: string; servername?: string; host?: string; cert?: string; key?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: opts.host ?? '127.0.0.1', port, path: '/', ca: opts.ca, servername: opts.servername, cert: opts.cert, key: opts.key, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('pki', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let serverCert: IssuedCertificate;
  let client: IssuedCertificate;
  let server: Server;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshwork-pki-'));
    ca = await createCertificateAuthority('cluster-test-ca');
    serverCert = await issueServerCertificate(ca, { commonName: 'kube-apiserver', dnsNames: ['localhost', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1'] });
    client = await issueClientCertificate(ca, { commonName: 'alice', organization: ['system:masters', 'devs'] });
    writeFileSync(join(dir, 'ca.crt'), ca.certPem);
    writeFileSync(join(dir, 'client.crt'), client.certPem);
    writeFileSync(join(dir, 'client.key'), client.keyPem, { mode: 0o600 });
    // Answers "ok" like /healthz, and names the client certificate's subject when one was presented.
    server = createServer({ cert: serverCert.certPem, key: serverCert.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const who = socket.authorized && peer.subject ? ` ${peer.subject.CN} ${String(peer.subject.O)}` : '';
      res.end(`ok${who}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues certificates with the expected names and chain', () => {
    const caCert = new X509Certificate(ca.certPem);
    const leaf = new X509Certificate(serverCert.certPem);
    assert.equal(caCert.ca, true);
    assert.equal(leaf.ca, false);
    assert.ok(leaf.verify(caCert.publicKey), 'signed by the CA');
    assert.ok(leaf.checkIssued(caCert));
    assert.equal(leaf.subjectAltName, 'DNS:localhost, DNS:kubernetes.default.svc, IP Address:127.0.0.1');
    assert.equal(leaf.publicKey.asymmetricKeyType, 'ec');
    assert.equal(leaf.checkHost('localhost'), 'localhost');
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkIP('127.0.0.2'), undefined);
    assert.match(new X509Certificate(client.certPem).subject, /CN=alice/);
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  });

  it('is accepted by Node TLS, by IP and by host name, and rejected for other names', async () => {
    assert.equal((await get(port, { ca: ca.certPem })).body, 'ok');
    assert.equal((await get(port, { ca: ca.certPem, servername: 'localhost' })).body, 'ok');
    await assert.rejects(get(port, { ca: ca.certPem, servername: 'elsewhere.example' }), /ERR_TLS_CERT_ALTNAME_INVALID|does not match/);
    const otherCa = await createCertificateAuthority('other');
    await assert.rejects(get(port, { ca: otherCa.certPem }), /self.signed|unable to verify|UNABLE_TO_VERIFY/i);
  });

  it('presents a client certificate the server verifies against the CA', async () => {
    const reply = await get(port, { ca: ca.certPem, cert: client.certPem, key: client.keyPem });
    assert.equal(reply.body, 'ok alice system:masters,devs');
  });

  it('is accepted by curl --cacert, by IP and by name, with a client certificate', async () => {
    const caFile = join(dir, 'ca.crt');
    const byIp = await run('curl', ['-sS', '--max-time', '10', '--cacert', caFile, `https://127.0.0.1:${port}/`]);
    assert.equal(byIp.stdout, 'ok');
    const byName = await run('curl', ['-sS', '--max-time', '10', '--cacert', caFile, '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/`]);
    assert.equal(byName.stdout, 'ok');
    const withCert = await run('curl', ['-sS', '--max-time', '10', '--cacert', caFile, '--cert', join(dir, 'client.crt'), '--key', join(dir, 'client.key'), `https://127.0.0.1:${port}/`]);
    assert.equal(withCert.stdout, 'ok alice system:masters,devs');
    await assert.rejects(
      run('curl', ['-sS', '--max-time', '10', '--cacert', caFile, '--resolve', `wrong.example:${port}:127.0.0.1`, `https://wrong.example:${port}/`]),
      /SSL|certificate|subject/i,
    );
  });

  it("is accepted by kubectl's Go TLS", async () => {
    const { stdout } = await run('kubectl', ['--server', `https://127.0.0.1:${port}`, '--certificate-authority', join(dir, 'ca.crt'), '--token', 't', 'get', '--raw', '/healthz'], {
      env: { ...process.env, KUBECONFIG: join(dir, 'none') },
      timeout: 20_000,
    });
    assert.equal(stdout.trim(), 'ok');
    const { stdout: withCert } = await run(
      'kubectl',
      ['--server', `https://127.0.0.1:${port}`, '--certificate-authority', join(dir, 'ca.crt'), '--client-certificate', join(dir, 'client.crt'), '--client-key', join(dir, 'client.key'), 'get', '--raw', '/healthz'],
      { env: { ...process.env, KUBECONFIG: join(dir, 'none') }, timeout: 20_000 },
    );
    assert.equal(withCert.trim(), 'ok alice system:masters,devs');
  });

  it('rejects bad requests loudly', async () => {
    await assert.rejects(issueServerCertificate(ca, { commonName: 'x', dnsNames: [], ipAddresses: ['not-an-ip'] }), /not an IP address/);
    await assert.rejects(issueServerCertificate(ca, { commonName: 'x', dnsNames: [], ipAddresses: [] }), /at least one/);
    await assert.rejects(issueServerCertificate(ca, { commonName: 'x', dnsNames: ['a'], ipAddresses: [], days: 0 }), /positive/);
  });
});
