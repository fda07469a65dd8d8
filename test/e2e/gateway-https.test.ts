// HTTPS at the ingress gateway and at the multi-cluster ingress, as a user sets it up: a test CA and
// server certificates put into Secrets with kubectl, a Gateway with HTTPS servers on 443 (SIMPLE for
// hello.example.com, MUTUAL for mtls.example.com, each by SNI) and httpsRedirect on its HTTP server,
// and a MultiClusterIngress whose spec.template.spec.tls names a Secret: real curl with --cacert and
// --resolve against the gateway pod and the VIP. One local cluster on loopback octet 42.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate, type CertificateAuthority } from '../../src/security/pki/authority.js';
import { E2E_DATA_PLANE, MeshworkEnv, run } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { until } from '../helpers/until.js';

const CTX = 'cluster-1';
const NS = 'istio-gateway';

const GATEWAY = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: https-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [hello.example.com]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https-hello, protocol: HTTPS}
    hosts: [hello.example.com]
    tls: {mode: SIMPLE, credentialName: hello-cert}
  - port: {number: 443, name: https-mtls, protocol: HTTPS}
    hosts: [mtls.example.com]
    tls: {mode: MUTUAL, credentialName: mtls-cert}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: https-hello}
spec:
  hosts: [hello.example.com, mtls.example.com]
  gateways: [${NS}/https-gateway]
  http:
  - match: [{uri: {exact: /hello}}]
    route: [{destination: {host: helloworld.sample.svc.cluster.local, port: {number: 5000}}}]
`;

const OTHER_GATEWAY = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: other-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https-other, protocol: HTTPS}
    hosts: [other.example.com]
    tls: {mode: SIMPLE, credentialName: other-cert}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: other-hello}
spec:
  hosts: [other.example.com]
  gateways: [other-gateway]
  http: [{route: [{destination: {host: helloworld.sample.svc.cluster.local, port: {number: 5000}}}]}]
`;

const MCI = `apiVersion: networking.gke.io/v1beta1
kind: MultiClusterIngress
metadata: {name: istio-ingressgateway}
spec:
  template:
    spec:
      backend: {serviceName: istio-ingressgateway, servicePort: 80}
      tls: [{secretName: mci-cert}]
`;

/** The suite on one data plane. */
function suite(dataPlane: 'envoy' | 'meshwork'): void {
  describe(`HTTPS at the gateway and at the multi-cluster ingress (${dataPlane} data plane)`, { timeout: 300_000 }, () => {
    const env = new MeshworkEnv(42);
    let dir = '';
    const pem = (name: string) => join(dir, name);
    let gatewayIp = '';
    let ca: CertificateAuthority;

    /** curl's status code (000 when no HTTP answer) and exit code. */
    const curl = async (args: string[]): Promise<{ code: string; exit: number; stderr: string }> => {
      const res = await run('curl', ['-s', '-S', '-o', '/dev/null', '-w', '%{http_code}', '-m', '5', ...args]);
      return { code: res.stdout.trim(), exit: res.code, stderr: res.stderr };
    };
    const https = (host: string, ip: string, extra: string[] = []) => curl(['--cacert', pem('ca.pem'), '--resolve', `${host}:443:${ip}`, ...extra, `https://${host}/hello`]);

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'meshwork-https-'));
      ca = await createCertificateAuthority('meshwork e2e test root');
      const cert = (host: string) => issueServerCertificate(ca, { commonName: host, dnsNames: [host], ipAddresses: [] });
      const [hello, mtls, mci] = await Promise.all([cert('hello.example.com'), cert('mtls.example.com'), cert('mci.example.com')]);
      const client = await issueClientCertificate(ca, { commonName: 'client.example.com' });
      for (const [name, text] of Object.entries({
        'ca.pem': ca.certPem,
        'hello.crt': hello.certPem, 'hello.key': hello.keyPem,
        'mtls.crt': mtls.certPem, 'mtls.key': mtls.keyPem,
        'mci.crt': mci.certPem, 'mci.key': mci.keyPem,
        'client.crt': client.certPem, 'client.key': client.keyPem,
      })) writeFileSync(pem(name), text);

      const up = await env.up(1);
      assert.equal(up.code, 0, up.stderr + up.stdout);
      const install = await env.meshwork(['install', '--context', CTX, '--timeout', '90', '--data-plane', dataPlane], 120_000);
      assert.equal(install.code, 0, install.stderr + install.stdout);
      await env.deployHelloworld(CTX, [NS]);
      await env.kubectlOk(CTX, ['apply', '-n', NS, '-f', join(scenarioDir(), 'istio-ingressgateway')]);
      // The gateway's credentials live in the gateway pods' namespace: the control plane serves a Secret to
      // the gateways of its own namespace only (Istio's SDS authorization).
      await env.kubectlOk(CTX, ['create', 'secret', 'tls', 'hello-cert', '-n', NS, '--cert', pem('hello.crt'), '--key', pem('hello.key')]);
      await env.kubectlOk(CTX, ['create', 'secret', 'generic', 'mtls-cert', '-n', NS, `--from-file=tls.crt=${pem('mtls.crt')}`, `--from-file=tls.key=${pem('mtls.key')}`, `--from-file=ca.crt=${pem('ca.pem')}`]);
      await env.kubectlOk(CTX, ['apply', '-n', NS, '-f', '-'], GATEWAY);
      await env.kubectlOk(CTX, ['rollout', 'status', '-n', NS, 'deployment/istio-ingressgateway', '--timeout=90s']);
      await env.kubectlOk(CTX, ['rollout', 'status', '-n', 'sample', 'deployment/helloworld-v1', '--timeout=90s']);
      gatewayIp = (await env.kubectlOk(CTX, ['get', 'pods', '-n', NS, '-l', 'app=istio-ingressgateway', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    });

    after(async () => {
      await env.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('SIMPLE: curl --cacert ca.pem --resolve hello.example.com:443:<gateway> gets 200 from helloworld', async () => {
      await until('the gateway to serve HTTPS for hello.example.com', 60_000, async () => ((await https('hello.example.com', gatewayIp)).code === '200' ? true : undefined));
      const res = await run('curl', ['-s', '-m', '5', '--cacert', pem('ca.pem'), '--resolve', `hello.example.com:443:${gatewayIp}`, 'https://hello.example.com/hello']);
      assert.match(res.stdout, /Hello version: v1/);
      // HTTP/2 is offered (ALPN h2, http/1.1), as Istio's HTTPS servers do.
      const h2 = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_version}', '-m', '5', '--http2', '--cacert', pem('ca.pem'), '--resolve', `hello.example.com:443:${gatewayIp}`, 'https://hello.example.com/hello']);
      assert.equal(h2.stdout, '2');
    });

    test('MUTUAL: without a client certificate the handshake is refused; with one signed by ca.crt, 200', async () => {
      await until('the gateway to serve mtls.example.com with a client certificate', 60_000, async () =>
        ((await https('mtls.example.com', gatewayIp, ['--cert', pem('client.crt'), '--key', pem('client.key')])).code === '200' ? true : undefined));
      const refused = await https('mtls.example.com', gatewayIp);
      assert.notEqual(refused.exit, 0, `curl without a client certificate: ${JSON.stringify(refused)}`);
      assert.equal(refused.code, '000');
      // The SIMPLE server's certificate is not the MUTUAL one: SNI picks the chain.
      const wrongName = await curl(['--cacert', pem('ca.pem'), '--resolve', `mtls.example.com:443:${gatewayIp}`, '--connect-to', `mtls.example.com:443:hello.example.com:443`, 'https://mtls.example.com/hello']);
      assert.notEqual(wrongName.code, '200');
    });

    test('httpsRedirect: plain HTTP for hello.example.com gets 301 to https://', async () => {
      const res = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '-m', '5', '--resolve', `hello.example.com:80:${gatewayIp}`, 'http://hello.example.com/hello']);
      assert.equal(res.stdout, '301 https://hello.example.com/hello');
    });

    test('the MultiClusterIngress VIP terminates HTTPS on 443 with the Secret of spec.template.spec.tls: 200 through the gateway', async () => {
      await env.kubectlOk(CTX, ['create', 'secret', 'tls', 'mci-cert', '-n', NS, '--cert', pem('mci.crt'), '--key', pem('mci.key')]);
      await env.kubectlOk(CTX, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-gateway.yaml')]);
      for (const f of ['multiclusterservice.yaml', 'backendconfig.yaml']) await env.kubectlOk(CTX, ['apply', '-n', NS, '-f', join(scenarioDir(), f)]);
      await env.kubectlOk(CTX, ['apply', '-n', NS, '-f', '-'], MCI);
      const vip = await until('status.VIP', 60_000, async () => {
        const out = (await env.kubectlOk(CTX, ['get', 'MultiClusterIngress', '-n', NS, '-o', 'custom-columns=VIP:status.VIP', '--no-headers'])).trim();
        return out && out !== '<none>' ? out : undefined;
      });
      const host = vip.split(':')[0]!;
      await until('HTTPS on the VIP', 60_000, async () => ((await https('mci.example.com', host)).code === '200' ? true : undefined));
      const res = await run('curl', ['-s', '-m', '5', '--cacert', pem('ca.pem'), '--resolve', `mci.example.com:443:${host}`, 'https://mci.example.com/hello']);
      assert.match(res.stdout, /Hello version: v1/);
      // Plain HTTP on the VIP stays (GCLB serves both unless told otherwise).
      assert.equal((await curl([`http://${vip}/hello`])).code, '200');
    });

    test('a credentialName whose Secret is only in another namespace is not served (IST0101 on the Gateway); the rest of the gateway keeps serving; the Secret in the gateway\'s namespace fixes it', async () => {
      const other = await issueServerCertificate(ca, { commonName: 'other.example.com', dnsNames: ['other.example.com'], ipAddresses: [] });
      writeFileSync(pem('other.crt'), other.certPem);
      writeFileSync(pem('other.key'), other.keyPem);
      await env.kubectlOk(CTX, ['create', 'secret', 'tls', 'other-cert', '-n', 'istio-system', '--cert', pem('other.crt'), '--key', pem('other.key')]);
      await env.kubectlOk(CTX, ['apply', '-n', NS, '-f', '-'], OTHER_GATEWAY);
      const messages = await until('IST0101 in the Gateway\'s status', 30_000, async () => {
        const out = await env.kubectlOk(CTX, ['get', 'gateway', '-n', NS, 'other-gateway', '-o', 'jsonpath={.status.validationMessages[*].type.code}']);
        return out.includes('IST0101') ? out : undefined;
      });
      assert.equal(messages.trim(), 'IST0101');
      // The gateway's other hosts keep being served while other.example.com has no certificate.
      for (let i = 0; i < 20; i++) assert.equal((await https('hello.example.com', gatewayIp)).code, '200');
      await until('other.example.com refused, hello.example.com served', 30_000, async () => ((await https('other.example.com', gatewayIp)).exit !== 0 && (await https('hello.example.com', gatewayIp)).code === '200' ? true : undefined));
      await env.kubectlOk(CTX, ['create', 'secret', 'tls', 'other-cert', '-n', NS, '--cert', pem('other.crt'), '--key', pem('other.key')]);
      await until('other.example.com over HTTPS once its Secret is in the gateway\'s namespace', 30_000, async () => ((await https('other.example.com', gatewayIp)).code === '200' ? true : undefined));
      await until('the finding to clear', 30_000, async () =>
        ((await env.kubectlOk(CTX, ['get', 'gateway', '-n', NS, 'other-gateway', '-o', 'jsonpath={.status.validationMessages[*].type.code}'])).trim() === '' ? true : undefined));
    });

    test('every proxy runs the chosen data plane and none NACKed', async () => {
      const { nacks, userAgents, messages } = await env.controlPlaneNacks(CTX);
      const agent = dataPlane === 'envoy' ? /^envoy \d+\.\d+\.\d+$/ : /^meshwork-proxy /;
      assert.ok(userAgents.length > 0 && userAgents.every((a) => agent.test(a)), userAgents.join(', '));
      assert.equal(nacks, 0, messages.join('; '));
    });
  });
}

// The runner runs this file on Envoy and again on the meshwork proxy (MESHWORK_E2E_DATA_PLANE).
suite(E2E_DATA_PLANE === 'meshwork' ? 'meshwork' : 'envoy');
