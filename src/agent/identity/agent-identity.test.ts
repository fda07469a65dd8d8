// A pod's agent with certificates, end to end with real processes: a test control plane on TLS
// (testdata/test-ca.ts: CreateCertificate and ADS, both checking the Bearer token), the agent from the
// injected environment, and a real Envoy that gets its ADS through the agent's XDS proxy and its
// certificate through the agent's SDS socket, and terminates TLS with it; then a rotation. The same
// agent with the meshwork proxy: TLS xDS and NDS with the token, the certificate in its config_dump.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tls from 'node:tls';
import { NO_ENVOY, testEnvoyPath } from '../../envoy/testdata/live-envoy.js';
import { formatSecretsView, secretsView } from '../../mesh-cli/proxy-config-secrets.js';
import { edsCluster, httpListener, loadAssignment, routeConfig } from '../../proxy/testutil/envoy.js';
import { createCertificateAuthority, issueClientCertificate } from '../../security/pki/authority.js';
import { certificateInfo } from '../../security/certificate-info.js';
import { SnapshotCache } from '../../xds/cache.js';
import { TYPE_URLS } from '../../xds/protos.js';
import { createXdsServer } from '../../xds/server.js';
import { agentConfigFromEnv, startAgent, type RunningAgent } from '../proxy-agent.js';
import { startTestCa, type TestCa } from './testdata/test-ca.js';

const envoyPath = testEnvoyPath();
const CONTROL_PLANE_IP = '127.246.1.1';
const SPIFFE = 'spiffe://cluster.local/ns/test/sa/app';
const TLS_PORT = 8443;
const MTLS_PORT = 8444;

const SDS_CONFIG = {
  api_config_source: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] },
  initial_fetch_timeout: { seconds: 0 },
  resource_api_version: 'V3',
};

/** A listener terminating TLS with the workload secrets from SDS (mutual: clients verified against ROOTCA), answering every request itself. */
function tlsListener(podIp: string, port: number, mutual: boolean): Record<string, unknown> {
  return {
    name: `tls-in-${port}`,
    address: { socket_address: { address: podIp, port_value: port } },
    filter_chains: [{
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
          require_client_certificate: { value: mutual },
          common_tls_context: {
            tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS_CONFIG }],
            combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS_CONFIG } },
          },
        },
      },
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: 'tls_in',
          route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'tls ok\n' } } }] }] },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
        },
      }],
    }],
  };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text() };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TLS connection that verifies the server against the mesh root and reads its URI SAN (no host names in workload certs). */
function connectTls(host: string, rootPem: string, client?: { port: number; cert: string; key: string }): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host, port: client?.port ?? TLS_PORT, servername: 'app.test.svc.cluster.local', ca: rootPem, checkServerIdentity: () => undefined, timeout: 3000,
      ...(client ? { cert: client.cert, key: client.key } : {}),
    }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** One HTTP/1.1 request on an open (kept-alive) TLS connection; resolves with the response text. */
function request(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('tls ok\n')) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('GET / HTTP/1.1\r\nhost: app\r\n\r\n');
  });
}

function env(podIp: string, dataPlane: 'envoy' | 'meshwork', ca: TestCa, saDir: string, ttl: string): NodeJS.ProcessEnv {
  return {
    POD_NAME: 'app-1', POD_NAMESPACE: 'test', INSTANCE_IP: podIp, SERVICE_ACCOUNT: 'app', CLUSTER_ID: 'cluster-1', MESHWORK_DATA_PLANE: dataPlane,
    XDS_ADDRESS: ca.address, CA_ADDR: ca.address, MESHWORK_ROOT_CERT: ca.root.certPem, MESHWORK_SERVICEACCOUNT_DIR: saDir, SECRET_TTL: ttl,
  };
}

for (const dataPlane of ['envoy', 'meshwork'] as const) {
  const podIp = dataPlane === 'envoy' ? '127.246.1.2' : '127.246.1.3';
  describe(`an agent with certificates, ${dataPlane} data plane`, { skip: dataPlane === 'envoy' && !envoyPath ? NO_ENVOY : false }, () => {
    const cache = new SnapshotCache();
    const xds = createXdsServer({ cache, log: () => {} });
    let ca: TestCa;
    let agent: RunningAgent;
    const saDir = mkdtempSync(join(tmpdir(), 'agent-sa-'));
    const lines: string[] = [];

    before(async () => {
      ca = await startTestCa({ host: CONTROL_PLANE_IP, xds });
      writeFileSync(join(saDir, 'token'), 'pod-token\n');
      ca.tokens.set('pod-token', SPIFFE);
      const config = agentConfigFromEnv('sidecar', env(podIp, dataPlane, ca, saDir, dataPlane === 'envoy' ? '5s' : '24h'));
      cache.setSnapshot(config.nodeId, {
        resources: {
          // The meshwork proxy's TLS termination is not this test's: it gets a plaintext listener.
          ...(dataPlane === 'envoy'
            ? { [TYPE_URLS.listener]: new Map([[`tls-in-${TLS_PORT}`, tlsListener(podIp, TLS_PORT, false)], [`tls-in-${MTLS_PORT}`, tlsListener(podIp, MTLS_PORT, true)]]) }
            : {
              [TYPE_URLS.listener]: new Map([['in', httpListener('in', podIp, 8080, 'in')]]),
              [TYPE_URLS.route]: new Map([['in', routeConfig('in', [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }])]]),
            }),
          [TYPE_URLS.cluster]: new Map([['app', edsCluster('app')]]),
          [TYPE_URLS.endpoint]: new Map([['app', loadAssignment('app', [{ host: '127.246.1.9', port: 8080 }])]]),
          [TYPE_URLS.nameTable]: new Map([['name-table', { table: { 'api.test.svc.cluster.local': { ips: ['127.246.1.10'], registry: 'Kubernetes', shortname: 'api', namespace: 'test' } } }]]),
        },
      });
      // The CA is down at first: the pod must wait for its certificate (checked in the first test).
      ca.down = true;
      agent = await startAgent(config, { log: (l) => lines.push(l), accessLog: false });
    });
    after(async () => {
      await agent?.drainAndStop(0);
      await ca?.close();
      rmSync(saDir, { recursive: true, force: true });
    });

    it('is ready once its certificate is in and its config came over TLS with the token', async () => {
      await until('a refused certificate request', async () => (ca.unavailable > 0 ? true : undefined));
      const waiting = await get(`http://${podIp}:15021/healthz/ready`);
      assert.deepEqual(waiting, { status: 503, body: 'waiting for the workload certificate from the CA\n' });
      ca.down = false;
      await until('ready', async () => ((await get(`http://${podIp}:15021/healthz/ready`)).status === 200 ? true : undefined));
      assert.deepEqual(agent.certificates?.certificate()?.info.uriSans, [SPIFFE]);
      assert.equal(agentConfigFromEnv('sidecar', env(podIp, dataPlane, ca, saDir, '1h')).metadata.SERVICE_ACCOUNT, 'app', 'node metadata SERVICE_ACCOUNT, matched to the token by the control plane');
      assert.ok(ca.xdsStreams >= 2, `the data plane's ADS and the agent's NDS, both authenticated (${ca.xdsStreams} streams)`);
      assert.equal(ca.refused, 0);
      const proxies = xds.status().filter((p) => p.nodeId.includes(podIp));
      assert.equal(proxies.length, 1, 'the data plane is connected (the agent\'s NDS stream is not a proxy)');
      assert.match(proxies[0]!.userAgent ?? '', dataPlane === 'envoy' ? /envoy/ : /meshwork-proxy/);
      const r = new Resolver({ timeout: 2000, tries: 1 });
      r.setServers([`${podIp}:15053`]);
      assert.deepEqual(await r.resolve4('api'), ['127.246.1.10'], 'NDS over TLS');
    });

    it('dumps its secrets as Envoy does, keys redacted, and proxy-config secret reads them', async () => {
      const dump = await get(`http://${podIp}:15000/config_dump`);
      assert.equal(dump.status, 200);
      assert.doesNotMatch(dump.body, /PRIVATE KEY|LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t/, 'no private key, in PEM or base64');
      const part = (JSON.parse(dump.body) as { configs: Array<Record<string, unknown>> }).configs.find((c) => String(c['@type']).endsWith('.SecretsConfigDump'));
      assert.ok(part, 'a SecretsConfigDump');
      const view = secretsView(part, new Date());
      const cert = agent.certificates!.certificate()!;
      assert.deepEqual(view.problems, []);
      assert.equal(view.identity, SPIFFE);
      assert.equal(view.rootFingerprintSha256, certificateInfo(ca.root.certPem).fingerprintSha256);
      const byName = new Map(view.secrets.map((s) => [s.name, s]));
      assert.deepEqual({ ...byName.get('default'), notAfter: undefined, notBefore: undefined }, {
        name: 'default', type: 'Cert Chain', status: 'ACTIVE', validCert: true, serialNumber: cert.info.serialNumber.replace(/^0+/, ''),
        notAfter: undefined, notBefore: undefined, uriSans: [SPIFFE], fingerprintSha256: cert.info.fingerprintSha256,
      });
      assert.equal(byName.get('default')?.notAfter, cert.info.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'));
      assert.equal(byName.get('ROOTCA')?.type, 'CA');
      const table = formatSecretsView(view);
      assert.match(table, /^RESOURCE NAME\s+TYPE\s+STATUS\s+VALID CERT\s+SERIAL NUMBER\s+NOT AFTER\s+NOT BEFORE$/m);
      assert.match(table, new RegExp(`^default\\s+Cert Chain\\s+ACTIVE\\s+true\\s+${byName.get('default')!.serialNumber}\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`, 'm'));
      assert.match(table, /^ROOTCA\s+CA\s+ACTIVE\s+true\s+[0-9a-f]+/m);
      assert.match(table, new RegExp(`^IDENTITY: ${SPIFFE}$`, 'm'));
    });

    if (dataPlane === 'envoy') {
      it('Envoy verifies client certificates against ROOTCA from SDS', async () => {
        const meshClient = await issueClientCertificate(ca.root, { commonName: 'mesh-client' });
        const socket = await until('a mutual TLS handshake', () => connectTls(podIp, ca.root.certPem, { port: MTLS_PORT, cert: meshClient.certPem, key: meshClient.keyPem }));
        assert.match(await request(socket), /^HTTP\/1\.1 200 OK/);
        socket.destroy();
        const stranger = await issueClientCertificate(await createCertificateAuthority('not the mesh'), { commonName: 'stranger' });
        const refused = await connectTls(podIp, ca.root.certPem, { port: MTLS_PORT, cert: stranger.certPem, key: stranger.keyPem })
          // TLS 1.3: the client's handshake completes first; the server's alert comes with the first read.
          .then((s) => request(s).finally(() => s.destroy()))
          .catch((err: Error) => err);
        assert.ok(refused instanceof Error, `a client of another CA is refused, got ${String(refused)}`);
        assert.match(refused.message, /alert unknown ca/);
      });

      it('Envoy terminates TLS with the agent\'s certificate from SDS; a rotation reaches new connections and spares open ones', async (t) => {
        const first = agent.certificates!.certificate()!;
        const socket = await until('a TLS handshake with the SDS certificate', () => connectTls(podIp, ca.root.certPem));
        try {
          const served = socket.getPeerX509Certificate()!;
          assert.equal(served.serialNumber.toLowerCase(), first.info.serialNumber);
          assert.match(served.subjectAltName ?? '', new RegExp(`URI:${SPIFFE}`));
          assert.match(await request(socket), /^HTTP\/1\.1 200 OK/);
          // SECRET_TTL 5s: the agent rotates after half of it and pushes the new certificate over SDS.
          const second = await until('a rotation', async () => (agent.certificates!.issued() >= 2 ? agent.certificates!.certificate() : undefined), 10_000);
          assert.notEqual(second.info.serialNumber, first.info.serialNumber);
          const fresh = await until('a new connection with the new certificate', async () => {
            const s = await connectTls(podIp, ca.root.certPem);
            const serial = s.getPeerX509Certificate()?.serialNumber.toLowerCase();
            s.destroy();
            return serial === agent.certificates!.certificate()!.info.serialNumber ? serial : undefined;
          }, 5000);
          assert.notEqual(fresh, first.info.serialNumber);
          t.diagnostic(`new certificate served by Envoy ${Date.now() - second.receivedAt.getTime()} ms after the agent received it (SDS push, polled every 50 ms)`);
          assert.match(await request(socket), /^HTTP\/1\.1 200 OK/, 'the connection opened before the rotation still serves');
          assert.ok(!socket.destroyed);
        } finally {
          socket.destroy();
        }
        const dump = JSON.parse((await get(`http://${podIp}:15000/config_dump`)).body) as { configs: Array<Record<string, unknown>> };
        const secrets = secretsView(dump.configs.find((c) => String(c['@type']).endsWith('.SecretsConfigDump')), new Date());
        assert.equal(secrets.secrets.find((s) => s.name === 'default')?.serialNumber, agent.certificates!.certificate()!.info.serialNumber.replace(/^0+/, ''), 'Envoy holds the rotated certificate');
      });
    }
  });
}
