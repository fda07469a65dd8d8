// `meshwork install` against the real kube-apiserver v1.34.4 (src/realkube/, on 127.66.0.1; services
// 127.67.0.0/16): `meshwork install` creates the CRDs (Established, structural) and everything else; the
// objects `install --dry-run` prints are applied over them with the real kubectl and accepted; the
// RBAC grants the control plane and the remote reader what they use and nothing more; the control plane
// runs outside the cluster (`--webhook-url`) as its own service account; and the scenario's YAML goes
// in through the real API server's CRD validation and our validating webhook, which the server calls
// with the caBundle install wrote, as it calls the injector for the pods the controller manager makes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildKubeconfig, mergeKubeconfigFile } from '../k8s/kubeconfig.js';
import { stopChild } from '../os/proc.js';
import { requireKubeBinaries } from '../realkube/binaries.js';
import { startRealControlPlane, type RealControlPlane } from '../realkube/control-plane.js';
import { kubeCli } from '../../test/helpers/kube-cli.js';
import { MESHWORK_BIN } from '../../test/helpers/paths.js';
import { until as eventually } from '../../test/helpers/until.js';

const OCTET = 66;
const CONTROL_PLANE_IP = `127.${OCTET}.0.5`;
const WEBHOOK_URL = `https://${CONTROL_PLANE_IP}:15017`;
const SCENARIO = '/work/shared/scenario';
const ISTIOD = 'system:serviceaccount:istio-system:istiod-asm-managed-stable';
const READER = 'system:serviceaccount:istio-system:istio-reader-service-account';

const dir = mkdtempSync(join(tmpdir(), 'meshwork-install-real-'));
const kubeconfig = join(dir, 'kubeconfig');
let plane: RealControlPlane | undefined;
let controlPlane: ChildProcess | undefined;
const controlPlaneLog: string[] = [];

const cli = kubeCli(kubeconfig);
const kubectl = (args: string[], opts: { allowFail?: boolean } = {}) => cli.kubectl('real-1', args, opts);
const { meshwork } = cli;

describe('meshwork install on the real kube-apiserver', { timeout: 600_000 }, () => {
  before(async () => {
    const binaries = requireKubeBinaries();
    plane = await startRealControlPlane({ name: 'real-1', subnetOctet: OCTET, dir: join(dir, 'real-1'), binaries, log: () => {} });
    mergeKubeconfigFile(kubeconfig, [{ name: 'real-1', server: plane.server, caPem: plane.caPem, token: plane.token }], 'real-1');
  });

  after(async () => {
    if (controlPlane) await stopChild(controlPlane, 10_000);
    await plane?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('`meshwork install --webhook-url` on a fresh cluster: CRDs created (server-side apply) and Established, every object applied, no Deployment', async () => {
    const r = await meshwork(['install', '--context', 'real-1', '--mesh-ca', join(dir, 'mesh-ca'), '--webhook-url', WEBHOOK_URL]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /data plane envoy\) into cluster real-1 \(control plane outside the cluster, webhooks at https:\/\/127\.66\.0\.5:15017\)/);
    assert.match(r.stdout, /11 CustomResourceDefinitions established/);
    assert.equal((r.stdout.match(/^customresourcedefinition\.apiextensions\.k8s\.io\/\S+ created$/gm) ?? []).length, 11, r.stdout);
    assert.match(r.stdout, /^validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/istio-validator-asm-managed-stable-istio-system created$/m);
    assert.equal((await kubectl(['get', 'deployment', '-n', 'istio-system', '--no-headers'], { allowFail: true })).stdout.trim(), '', 'no Deployment for an outside control plane');
    // The int-or-string and preserve-unknown-fields markers reached the server (a typed client would drop them).
    const servicePort = (await kubectl(['get', 'crd', 'multiclusteringresses.networking.gke.io', '-o', 'jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.template.properties.spec.properties.backend.properties.servicePort}'])).stdout;
    assert.match(servicePort, /"x-kubernetes-int-or-string":true/);
    // The names kubectl users type, served by the real server from our CRDs.
    const resources = (await kubectl(['api-resources', '--api-group=networking.istio.io', '--no-headers'])).stdout;
    for (const [plural, short] of [['virtualservices', 'vs'], ['destinationrules', 'dr'], ['gateways', 'gw'], ['serviceentries', 'se']]) {
      assert.match(resources, new RegExp(`^${plural}\\s+${short}\\s+networking\\.istio\\.io/v1\\s+true\\s+`, 'm'));
    }
    // Structural, so the server computed no NonStructuralSchema condition for any of them.
    const conditions = (await kubectl(['get', 'crd', '-l', 'app.kubernetes.io/part-of=meshwork', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[*].type}{"\\n"}{end}'])).stdout;
    assert.doesNotMatch(conditions, /NonStructuralSchema/, conditions);
  });

  it('kubectl applies what `install --dry-run` prints over it; a second `meshwork install` keeps the certificate and the CA', async () => {
    const printed = await meshwork(['install', '--dry-run', '--cluster-id', 'real-1', '--mesh-ca', join(dir, 'mesh-ca'), '--webhook-url', WEBHOOK_URL, '-o', 'yaml']);
    assert.equal(printed.code, 0, printed.stderr);
    const file = join(dir, 'install.yaml');
    writeFileSync(file, printed.stdout);
    const applied = await kubectl(['apply', '-f', file], { allowFail: true });
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal((applied.stdout.match(/customresourcedefinition\.apiextensions\.k8s\.io\/\S+ (configured|unchanged)/g) ?? []).length, 11, applied.stdout);
    assert.match(applied.stdout, /secret\/istiod-webhook-tls configured/);
    // A loopback control plane gets no EndpointSlice (the API server refuses loopback endpoints).
    assert.doesNotMatch(applied.stdout, /endpointslice/);
    await kubectl(['wait', '--for=condition=Established', 'crd', '-l', 'app.kubernetes.io/part-of=meshwork', '--timeout=60s']);

    const tlsBefore = (await kubectl(['get', 'secret', '-n', 'istio-system', 'istiod-webhook-tls', '-o', 'jsonpath={.data.tls\\.crt}'])).stdout;
    const again = await meshwork(['install', '--context', 'real-1', '--mesh-ca', join(dir, 'mesh-ca'), '--webhook-url', WEBHOOK_URL]);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.match(again.stdout, /Keeping secret istio-system\/cacerts/);
    assert.equal((again.stdout.match(/^customresourcedefinition\.apiextensions\.k8s\.io\/\S+ (configured|unchanged)$/gm) ?? []).length, 11, again.stdout);
    assert.equal((await kubectl(['get', 'secret', '-n', 'istio-system', 'istiod-webhook-tls', '-o', 'jsonpath={.data.tls\\.crt}'])).stdout, tlsBefore, 'the certificate that covers the host is kept');
  });

  it('RBAC: the control plane and the remote reader can do what they use and nothing more', async () => {
    const can = async (user: string, ...args: string[]) => (await kubectl(['auth', 'can-i', '--as', user, ...args], { allowFail: true })).stdout.trim();
    assert.equal(await can(ISTIOD, 'watch', 'virtualservices.networking.istio.io', '-A'), 'yes');
    assert.equal(await can(ISTIOD, 'update', 'virtualservices.networking.istio.io', '--subresource=status', '-n', 'sample'), 'yes');
    assert.equal(await can(ISTIOD, 'update', 'virtualservices.networking.istio.io', '-n', 'sample'), 'no');
    assert.equal(await can(ISTIOD, 'create', 'tokenreviews.authentication.k8s.io'), 'yes');
    assert.equal(await can(ISTIOD, 'list', 'secrets', '-n', 'istio-system'), 'yes');
    assert.equal(await can(ISTIOD, 'create', 'secrets', '-n', 'istio-system'), 'no');
    assert.equal(await can(ISTIOD, 'patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io'), 'no');
    assert.equal(await can(ISTIOD, 'create', 'events', '-n', 'sample'), 'no');
    assert.equal(await can(ISTIOD, 'delete', 'pods', '-n', 'sample'), 'no');
    assert.equal(await can(READER, 'list', 'endpointslices.discovery.k8s.io', '-A'), 'yes');
    assert.equal(await can(READER, 'get', 'secrets', '-n', 'istio-system'), 'no');
    assert.equal(await can(READER, 'create', 'configmaps', '-n', 'default'), 'no');
  });

  it('the control plane runs outside as its own service account; the scenario\'s YAML passes the CRD schemas and the webhook; bad config is refused', async () => {
    const token = (await kubectl(['create', 'token', 'istiod-asm-managed-stable', '-n', 'istio-system', '--duration=1h'])).stdout.trim();
    const saKubeconfig = join(dir, 'istiod.kubeconfig');
    writeFileSync(saKubeconfig, buildKubeconfig([{ name: 'real-1', server: plane!.server, caPem: plane!.caPem, token }], 'real-1'));
    controlPlane = spawn(process.execPath, [MESHWORK_BIN, 'control-plane', '--cluster-id', 'real-1', '--kubeconfig', saKubeconfig, '--address', CONTROL_PLANE_IP, '--data-plane', 'envoy'], { stdio: ['ignore', 'pipe', 'pipe'] });
    controlPlane.stdout?.on('data', (d: Buffer) => controlPlaneLog.push(d.toString()));
    controlPlane.stderr?.on('data', (d: Buffer) => controlPlaneLog.push(d.toString()));
    await eventually('the control plane ready', 90_000, async () => {
      if (controlPlane?.exitCode !== null) throw new Error(`the control plane exited ${controlPlane?.exitCode}: ${controlPlaneLog.join('')}`);
      const res = await fetch(`http://${CONTROL_PLANE_IP}:15014/ready`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
    assert.doesNotMatch(controlPlaneLog.join(''), /forbidden/i, 'the service account has every right the control plane uses');

    await kubectl(['create', 'namespace', 'sample']);
    await kubectl(['label', 'namespace', 'sample', 'istio-injection=enabled']);
    const applied = await kubectl(['apply', '-n', 'sample', '-R', '-f', SCENARIO], { allowFail: true });
    assert.equal(applied.code, 0, `${applied.stderr}\n${controlPlaneLog.join('')}`);
    for (const ref of ['virtualservice.networking.istio.io/helloworld', 'destinationrule.networking.istio.io/helloworld', 'gateway.networking.istio.io/helloworld-gateway', 'multiclusterservice.networking.gke.io/', 'multiclusteringress.networking.gke.io/', 'backendconfig.cloud.google.com/']) {
      assert.ok(applied.stdout.includes(ref), `${ref} in\n${applied.stdout}`);
    }
    assert.match((await kubectl(['get', 'vs', '-n', 'sample'])).stdout, /^NAME\s+GATEWAYS\s+HOSTS\s+AGE\n/);

    // The real server's schema validation (our CRD): a string weight.
    const typed = join(dir, 'bad-weight.yaml');
    writeFileSync(typed, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bad-weight, namespace: sample}\nspec: {hosts: [x], http: [{route: [{destination: {host: x}, weight: half}]}]}\n');
    const typedErr = (await kubectl(['apply', '-f', typed], { allowFail: true })).stderr;
    assert.match(typedErr, /spec\.http\[0\]\.route\[0\]\.weight: Invalid value: "string": spec\.http\[0\]\.route\[0\]\.weight in body must be of type integer/);
    // Schema-valid but not Istio-valid: our webhook, called by the real server, denies it.
    const semantic = join(dir, 'no-route.yaml');
    writeFileSync(semantic, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: no-route, namespace: sample}\nspec: {hosts: [x], http: [{match: [{uri: {prefix: /}}]}]}\n');
    const denied = (await kubectl(['apply', '-f', semantic], { allowFail: true })).stderr;
    assert.match(denied, /admission webhook "rev\.validation\.istio\.io" denied the request/);

    // The controller manager makes helloworld's pods; the real server sends each to our injector.
    const containers = await eventually('an injected helloworld pod', 60_000, async () => {
      const pods = JSON.parse((await kubectl(['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'json'])).stdout) as { items: Array<{ spec: { containers: Array<{ name: string }>; initContainers?: Array<{ name: string }> } }> };
      const pod = pods.items[0];
      return pod ? [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name) : undefined;
    });
    assert.ok(containers.includes('istio-proxy'), `${containers.join(', ')}\n${controlPlaneLog.join('').slice(-3000)}`);
  });
});
