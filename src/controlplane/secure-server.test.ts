// Port 15012 over real gRPC and TLS, callers authenticated by pod-bound service-account tokens that a
// real local API server issued (TokenRequest) and reviews (TokenReview).
import assert from 'node:assert/strict';
import { generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { KubeConfig } from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../local/apiserver/test-support.js';
import { ServiceAccountTokens } from '../local/serviceaccount/tokens.js';
import { certificateServiceClient, type IstioCertificateResponse } from '../security/ca-proto.js';
import { certificateFingerprint } from '../security/pki/cacerts.js';
import { issueServingCertificate, issuingCa } from '../security/pki/sign.js';
import { testCacerts } from '../security/pki/test-support.js';
import { KEY_ALGORITHM, SIGNING_ALGORITHM, x509 } from '../security/pki/x509.js';
import { SnapshotCache } from '../xds/cache.js';
import { adsServiceDefinition, TYPE_URLS, type DiscoveryRequest, type DiscoveryResponse, type XdsNode } from '../xds/protos.js';
import { createXdsServer } from '../xds/server.js';
import { ResponseQueue } from '../xds/testdata/ads-client.js';
import { echoSnapshot } from '../xds/testdata/echo-snapshot.js';
import { startSecureServer } from './secure-server.js';
import { ControlPlaneMetrics } from './metrics.js';
import { TokenReviewer } from './token-review.js';

const HOST = '127.245.0.12';

interface Pod {
  name: string;
  serviceAccount: string;
  token: string;
  node: XdsNode;
}

function nodeOf(name: string, serviceAccount: string, ip: string): XdsNode {
  return {
    id: `sidecar~${ip}~${name}.sample~sample.svc.cluster.local`,
    cluster: '',
    metadata: { fields: { NAMESPACE: { string_value: 'sample' }, POD_NAME: { string_value: name }, SERVICE_ACCOUNT: { string_value: serviceAccount }, CLUSTER_ID: { string_value: 'cluster-1' } } },
  };
}

async function csrFor(uri: string): Promise<string> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: SIGNING_ALGORITHM, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], true)] });
  return csr.toString('pem');
}

function bearer(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

describe('control plane port 15012: TLS, TokenReview, ADS and the CA', () => {
  const tokens = new ServiceAccountTokens(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  const cache = new SnapshotCache();
  const logs: string[] = [];
  let cluster: TestCluster;
  let server: { port: number; close(): Promise<void> };
  let rootPem = '';
  let sleep: Pod;
  let httpbin: Pod;
  let trustDomain = 'cluster.local';
  const metrics = new ControlPlaneMetrics(() => []);
  /** [citadel_server_csr_count, citadel_server_success_cert_issuance_count] now. */
  const caCounts = async (): Promise<[number, number]> => {
    const json = await metrics.registry.getMetricsAsJSON();
    const value = (name: string) => json.find((m) => m.name === name)?.values[0]?.value ?? 0;
    return [value('citadel_server_csr_count'), value('citadel_server_success_cert_issuance_count')];
  };
  let caClient: grpc.Client & { CreateCertificate: (req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void) => void };
  let adsClient: grpc.Client & { StreamAggregatedResources(md: grpc.Metadata): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> };

  async function makePod(name: string, serviceAccount: string, ip: string): Promise<Pod> {
    const created = await cluster.request('POST', '/api/v1/namespaces/sample/pods', {
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app', image: 'app' }] } },
    });
    assert.equal(created.status, 201, created.text);
    const uid = (created.json() as { metadata: { uid: string } }).metadata.uid;
    const issued = await cluster.request('POST', `/api/v1/namespaces/sample/serviceaccounts/${serviceAccount}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name, uid } } },
    });
    assert.equal(issued.status, 201, issued.text);
    return { name, serviceAccount, token: (issued.json() as { status: { token: string } }).status.token, node: nodeOf(name, serviceAccount, ip) };
  }

  function createCertificate(token: string | undefined, csr: string, validity = 3600): Promise<{ err: grpc.ServiceError | null; res?: IstioCertificateResponse }> {
    return new Promise((resolve) => caClient.CreateCertificate({ csr, validity_duration: validity }, bearer(token), (err, res) => resolve({ err, ...(res ? { res } : {}) })));
  }

  async function openStream(token: string | undefined, node: XdsNode): Promise<{ stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>; responses: ResponseQueue<DiscoveryResponse>; status: Promise<grpc.StatusObject> }> {
    const stream = adsClient.StreamAggregatedResources(bearer(token));
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => {});
    const responses = new ResponseQueue<DiscoveryResponse>(stream);
    stream.write({ node, type_url: TYPE_URLS.listener, resource_names: [] });
    return { stream, responses, status };
  }

  before(async () => {
    cluster = await startTestCluster({ serviceAccounts: tokens });
    assert.equal((await cluster.kubectl(['create', 'namespace', 'sample'])).code, 0);
    for (const sa of ['sleep', 'httpbin']) assert.equal((await cluster.kubectl(['create', 'serviceaccount', sa, '-n', 'sample'])).code, 0);
    sleep = await makePod('sleep-1', 'sleep', '127.245.0.20');
    httpbin = await makePod('httpbin-1', 'httpbin', '127.245.0.21');

    const { files } = await testCacerts('cluster-1');
    rootPem = files.rootCertPem;
    const ca = await issuingCa(files);
    const serving = await issueServingCertificate(ca, { dnsNames: ['istiod-asm-managed-stable.istio-system.svc', 'istiod.istio-system.svc'], ipAddresses: [HOST] });
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const reviewer = new TokenReviewer(kc);
    const xds = createXdsServer({ cache, log: (l) => logs.push(l) });
    server = await startSecureServer({ host: HOST, port: 0, xds, ca, serving, review: (t) => reviewer.review(t), trustDomain: () => trustDomain, metrics, log: (l) => logs.push(l) });
    cache.setSnapshot(sleep.node.id!, echoSnapshot({ backends: [{ name: 'a', port: 1001, weight: 100 }] }));

    // Verified against the mesh root alone, by the IP the proxies dial.
    const credentials = grpc.credentials.createSsl(Buffer.from(rootPem));
    const Ca = certificateServiceClient();
    caClient = new Ca(`${HOST}:${server.port}`, credentials) as unknown as typeof caClient;
    const Ads = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
    adsClient = new Ads(`${HOST}:${server.port}`, credentials) as unknown as typeof adsClient;
  });

  after(async () => {
    caClient?.close();
    adsClient?.close();
    await server?.close();
    await cluster?.close();
  });

  it('a pod\'s token gets [leaf, intermediate, root]; the leaf names its SPIFFE ID only and verifies up to the root', async () => {
    const id = 'spiffe://cluster.local/ns/sample/sa/sleep';
    const [csrs, issued] = await caCounts();
    const { err, res } = await createCertificate(sleep.token, await csrFor(id), 3600);
    assert.equal(err, null, err?.details);
    assert.deepEqual(await caCounts(), [csrs + 1, issued + 1], 'citadel_server_csr_count, citadel_server_success_cert_issuance_count');
    assert.equal(res?.cert_chain.length, 3);
    const [leaf, intermediate, root] = res!.cert_chain.map((pem) => new X509Certificate(pem));
    assert.equal(leaf!.subjectAltName, `URI:${id}`);
    assert.equal(leaf!.verify(intermediate!.publicKey), true);
    assert.equal(intermediate!.verify(root!.publicKey), true);
    assert.equal(root!.fingerprint256, certificateFingerprint(rootPem));
    assert.equal((new Date(leaf!.validTo).getTime() - new Date(leaf!.validFrom).getTime()) / 1000, 3600);
  });

  it('the SPIFFE ID follows the mesh\'s trust domain', async () => {
    trustDomain = 'mesh.example';
    try {
      const { err, res } = await createCertificate(sleep.token, await csrFor('spiffe://mesh.example/ns/sample/sa/sleep'));
      assert.equal(err, null, err?.details);
      assert.equal(new X509Certificate(res!.cert_chain[0]!).subjectAltName, 'URI:spiffe://mesh.example/ns/sample/sa/sleep');
    } finally {
      trustDomain = 'cluster.local';
    }
  });

  it('a CSR for another identity is PERMISSION_DENIED, naming both; it counts as a CSR, not as an issued certificate', async () => {
    const [csrs, issued] = await caCounts();
    const { err } = await createCertificate(sleep.token, await csrFor('spiffe://cluster.local/ns/sample/sa/httpbin'));
    assert.deepEqual(await caCounts(), [csrs + 1, issued]);
    assert.equal(err?.code, grpc.status.PERMISSION_DENIED);
    assert.match(err?.details ?? '', /asks for URI:spiffe:\/\/cluster\.local\/ns\/sample\/sa\/httpbin, but the caller is spiffe:\/\/cluster\.local\/ns\/sample\/sa\/sleep/);
  });

  it('no token, or one the cluster does not accept: UNAUTHENTICATED', async () => {
    const csr = await csrFor('spiffe://cluster.local/ns/sample/sa/sleep');
    const none = await createCertificate(undefined, csr);
    assert.equal(none.err?.code, grpc.status.UNAUTHENTICATED);
    assert.match(none.err?.details ?? '', /authorization: Bearer/);
    const forged = new ServiceAccountTokens(generateKeyPairSync('ec', { namedCurve: 'prime256v1' })).issueBound({ namespace: 'sample', serviceAccount: { name: 'sleep', uid: 'x' } }).token;
    const bad = await createCertificate(forged, csr);
    assert.equal(bad.err?.code, grpc.status.UNAUTHENTICATED);
    assert.match(bad.err?.details ?? '', /the token was not accepted/);
  });

  it('xDS: another workload\'s token asking for sleep\'s node is PERMISSION_DENIED, naming both; no token is UNAUTHENTICATED', async () => {
    const denied = await openStream(httpbin.token, sleep.node);
    const status = await denied.status;
    assert.equal(status.code, grpc.status.PERMISSION_DENIED);
    assert.match(status.details, /node "sidecar~127\.245\.0\.20~sleep-1\.sample~sample\.svc\.cluster\.local" claims .*sleep.*, but the token is system:serviceaccount:sample:httpbin of pod sample\/httpbin-1/);
    assert.equal(denied.responses.length, 0, 'no config sent');
    const anonymous = await openStream(undefined, sleep.node);
    assert.equal((await anonymous.status).code, grpc.status.UNAUTHENTICATED);
  });

  it('xDS: the pod\'s own token gets its node\'s config; requests sent while the token is reviewed are answered in order', async () => {
    const own = await openStream(sleep.token, sleep.node);
    own.stream.write({ type_url: TYPE_URLS.cluster, resource_names: [] });
    const lds = await own.responses.next(5000);
    assert.equal(lds.type_url, TYPE_URLS.listener);
    assert.equal(lds.resources.length, 1);
    const cds = await own.responses.next(5000);
    assert.equal(cds.type_url, TYPE_URLS.cluster);
    own.stream.cancel();
  });

  it('reviews are cached briefly: repeated calls with one token cost one TokenReview', async () => {
    const reviews = () => cluster.auditLines.filter((l) => l.includes(' POST /apis/authentication.k8s.io/v1/tokenreviews ')).length;
    const token = (await makePod('cached-1', 'sleep', '127.245.0.22')).token;
    const before = reviews();
    const csr = await csrFor('spiffe://cluster.local/ns/sample/sa/sleep');
    for (let i = 0; i < 3; i++) assert.equal((await createCertificate(token, csr)).err, null);
    assert.equal(reviews() - before, 1);
  });

  it('a deleted pod\'s token is refused once its review is no longer cached', async () => {
    const pod = await makePod('gone-1', 'sleep', '127.245.0.23');
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const uncached = new TokenReviewer(kc, { ttlMs: 0 });
    const first = await uncached.review(pod.token);
    assert.equal(first.ok && first.identity.podName, 'gone-1');
    assert.equal((await cluster.request('DELETE', '/api/v1/namespaces/sample/pods/gone-1')).status, 200);
    const after = await uncached.review(pod.token);
    assert.equal(after.ok, false);
    assert.match(!after.ok ? after.error : '', /pod sample\/gone-1 has been deleted/);
  });
});
