// Envoy accepts the mutual TLS we translate: inbound listeners under each PeerAuthentication mode and
// outbound clusters under each DestinationRule tls mode are pushed over our ADS server to a real Envoy
// whose `sds-grpc` cluster reaches a test SDS server (the pod agent's role). Envoy must end up LIVE with
// every listener and cluster active, NACK nothing, warn about nothing, and have fetched the secrets.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toXdsSnapshot } from '../controlplane/proxy-resources.js';
import { createCertificateAuthority, issueServerCertificate } from '../security/pki/authority.js';
import type { ProxyResources } from '../translate/envoy-types.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters } from '../translate/testdata/fixture.js';
import { MeshTranslator } from '../translate/translate.js';
import { SnapshotCache } from '../xds/cache.js';
import { TYPE_URLS } from '../xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import { NO_ENVOY, startTestEnvoy, testEnvoyPath, waitForEnvoySync } from './testdata/live-envoy.js';
import { meshSecrets, startTestSds, type TestSds } from './testdata/test-sds.js';

const envoyPath = testEnvoyPath();

const TCP_SERVICE = `
apiVersion: v1
kind: Service
metadata: {name: hello-tcp}
spec: {selector: {app: helloworld}, ports: [{name: tcp, port: 9000}]}
`;
const peer = (spec: string) => `
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: p}
spec: ${spec}
`;
const rule = (tls: string, extra = '') => `
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy:
    tls: ${tls}
${extra}  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
`;

interface Case {
  name: string;
  yaml: string;
  proxy: 'helloworld-v1' | 'sleep-1' | 'gateway-1';
  /** Inbound listener port -> how many filter chains Envoy must hold. */
  chains?: Record<number, number>;
}

const cases: Case[] = [
  { name: 'PERMISSIVE (nothing set): HTTP and TCP inbound, auto mTLS outbound', yaml: TCP_SERVICE, proxy: 'helloworld-v1', chains: { 5000: 2, 9000: 2 } },
  { name: 'STRICT mesh-wide', yaml: TCP_SERVICE + peer('{mtls: {mode: STRICT}}').replace('name: p}', 'name: p, namespace: istio-system}'), proxy: 'helloworld-v1', chains: { 5000: 1, 9000: 1 } },
  { name: 'DISABLE for the namespace', yaml: TCP_SERVICE + peer('{mtls: {mode: DISABLE}}'), proxy: 'helloworld-v1', chains: { 5000: 1, 9000: 1 } },
  { name: 'STRICT workload, port-level PERMISSIVE', yaml: TCP_SERVICE + peer('{selector: {matchLabels: {app: helloworld}}, mtls: {mode: STRICT}, portLevelMtls: {"9000": {mode: PERMISSIVE}}}'), proxy: 'helloworld-v1', chains: { 5000: 1, 9000: 2 } },
  { name: 'DestinationRule DISABLE (a subset ISTIO_MUTUAL)', yaml: rule('{mode: DISABLE}'), proxy: 'sleep-1' },
  { name: 'DestinationRule ISTIO_MUTUAL over HTTP/2', yaml: rule('{mode: ISTIO_MUTUAL, sni: hello.mesh}', '    connectionPool: {http: {h2UpgradePolicy: UPGRADE}}\n'), proxy: 'sleep-1' },
  { name: 'DestinationRule SIMPLE with credentialName, SANs and sni', yaml: rule('{mode: SIMPLE, credentialName: hello-cert, sni: hello.example.com, subjectAltNames: [hello.example.com]}'), proxy: 'gateway-1' },
  { name: 'DestinationRule MUTUAL with credentialName', yaml: rule('{mode: MUTUAL, credentialName: hello-cert}'), proxy: 'gateway-1' },
  { name: 'DestinationRule SIMPLE insecureSkipVerify, MUTUAL with file paths (reported)', yaml: rule('{mode: SIMPLE, insecureSkipVerify: true}', '    portLevelSettings: [{port: {number: 5000}, tls: {mode: MUTUAL, caCertificates: /etc/ca.pem}}]\n'), proxy: 'sleep-1' },
];

function translated(c: Case): { resources: ProxyResources; scoped: ReturnType<MeshTranslator['translateScoped']> } {
  const clusters = scenarioClusters(['destinationrule']);
  for (const cluster of clusters) cluster.apply('sample', parseYaml(c.yaml, c.name));
  const [c1] = clusters as [(typeof clusters)[0]];
  const pod = { 'helloworld-v1': () => proxyFor(c1.pod('helloworld-v1'), 'sidecar'), 'sleep-1': () => proxyFor(c1.pod('sleep'), 'sidecar'), 'gateway-1': () => proxyFor(c1.pod('istio-ingressgateway'), 'router') }[c.proxy]();
  // Listeners bind 127.22x: nothing else on this machine uses it.
  const move = (ip: string) => ip.replace(/^127\.(\d+)\./, (_m, b: string) => `127.${220 + (Number(b) % 30)}.`);
  const moved = { ...pod, ip: move(pod.ip), ...(pod.appIp ? { appIp: move(pod.appIp) } : {}) };
  // The endpoints move too: a sidecar's inbound listeners are those of its own endpoints.
  const mesh = buildSnapshot(clusters);
  mesh.endpoints = mesh.endpoints.map((e) => ({ ...e, address: move(e.address), ...(e.appAddress ? { appAddress: move(e.appAddress) } : {}) }));
  const translator = new MeshTranslator(mesh);
  return { resources: translator.translate(moved), scoped: translator.translateScoped(moved) };
}

describe('Envoy accepts translated mutual TLS (SotW ADS, SDS from a test agent)', { skip: envoyPath ? false : NO_ENVOY }, () => {
  const cache = new SnapshotCache();
  let xds: RunningXdsServer;
  let sds: TestSds;
  /** credentialName Secrets, as the control plane serves them to a gateway over ADS. */
  let credentialSecrets: Map<string, object>;
  before(async () => {
    xds = await startXdsServer({ host: '127.0.0.1', port: 0, cache, log: () => {} });
    sds = await startTestSds(await meshSecrets());
    const ca = await createCertificateAuthority('hello CA');
    const cert = await issueServerCertificate(ca, { commonName: 'hello', dnsNames: ['hello.example.com'], ipAddresses: [] });
    credentialSecrets = new Map<string, object>([
      ['kubernetes://hello-cert', { name: 'kubernetes://hello-cert', tls_certificate: { certificate_chain: { inline_string: cert.certPem }, private_key: { inline_string: cert.keyPem } } }],
      ['kubernetes://hello-cert-cacert', { name: 'kubernetes://hello-cert-cacert', validation_context: { trusted_ca: { inline_string: ca.certPem } } }],
    ]);
  });
  after(async () => {
    await xds?.close();
    sds?.close();
  });

  for (const [i, c] of cases.entries()) {
    it(c.name, async () => {
      const { resources, scoped } = translated(c);
      assert.deepEqual(resources.problems.filter((p) => p.severity === 'error'), []);
      const snapshot = toXdsSnapshot(scoped);
      snapshot.resources[TYPE_URLS.secret] = credentialSecrets;
      const nodeId = `${c.proxy.startsWith('gateway') ? 'router' : 'sidecar'}~127.250.1.${i + 1}~${c.proxy}-mtls.sample~sample.svc.cluster.local`;
      cache.setSnapshot(nodeId, snapshot);
      const envoy = await startTestEnvoy({ binary: envoyPath!, xdsPort: xds.port, nodeId, sdsPort: sds.port });
      try {
        await waitForEnvoySync(envoy, () => xds.xds.status(), nodeId);
        const rejected = [...(await envoy.stats('update_rejected|listener_create_failure|update_failure')).entries()].filter(([, v]) => v > 0);
        assert.deepEqual(rejected, [], 'Envoy rejected nothing');
        assert.deepEqual(envoy.log().filter((l) => /\]\[(warning|error|critical)\]/.test(l) && !/caught ENVOY_SIGTERM|config stream to xds-grpc closed/.test(l)), []);
        const dump = await envoy.configDump();
        const section = (type: string) => dump.configs.find((x) => String(x['@type']).endsWith(`.${type}`)) as Record<string, any>;
        const active = (section('ClustersConfigDump')['dynamic_active_clusters'] ?? []).map((e: any) => e.cluster.name).sort();
        assert.deepEqual(active, resources.clusters.map((x) => x.name).sort(), 'every cluster active (its secrets arrived)');
        const listeners = (section('ListenersConfigDump')['dynamic_listeners'] ?? []) as any[];
        assert.ok(listeners.every((l) => l.active_state), 'every listener active (its secrets arrived)');
        for (const [port, count] of Object.entries(c.chains ?? {})) {
          const held = listeners.find((l) => l.name.endsWith(`_${port}`));
          assert.equal(held?.active_state?.listener?.filter_chains?.length, count, `inbound ${port} filter chains`);
        }
        const usesMeshTls = JSON.stringify(resources).includes('"sds-grpc"');
        if (usesMeshTls) assert.deepEqual(sds.requested().filter((n) => n === 'default' || n === 'ROOTCA').sort(), ['ROOTCA', 'default']);
      } finally {
        await envoy.stop();
        cache.clearSnapshot(nodeId);
      }
    });
  }
});
