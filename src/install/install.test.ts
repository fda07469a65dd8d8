// The whole join path on a real local API server, with the real kubectl: `meshwork install` applies the
// manifests (webhook configuration, TLS secret), a webhook server in the test serves the injector with
// the installed certificate, and `kubectl apply` of the scenario's helloworld pod in a namespace
// labelled istio.io/rev=asm-managed-stable stores the pod with its istio-proxy. Then create-mesh.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:https';
import { parseAllDocuments, stringify } from 'yaml';
import { findByKind, parseApiVersion, type ResourceType } from '../k8s/kinds.js';
import { generateKeyPairSync } from 'node:crypto';
import { ServiceAccountTokens } from '../local/serviceaccount/tokens.js';
import { startServiceAccountControllers, type RunningControllers } from '../local/controllers/index.js';
import { controlPlaneRbac } from './rbac.js';
import type { KubeObject } from '../k8s/object.js';
import { createInjectionWebhook } from '../inject/webhook.js';
import { mutatingWebhookAdmission, validatingWebhookAdmission } from '../local/admission/webhooks.js';
import { createValidationWebhook, VALIDATE_PATH } from '../controlplane/validation-webhook.js';
import { storeServiceResolver } from '../local/admission/service-resolver.js';
import type { AdmissionHook } from '../local/apiserver/options.js';
import { startTestCluster, TOKEN, type TestCluster } from '../local/apiserver/test-support.js';
import { buildKubeconfig } from '../k8s/kubeconfig.js';
import { runCreateMesh, runCreateRemoteSecret, runInstall } from './commands.js';
import { MESHWORK_IMAGE } from '../image.js';
import { readWebhookTlsSecret, WEBHOOK_TLS_SECRET } from './webhook-tls.js';
import { mkdirSync } from 'node:fs';
import { CACERTS_SECRET, certificateFingerprint, createClusterCaCerts, createMeshRoot, readCacertsSecret } from '../security/pki/cacerts.js';

const WEBHOOK_HOST = '127.238.0.2';

function type(group: string, kind: string): ResourceType {
  const t = findByKind(group, kind);
  assert.ok(t);
  return t;
}
const DEPLOYMENTS = type('apps', 'Deployment');
const SECRETS = type('', 'Secret');
const SLICES = type('discovery.k8s.io', 'EndpointSlice');
const NAMESPACES = type('', 'Namespace');

/** The helloworld-v1 Deployment's pod template of the scenario, as a Pod. */
function scenarioHelloworldPod(): KubeObject {
  const docs = parseAllDocuments(readFileSync('/work/shared/scenario/helloworld.yaml', 'utf8')).map((d) => d.toJS() as KubeObject);
  const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'helloworld-v1');
  assert.ok(deployment);
  const template = (deployment.spec as { template: { metadata: KubeObject['metadata']; spec: unknown } }).template;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, name: 'helloworld-v1-test' }, spec: template.spec };
}

describe('install, inject, create-mesh on a local API server', () => {
  let cluster: TestCluster;
  let other: TestCluster;
  let webhookServer: Server | undefined;
  let hook: AdmissionHook | undefined;
  let validatingHook: AdmissionHook | undefined;
  const logs: string[] = [];
  const clusterTokens = new ServiceAccountTokens(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  const otherTokens = new ServiceAccountTokens(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  const tokenControllers: RunningControllers[] = [];

  before(async () => {
    cluster = await startTestCluster({
      serviceAccounts: clusterTokens,
      admission: [(req) => (hook ? hook(req) : req.object)],
      validatingAdmission: [(req) => (validatingHook ? validatingHook(req) : req.object)],
    });
    hook = mutatingWebhookAdmission({ store: cluster.store, resolveService: storeServiceResolver(cluster.store), log: (l) => logs.push(l) });
    validatingHook = validatingWebhookAdmission({ store: cluster.store, resolveService: storeServiceResolver(cluster.store), log: (l) => logs.push(l) });
    other = await startTestCluster({ serviceAccounts: otherTokens });
    // The token controllers fill the reader's token Secret that create-remote-secret asks for.
    tokenControllers.push(
      startServiceAccountControllers({ store: cluster.store, clusterName: 'c-one', log: (l) => logs.push(l), serviceAccountTokens: { tokens: clusterTokens, caPem: cluster.caPem } }),
      startServiceAccountControllers({ store: other.store, clusterName: 'c-two', log: (l) => logs.push(l), serviceAccountTokens: { tokens: otherTokens, caPem: other.caPem } }),
    );
  });

  after(async () => {
    for (const c of tokenControllers) c.stop();
    if (webhookServer) await new Promise<void>((resolve) => webhookServer!.close(() => resolve()));
    await cluster.close();
    await other.close();
  });

  it('meshwork install applies the control plane and waits until its Deployment is available', async () => {
    const lines: string[] = [];
    let now = 0;
    const clock = {
      now: () => now,
      // Stands in for the deployment controller and kubelet: the Deployment becomes available while we wait.
      sleep: async (ms: number) => {
        now += ms;
        const d = cluster.store.get(DEPLOYMENTS, 'istio-system', 'istiod-asm-managed-stable');
        assert.ok(d);
        cluster.store.update(DEPLOYMENTS, {
          ...d,
          status: { observedGeneration: d.metadata.generation, replicas: 1, availableReplicas: 1, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }] },
        });
      },
    };
    await runInstall({ kubeconfig: cluster.kubeconfig, context: 'test', clusterId: 'cluster-t', out: (l) => lines.push(l), clock, waitTimeoutMs: 60_000 });
    assert.ok(lines.includes('namespace/istio-system created'), lines.join('\n'));
    assert.ok(lines.includes('mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector-asm-managed-stable created'), lines.join('\n'));
    assert.ok(lines.includes('ingressclass.networking.k8s.io/istio created'), lines.join('\n'));
    assert.ok(lines.includes('  deployment istio-system/istiod-asm-managed-stable: 0/1 available'), lines.join('\n'));
    assert.ok(lines.includes('  deployment istio-system/istiod-asm-managed-stable: 1/1 available'), lines.join('\n'));
    // The mesh root is made beside the kubeconfig, the cluster's intermediate under it goes into cacerts.
    const meshRootPem = readFileSync(join(cluster.dir, 'mesh-ca', 'root-cert.pem'), 'utf8');
    assert.ok(lines.some((l) => l.startsWith(`Created the mesh root CA in ${join(cluster.dir, 'mesh-ca')}`)), lines.join('\n'));
    const cacerts = readCacertsSecret(cluster.store.get(SECRETS, 'istio-system', CACERTS_SECRET)!);
    assert.equal(certificateFingerprint(cacerts.rootCertPem), certificateFingerprint(meshRootPem));
    // Injected proxies use 15012 (TLS, tokens): the control plane serves no plaintext xDS unless told to.
    const deployment = cluster.store.get(DEPLOYMENTS, 'istio-system', 'istiod-asm-managed-stable');
    const args = (deployment?.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]!.args;
    assert.ok(!args.includes('--plaintext-xds-port'), `plaintext xDS is off by default: ${args.join(' ')}`);

    // A second install keeps the webhook certificate (the caBundle must keep matching the served certificate).
    const before = cluster.store.get(SECRETS, 'istio-system', WEBHOOK_TLS_SECRET)?.data;
    const again: string[] = [];
    await runInstall({ kubeconfig: cluster.kubeconfig, context: 'test', clusterId: 'cluster-t', out: (l) => again.push(l), clock, waitTimeoutMs: 60_000 });
    assert.deepEqual(cluster.store.get(SECRETS, 'istio-system', WEBHOOK_TLS_SECRET)?.data, before);
    assert.ok(again.includes('secret/istiod-webhook-tls unchanged'), again.join('\n'));
    assert.deepEqual(readCacertsSecret(cluster.store.get(SECRETS, 'istio-system', CACERTS_SECRET)!), cacerts, 'cacerts kept');
    assert.ok(again.some((l) => l.startsWith('Keeping secret istio-system/cacerts (plug-in CA')), again.join('\n'));
    const config = cluster.store.get(type('admissionregistration.k8s.io', 'MutatingWebhookConfiguration'), undefined, 'istio-sidecar-injector-asm-managed-stable');
    const caBundles = new Set((config?.webhooks as Array<{ clientConfig: { caBundle: string } }>).map((w) => w.clientConfig.caBundle));
    assert.deepEqual([...caBundles], [(before as Record<string, string>)['ca.crt']]);
  });

  it('kubectl apply of the scenario helloworld pod in a labelled namespace stores it with its sidecar', async () => {
    // The control plane's side: the injection webhook served with the certificate install created.
    const secret = cluster.store.get(SECRETS, 'istio-system', WEBHOOK_TLS_SECRET);
    assert.ok(secret);
    const tls = readWebhookTlsSecret(secret);
    // As the control plane's server on 15017: /inject and /validate.
    const inject = createInjectionWebhook({ injection: { revision: 'asm-managed-stable', xdsAddress: '127.239.0.1:15010', clusterId: 'cluster-t', proxyImage: MESHWORK_IMAGE }, log: (l) => logs.push(l) });
    const validate = createValidationWebhook({ log: (l) => logs.push(l) });
    webhookServer = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => (req.url?.split('?')[0] === VALIDATE_PATH ? validate(req, res) : inject(req, res)));
    await new Promise<void>((resolve) => webhookServer!.listen(0, WEBHOOK_HOST, resolve));
    const address = webhookServer.address();
    assert.ok(address && typeof address === 'object');
    // What the endpointslice controller would write for the ready istiod pod.
    cluster.store.create(SLICES, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'istiod-asm-managed-stable-x', namespace: 'istio-system', labels: { 'kubernetes.io/service-name': 'istiod-asm-managed-stable' } },
      addressType: 'IPv4',
      ports: [{ name: 'https-webhook', port: address.port, protocol: 'TCP' }],
      endpoints: [{ addresses: [WEBHOOK_HOST], conditions: { ready: true } }],
    });

    const file = join(cluster.dir, 'helloworld.yaml');
    const namespaces = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sample', labels: { 'istio.io/rev': 'asm-managed-stable' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'outside' } },
    ];
    writeFileSync(file, namespaces.map((n) => stringify(n)).join('---\n'));
    assert.equal((await cluster.kubectl(['apply', '-f', file])).code, 0);
    writeFileSync(file, stringify(scenarioHelloworldPod()));
    for (const ns of ['sample', 'outside']) {
      const applied = await cluster.kubectl(['apply', '-n', ns, '-f', file]);
      assert.equal(applied.code, 0, applied.stderr);
    }
    const get = async (ns: string) => JSON.parse((await cluster.kubectl(['get', 'pod', '-n', ns, 'helloworld-v1-test', '-o', 'json'])).stdout);
    const injected = await get('sample');
    assert.deepEqual(injected.spec.containers.map((c: { name: string }) => c.name), ['helloworld', 'istio-proxy']);
    assert.equal(injected.spec.containers[1].image, MESHWORK_IMAGE);
    assert.deepEqual(injected.spec.containers[1].args, ['proxy', 'sidecar']);
    assert.equal(injected.metadata.labels['security.istio.io/tlsMode'], 'istio');
    const plain = await get('outside');
    assert.deepEqual(plain.spec.containers.map((c: { name: string }) => c.name), ['helloworld']);
  });

  it('kubectl apply of a Gateway with port 99999 is denied with Istio\'s message; the scenario\'s Istio config is accepted unchanged', async () => {
    const file = join(cluster.dir, 'gateway.yaml');
    writeFileSync(
      file,
      stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'Gateway',
        metadata: { name: 'bad-port' },
        spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 99999, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
      }),
    );
    const denied = await cluster.kubectl(['apply', '-n', 'sample', '-f', file]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Error from server \(BadRequest\)/);
    assert.match(
      denied.stderr,
      /admission webhook "rev\.validation\.istio\.io" denied the request: configuration is invalid: port number 99999 must be in the range 1\.\.2\^16-1 \(spec\.servers\[0\]\.port\.number\)/,
    );
    const scenario = ['helloworld-gateway.yaml', 'helloworld-gateway-canary.yaml', 'helloworld-virtualservice.yaml', 'helloworld-destinationrule.yaml'];
    for (const name of scenario) {
      const applied = await cluster.kubectl(['apply', '-n', 'sample', '-f', join('/work/shared/scenario', name)]);
      assert.equal(applied.code, 0, `${name}: ${applied.stderr}`);
    }
    // An update is validated too.
    const vs = join(cluster.dir, 'vs.yaml');
    writeFileSync(
      vs,
      stringify({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'helloworld' }, spec: { hosts: ['helloworld'], http: [{ route: [{ destination: { host: 'helloworld' }, weight: -1 }] }] } }),
    );
    const update = await cluster.kubectl(['apply', '-n', 'sample', '-f', vs]);
    assert.notEqual(update.code, 0);
    assert.match(update.stderr, /denied the request: configuration is invalid: weight -1 < 0/);
  });

  it('a pod the webhook cannot reach is refused with the API server\'s message', async () => {
    const slice = cluster.store.get(SLICES, 'istio-system', 'istiod-asm-managed-stable-x');
    assert.ok(slice);
    cluster.store.update(SLICES, { ...slice, endpoints: [{ addresses: [WEBHOOK_HOST], conditions: { ready: false } }] });
    const file = join(cluster.dir, 'pod2.yaml');
    writeFileSync(file, stringify({ ...scenarioHelloworldPod(), metadata: { name: 'refused', labels: { app: 'x' } } }));
    const res = await cluster.kubectl(['apply', '-n', 'sample', '-f', file]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /Internal error occurred: failed calling webhook "rev.namespace.sidecar-injector.istio.io": failed to call webhook: no endpoints available for service "istiod-asm-managed-stable"/);
  });

  it('create-remote-secret and create-mesh hand each cluster the other\'s credentials', async () => {
    const kubeconfig = join(cluster.dir, 'two-clusters');
    writeFileSync(
      kubeconfig,
      buildKubeconfig(
        [
          { name: 'c-one', server: cluster.server.url, caPem: cluster.caPem, token: TOKEN },
          { name: 'c-two', server: other.server.url, caPem: other.caPem, token: TOKEN },
        ],
        'c-one',
      ),
    );
    await assert.rejects(runCreateRemoteSecret({ kubeconfig, context: 'c-two' }), /cluster c-two has no service account istio-system\/istio-reader-service-account: run `meshwork install --context c-two` first/);
    await assert.rejects(runCreateMesh(['c-one', 'c-two'], { kubeconfig, out: () => {} }), /cluster c-two: secret istio-system\/cacerts not found: .*Run `meshwork install` for this cluster/);
    // What `meshwork install` gives the second cluster, for its reader.
    other.store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    for (const obj of controlPlaneRbac('asm-managed-stable', 'istio-system')) {
      const t = findByKind(parseApiVersion(obj.apiVersion).group, obj.kind);
      assert.ok(t);
      other.store.create(t, obj);
    }
    const yaml = await runCreateRemoteSecret({ kubeconfig, context: 'c-two', server: 'https://10.0.0.2' });
    assert.match(yaml, /name: istio-remote-secret-c-two/);
    assert.match(yaml, /server: https:\/\/10\.0\.0\.2/);
    // The remote secret holds the reader's token, never the admin's, and that token reads but does not write.
    const readerToken = /token: (\S+)/.exec(yaml)?.[1];
    assert.ok(readerToken && readerToken !== TOKEN, yaml);
    assert.equal((await other.request('GET', '/api/v1/pods', { token: readerToken })).status, 200);
    const write = await other.request('POST', '/api/v1/namespaces/default/configmaps', { token: readerToken, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } } });
    assert.equal(write.status, 403);
    assert.match(write.text, /configmaps is forbidden: User \\"system:serviceaccount:istio-system:istio-reader-service-account\\" cannot create resource \\"configmaps\\" in API group \\"\\" in the namespace \\"default\\"/);
    assert.equal((await other.request('GET', '/api/v1/namespaces/istio-system/secrets', { token: readerToken })).status, 403);

    // c-two installed with the user's own CA files (--cacerts) under another root: create-mesh refuses, naming both.
    const pluginDir = join(other.dir, 'plugin-ca');
    mkdirSync(pluginDir);
    const plugin = await createClusterCaCerts(await createMeshRoot(), 'c-two');
    for (const [file, pem] of [['ca-cert.pem', plugin.caCertPem], ['ca-key.pem', plugin.caKeyPem], ['root-cert.pem', plugin.rootCertPem], ['cert-chain.pem', plugin.certChainPem]] as const) writeFileSync(join(pluginDir, file), pem);
    await runInstall({ kubeconfig, context: 'c-two', cacertsDir: pluginDir, dataPlane: 'meshwork', waitTimeoutMs: 0, out: () => {} });
    const oneRoot = certificateFingerprint(readFileSync(join(cluster.dir, 'mesh-ca', 'root-cert.pem'), 'utf8'));
    const twoRoot = certificateFingerprint(plugin.rootCertPem);
    const refused = await runCreateMesh(['c-one', 'c-two'], { kubeconfig, out: () => {} }).then(() => undefined, (err: Error) => err.message);
    assert.ok(refused?.includes(`clusters c-one and c-two have different mesh roots in secret istio-system/cacerts (c-one: SHA-256 ${oneRoot}; c-two: SHA-256 ${twoRoot})`), refused);
    assert.match(refused ?? '', /re-run `meshwork install --context c-two` with the --mesh-ca folder c-one was installed with/);
    assert.equal(cluster.store.get(SECRETS, 'istio-system', 'istio-remote-secret-c-two'), undefined, 'nothing joined');
    // A re-install keeps the plug-in CA, even with --mesh-ca: still refused.
    await runInstall({ kubeconfig, context: 'c-two', meshCaDir: join(cluster.dir, 'mesh-ca'), dataPlane: 'meshwork', waitTimeoutMs: 0, out: () => {} });
    await assert.rejects(runCreateMesh(['c-one', 'c-two'], { kubeconfig, out: () => {} }), /different mesh roots/);
    // The fix the message gives: delete cacerts, install with c-one's mesh CA folder.
    assert.equal((await other.kubectl(['delete', 'secret', '-n', 'istio-system', CACERTS_SECRET])).code, 0);
    await runInstall({ kubeconfig, context: 'c-two', meshCaDir: join(cluster.dir, 'mesh-ca'), dataPlane: 'meshwork', waitTimeoutMs: 0, out: () => {} });
    assert.equal(certificateFingerprint(readCacertsSecret(other.store.get(SECRETS, 'istio-system', CACERTS_SECRET)!).rootCertPem), oneRoot);

    const lines: string[] = [];
    await runCreateMesh(['c-one', 'c-two'], { kubeconfig, out: (l) => lines.push(l) });
    assert.ok(lines.includes('mesh root: c-one, c-two share one root CA'), lines.join('\n'));
    const inOne = cluster.store.get(SECRETS, 'istio-system', 'istio-remote-secret-c-two');
    const inTwo = other.store.get(SECRETS, 'istio-system', 'istio-remote-secret-c-one');
    assert.ok(inOne && inTwo, lines.join('\n'));
    assert.equal(inTwo.metadata.labels?.['istio/multiCluster'], 'true');
    const stored = { ...(inTwo.data as Record<string, string> | undefined), ...(inTwo.stringData as Record<string, string> | undefined) };
    assert.deepEqual(Object.keys(stored), ['c-one']);
  });
});
