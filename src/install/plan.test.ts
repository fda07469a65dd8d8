// The install plan and `meshwork install --dry-run`: apply order, the out-of-cluster webhook form,
// the command line's output (YAML and JSON, no cluster touched) and its refusals, and the printed
// objects applied with the real kubectl to a local API server, which stores every one but the CRDs
// (a local server registers its own; crds.test.ts checks those against the CRD validation).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { applyDefaults } from '../config/defaults.js';
import { findByApiVersionKind } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';
import { validateObject } from '../config/validate.js';
import { startTestCluster, type TestCluster } from '../local/apiserver/test-support.js';
import { customResourceTypes } from '../k8s/kinds.js';
import { cacertsSecret, createClusterCaCerts, createMeshRoot } from '../security/pki/cacerts.js';
import { installObjects, renderInstall } from './dry-run.js';
import { MESHWORK_IMAGE } from '../image.js';
import { parseMeshConfig } from '../controlplane/mesh-config.js';
import { installPlan, parseDiscoveryAddress, parseWebhookUrl, unroutableEndpointIp } from './plan.js';
import { crdFor } from './crds.js';
import { clusterCreatesCrds } from './real-cluster.js';
import { loadKubeConfig } from '../k8s/client/client.js';
import { createWebhookTls, readWebhookTlsSecret } from './webhook-tls.js';

const CLI = fileURLToPath(new URL('../../../bin/meshwork.js', import.meta.url));
const KINDS_IN_ORDER = [
  'CustomResourceDefinition', 'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Secret', 'IngressClass',
  'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'Service', 'Deployment',
];

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function distinctKinds(objects: KubeObject[]): string[] {
  return objects.map((o) => o.kind).filter((k, i, all) => all[i - 1] !== k);
}

describe('installPlan', () => {
  let base: Parameters<typeof installPlan>[0];
  before(async () => {
    const tls = await createWebhookTls('asm-managed-stable', 'istio-system');
    const files = await createClusterCaCerts(await createMeshRoot(), 'cluster-1');
    base = { revision: 'asm-managed-stable', namespace: 'istio-system', image: MESHWORK_IMAGE, clusterId: 'cluster-1', caBundlePem: tls.caPem, dataPlane: 'envoy', webhookTls: tls, cacertsSecret: cacertsSecret('istio-system', files), crds: true };
  });

  it('applies CRDs, namespace, identities and rights, config, webhooks, then the workload; each object valid (strict)', () => {
    const objects = installPlan(base);
    assert.deepEqual(distinctKinds(objects), KINDS_IN_ORDER);
    assert.equal(objects.filter((o) => o.kind === 'CustomResourceDefinition').length, 11);
    assert.deepEqual(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name), ['istiod-webhook-tls', 'cacerts']);
    for (const obj of objects) {
      const t = findByApiVersionKind(obj.apiVersion, obj.kind);
      assert.ok(t, obj.kind);
      assert.deepEqual(validateObject(t, applyDefaults(t, structuredClone(obj)), { strict: true }), [], `${obj.kind}/${obj.metadata.name}`);
    }
    // A local cluster has its CRDs: none in its plan.
    assert.equal(installPlan({ ...base, crds: false }).filter((o) => o.kind === 'CustomResourceDefinition').length, 0);
  });

  it('--webhook-url: the webhooks call the URL with the caBundle, no Deployment, the Service points at the host', async () => {
    const url = parseWebhookUrl('https://10.20.30.40:15017');
    const tls = await createWebhookTls('asm-managed-stable', 'istio-system', [url.host]);
    const objects = installPlan({ ...base, webhookTls: tls, caBundlePem: tls.caPem, webhookUrl: url });
    assert.equal(objects.find((o) => o.kind === 'Deployment'), undefined);
    const clientConfigs = objects.filter((o) => o.kind.endsWith('WebhookConfiguration')).flatMap((o) => (o.webhooks as Array<{ clientConfig: Record<string, unknown> }>).map((w) => w.clientConfig));
    assert.deepEqual([...new Set(clientConfigs.map((c) => c.url))], ['https://10.20.30.40:15017/inject', 'https://10.20.30.40:15017/validate']);
    for (const c of clientConfigs) {
      assert.equal(c.service, undefined);
      assert.equal(Buffer.from(c.caBundle as string, 'base64').toString('utf8'), tls.caPem);
    }
    const service = objects.find((o) => o.kind === 'Service')!;
    assert.equal((service.spec as { selector?: unknown }).selector, undefined);
    const slice = objects.find((o) => o.kind === 'EndpointSlice')!;
    assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'istiod-asm-managed-stable');
    assert.deepEqual((slice.endpoints as Array<{ addresses: string[] }>)[0]?.addresses, ['10.20.30.40']);
    for (const obj of objects) {
      const t = findByApiVersionKind(obj.apiVersion, obj.kind)!;
      assert.deepEqual(validateObject(t, applyDefaults(t, structuredClone(obj)), { strict: true }), [], `${obj.kind}/${obj.metadata.name}`);
    }
    // The serving certificate names the host the API server dials, and is signed by the caBundle's CA.
    const cert = new X509Certificate(readWebhookTlsSecret({ data: { 'tls.crt': Buffer.from(tls.certPem).toString('base64'), 'tls.key': 'eA==', 'ca.crt': Buffer.from(tls.caPem).toString('base64') } }).certPem);
    assert.equal(cert.checkIP('10.20.30.40'), '10.20.30.40');
    assert.ok(cert.verify(new X509Certificate(tls.caPem).publicKey));
    // A loopback host (a control plane on the API server's own machine): no EndpointSlice, which the API server would refuse.
    assert.equal(installPlan({ ...base, webhookUrl: parseWebhookUrl('https://127.66.0.5:15017') }).find((o) => o.kind === 'EndpointSlice'), undefined);
    for (const ip of ['127.0.0.1', '0.0.0.0', '169.254.1.1', '::1', 'fe80::1', '::ffff:127.0.0.1']) assert.equal(unroutableEndpointIp(ip), true, ip);
    for (const ip of ['10.0.0.5', '192.168.1.2', 'fd00::5', '2001:db8::1']) assert.equal(unroutableEndpointIp(ip), false, ip);
    // A DNS host: no EndpointSlice (kube-proxy routes to addresses only), the certificate names it.
    const dns = parseWebhookUrl('https://cp.example.com:15017');
    assert.equal(installPlan({ ...base, webhookUrl: dns }).find((o) => o.kind === 'EndpointSlice'), undefined);
    assert.ok(new X509Certificate((await createWebhookTls('r', 'istio-system', [dns.host])).certPem).checkHost('cp.example.com'));
  });

  it('--discovery-address: the mesh config ConfigMap istio-<rev> sends injected proxies there; a bad address is refused', async () => {
    const objects = installPlan({ ...base, webhookUrl: parseWebhookUrl('https://127.58.0.5:15017'), discoveryAddress: '127.58.0.5:15012' });
    const mesh = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'istio-asm-managed-stable');
    assert.ok(mesh, 'the mesh config ConfigMap');
    assert.equal(mesh.metadata.namespace, 'istio-system');
    const parsed = parseMeshConfig((mesh.data as Record<string, string>).mesh!);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.equal(parsed.defaultConfig.discoveryAddress, '127.58.0.5:15012');
    const t = findByApiVersionKind('v1', 'ConfigMap')!;
    assert.deepEqual(validateObject(t, applyDefaults(t, structuredClone(mesh)), { strict: true }), []);
    // Without the flag no mesh config is installed (a user's own stays as it is).
    assert.equal(installPlan(base).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'istio-asm-managed-stable'), undefined);
    assert.throws(() => parseDiscoveryAddress('127.58.0.5'), /--discovery-address "127\.58\.0\.5": expected HOST:PORT; give HOST:PORT where injected proxies reach/);
    assert.throws(() => parseDiscoveryAddress('https://cp:15012'), /expected HOST:PORT/);
  });

  it('parseWebhookUrl refuses what an API server cannot call, saying what to give', () => {
    assert.deepEqual(parseWebhookUrl('https://[fd00::1]:8443'), { base: 'https://[fd00::1]:8443', host: 'fd00::1', port: 8443 });
    assert.deepEqual(parseWebhookUrl('https://cp.example.com'), { base: 'https://cp.example.com', host: 'cp.example.com', port: 443 });
    assert.throws(() => parseWebhookUrl('cp:15017'), /--webhook-url cp:15017: the API server calls webhooks over https only/);
    assert.throws(() => parseWebhookUrl('not a url'), /--webhook-url "not a url" is not a URL: give https:\/\/HOST:PORT/);
    assert.throws(() => parseWebhookUrl('http://10.0.0.1:15017'), /over https only/);
    assert.throws(() => parseWebhookUrl('https://10.0.0.1:15017/inject'), /give no path \(the paths \/inject and \/validate are added\)/);
    assert.throws(() => parseWebhookUrl('https://u:p@10.0.0.1:15017'), /may not carry user info/);
    assert.throws(() => parseWebhookUrl('https://10.0.0.1:15017?x=1'), /may not have a query or fragment/);
  });
});

describe('meshwork install --dry-run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'install-dry-run-'));
  // No kubeconfig anywhere: a dry run must not need (or touch) a cluster.
  const noCluster = { KUBECONFIG: join(dir, 'no-such-kubeconfig'), HOME: dir, MESHWORK_STATE_DIR: join(dir, 'state') };
  let cluster: TestCluster | undefined;
  after(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('-o yaml prints every object in apply order; -o json one List of the same objects; the mesh root is made in --mesh-ca', async () => {
    const meshCa = join(dir, 'mesh-ca');
    const yaml = await runCli(['install', '--dry-run', '--cluster-id', 'cluster-1', '--mesh-ca', meshCa, '-o', 'yaml'], noCluster);
    assert.equal(yaml.code, 0, yaml.stderr);
    const objects = parseAllDocuments(yaml.stdout).map((d) => d.toJS() as KubeObject);
    assert.doesNotMatch(yaml.stdout, /(: |- )[&*]a\d+/, 'no YAML anchors or aliases');
    assert.deepEqual(distinctKinds(objects), KINDS_IN_ORDER);
    assert.match(yaml.stderr, /Created the mesh root CA in .*mesh-ca/);
    assert.ok(existsSync(join(meshCa, 'root-key.pem')));
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const container = (deployment.spec as { template: { spec: { containers: Array<{ image: string; args: string[] }> } } }).template.spec.containers[0]!;
    assert.equal(container.image, MESHWORK_IMAGE);
    assert.deepEqual(container.args.slice(0, 7), ['control-plane', '--cluster-id', 'cluster-1', '--revision', 'asm-managed-stable', '--data-plane', 'envoy']);

    const json = await runCli(['install', '--dry-run', '--context', 'cluster-1', '--mesh-ca', meshCa, '-o', 'json', '--image', 'registry.example/meshwork:dev'], noCluster);
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stderr, /Created the mesh root/, 'the second run reuses the root');
    const list = JSON.parse(json.stdout) as { kind: string; items: KubeObject[] };
    assert.equal(list.kind, 'List');
    assert.deepEqual(list.items.map((o) => `${o.kind}/${o.metadata.name}`), objects.map((o) => `${o.kind}/${o.metadata.name}`));
    assert.match(JSON.stringify(list.items.find((o) => o.kind === 'Deployment')), /"image":"registry\.example\/meshwork:dev"/);
  });

  it('refuses bad flags with what to do', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['install', '--dry-run', '--cluster-id', 'c1', '-o', 'xml'], /error: -o xml: unknown output format: use -o yaml or -o json/],
      [['install', '--dry-run'], /error: install --dry-run needs --cluster-id ID \(or --context NAME\)/],
      [['install', '--dry-run', '--cluster-id', 'Cluster_1'], /error: cluster id "Cluster_1": use lower-case letters, digits/],
      [['install', '--dry-run', '--cluster-id', 'c1', '--webhook-url', 'http://10.0.0.1:15017'], /error: --webhook-url http:\/\/10\.0\.0\.1:15017: the API server calls webhooks over https only/],
      [['install', '--dry-run', '--cluster-id', 'c1', '--data-plane', 'nginx'], /--data-plane/],
      [['install', '--dry-run', '--cluster-id', 'c1', '--cacerts', join(dir, 'none')], /--cacerts .*none: ca-cert\.pem not found/],
    ];
    for (const [args, expected] of cases) {
      const r = await runCli([...args, '--mesh-ca', join(dir, 'mesh-ca')], noCluster);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout.slice(0, 200)}`);
      assert.match(r.stderr, expected);
      assert.equal(r.stdout, '');
    }
    // Dry-run flags without --dry-run, and no --context: refused before any cluster is asked.
    const emptyKubeconfig = join(dir, 'empty-kubeconfig');
    writeFileSync(emptyKubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    const withKubeconfig = { ...noCluster, KUBECONFIG: emptyKubeconfig };
    const applyCases: Array<[string[], RegExp]> = [
      [['install', '--context', 'c1', '-o', 'json'], /error: -o\/--output is for --dry-run \(print instead of apply\); add --dry-run, or drop -o to install/],
      [['install', '--context', 'c1', '--cluster-id', 'c2'], /error: --cluster-id is for --dry-run; an install names the cluster by its --context/],
      [['install'], /error: install needs --context NAME \(the cluster to install into\), or --dry-run to print the objects/],
    ];
    for (const [args, expected] of applyCases) {
      const r = await runCli(args, withKubeconfig);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, expected);
    }
  });

  it('kubectl applies the printed objects to an API server; the injector and validator name the certificate\'s CA', async () => {
    cluster = await startTestCluster();
    // A local API server serves its CRDs read-only: install leaves them out there.
    assert.equal(await clusterCreatesCrds(loadKubeConfig({ kubeconfig: cluster.kubeconfig })), false);
    const objects = await installObjects({ clusterId: 'cluster-1', meshCaDir: join(dir, 'mesh-ca'), log: () => {} });
    const file = join(dir, 'install.yaml');
    // The local server serves its CRDs read-only (they are registered at start); everything else goes in as printed.
    writeFileSync(file, objects.filter((o) => o.kind !== 'CustomResourceDefinition').map((o) => `---\n${stringify(o)}`).join(''));
    const applied = await cluster.kubectl(['apply', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /namespace\/istio-system created/);
    assert.match(applied.stdout, /deployment\.apps\/istiod-asm-managed-stable created/);
    assert.match(applied.stdout, /mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/istio-sidecar-injector-asm-managed-stable created/);
    const secret = JSON.parse((await cluster.kubectl(['get', 'secret', '-n', 'istio-system', 'istiod-webhook-tls', '-o', 'json'])).stdout) as KubeObject;
    const injector = JSON.parse((await cluster.kubectl(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector-asm-managed-stable', '-o', 'json'])).stdout) as { webhooks: Array<{ clientConfig: { caBundle: string } }> };
    assert.equal(Buffer.from(injector.webhooks[0]!.clientConfig.caBundle, 'base64').toString('utf8'), readWebhookTlsSecret(secret).caPem);
    // One CRD per custom kind, named as the local clusters name theirs (both are crdFor's).
    assert.deepEqual(objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name), customResourceTypes().map((t) => crdFor(t).metadata.name));
    assert.match(await renderInstall({ clusterId: 'cluster-1', meshCaDir: join(dir, 'mesh-ca'), log: () => {}, output: 'yaml' }), /^---\napiVersion: apiextensions\.k8s\.io\/v1\nkind: CustomResourceDefinition\n/);
  });
});
