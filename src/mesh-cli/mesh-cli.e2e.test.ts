// End to end: two local clusters with the scenario's workloads, the control plane of cluster-1 (in
// this process), and the sleep pod of cluster-1 fronted by a real meshwork proxy (in this process,
// bound to the pod IP as a sidecar is). `traffic` then runs real curl in the sleep pod through
// exec, and the split, the verdict, proxy-status, proxy-config and analyze are checked.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import { applyObjects } from '../k8s/client/apply.js';
import { testCacerts } from '../security/pki/test-support.js';
import { parseManifests, type Manifest } from '../k8s/client/manifests.js';
import { startLocalCluster, type LocalCluster } from '../local/cluster.js';
import { buildKubeconfig } from '../k8s/kubeconfig.js';
import { runControlPlane, type RunningControlPlane } from '../controlplane/control-plane.js';
import { startProxy, type RunningProxy } from '../proxy/main.js';
import { scenarioDir } from '../translate/testdata/fixture.js';
import { runAnalyze } from './analyze.js';
import type { CommandIo } from './io.js';
import { runProxyConfig } from './proxy-config.js';
import { runProxyStatus } from './proxy-status.js';
import { measureTraffic, runTraffic, type TrafficOptions } from './traffic.js';
import { SUITE_ALPHA } from '../stats/chisquare.js';

const logs: string[] = [];
const log = (line: string): void => void logs.push(line);
let dir: string;
let kubeconfig: string;
let c1: LocalCluster | undefined;
let c2: LocalCluster | undefined;
let cp: RunningControlPlane | undefined;
let proxy: RunningProxy | undefined;
let sleep1: V1Pod;
let sleep2: V1Pod;
let hello2: V1Pod;

function capture(): CommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => void stdout.push(l), err: (l) => void stderr.push(l) };
}

function manifests(file: string): Manifest[] {
  return parseManifests(readFileSync(join(scenarioDir(), file), 'utf8'), file);
}

/** The sleep pod of cluster-1 as injection leaves it: an istio-proxy container and http_proxy to it. */
function injectSleep(m: Manifest): Manifest {
  if (m.object.kind !== 'Deployment' || m.object.metadata.name !== 'sleep') return m;
  const object = structuredClone(m.object) as KubeObject & { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
  const containers = object.spec.template.spec.containers;
  containers[0].env = [{ name: 'http_proxy', value: 'http://$(POD_IP):15001' }];
  containers.push({ name: 'istio-proxy', image: 'busybox', command: ['/bin/sleep', 'infinity'] });
  return { ...m, object };
}

function workloads(clusterIndex: number): Manifest[] {
  const keep = (m: Manifest): boolean => m.object.kind !== 'Deployment' || !m.object.metadata.name?.startsWith('helloworld-') || m.object.metadata.name === `helloworld-v${clusterIndex}`;
  const all = [...manifests('helloworld.yaml'), ...manifests('sleep.yaml')].filter(keep);
  return clusterIndex === 1 ? all.map(injectSleep) : all;
}

const ns = (name: string, labels: Record<string, string> = {}): Manifest => ({ object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }, source: 'test' });

async function runningPod(kc: KubeConfig, labelSelector: string): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const pod = (await core.listNamespacedPod({ namespace: 'sample', labelSelector })).items.find((p) => p.status?.phase === 'Running' && p.status.podIP);
    if (pod) return pod;
    if (Date.now() > deadline) throw new Error(`no running pod ${labelSelector} within 15 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function helloWeights(): Promise<string> {
  const res = await fetch(`http://${sleep1.status?.podIP ?? ''}:15000/config_dump`);
  const text = await res.text();
  return [...text.matchAll(/"name": "(outbound\|5000\|v\d\|helloworld[^"]*)",\s*"weight": \{\s*"value": (\d+)/g)].map((m) => `${m[1].split('|')[2]}=${m[2]}`).join(',');
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshwork-mesh-cli-'));
  [c1, c2] = await Promise.all([
    startLocalCluster({ name: 'cluster-1', subnetOctet: 241, dir: join(dir, 'cluster-1'), log }),
    startLocalCluster({ name: 'cluster-2', subnetOctet: 244, dir: join(dir, 'cluster-2'), log }),
  ]);
  const entries = [c1, c2].map((c) => ({ name: c.name, server: c.server, caPem: c.caPem, token: c.token }));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, buildKubeconfig(entries, 'cluster-1'), { mode: 0o600 });
  const kc = (context: string): KubeConfig => {
    const k = new KubeConfig();
    k.loadFromFile(kubeconfig);
    k.setCurrentContext(context);
    return k;
  };
  const kc1 = kc('cluster-1');
  const kc2 = kc('cluster-2');
  const mesh = { 'istio.io/rev': 'asm-managed-stable' };
  await applyObjects(kc1, [ns('sample', mesh), ns('istio-system'), (await testCacerts('cluster-1')).manifest, ...workloads(1)], { namespace: 'sample' });
  await applyObjects(kc2, [ns('sample', mesh), ...workloads(2)], { namespace: 'sample' });
  const single = join(dir, 'cluster-2.kubeconfig');
  await kc1.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: 'istio-system',
    body: {
      metadata: { name: 'istio-remote-secret-cluster-2', labels: { 'istio/multiCluster': 'true' }, annotations: { 'networking.istio.io/cluster': 'cluster-2' } },
      data: { 'cluster-2': Buffer.from(buildKubeconfig([entries[1]], 'cluster-2')).toString('base64') },
    },
  });
  writeFileSync(single, buildKubeconfig([entries[0]], 'cluster-1'), { mode: 0o600 });
  cp = await runControlPlane({
    clusterId: 'cluster-1', kubeconfig: single, namespace: 'istio-system', revision: 'asm-managed-stable',
    xds: { host: '127.0.0.1', securePort: 0, plaintextPort: 0 }, debug: { host: '127.0.0.1', port: 0 }, log,
  });
  [sleep1, sleep2, hello2] = await Promise.all([runningPod(kc1, 'app=sleep'), runningPod(kc2, 'app=sleep'), runningPod(kc2, 'app=helloworld')]);
  await runningPod(kc1, 'app=helloworld');
  const ip = sleep1.status?.podIP ?? '';
  proxy = await startProxy({
    xdsServer: `127.0.0.1:${cp.plaintextXdsPort ?? 0}`,
    nodeId: `sidecar~${ip}~${sleep1.metadata?.name ?? ''}.sample~sample.svc.cluster.local`,
    cluster: 'cluster-1',
    metadata: { CLUSTER_ID: 'cluster-1', NAMESPACE: 'sample' },
    adminAddress: { host: ip, port: 15000 },
    accessLog: false,
    log: (level, message) => log(`proxy ${level} ${message}`),
  });
  await proxy.waitReady(15_000);
  // Both clusters' helloworld endpoints have reached the proxy.
  await until('helloworld endpoints of both clusters in the proxy', async () => {
    const text = await (await fetch(`http://${ip}:15000/config_dump`)).text();
    return /127\.241\.0\.\d+"?,?\s*"port_value": 5000/.test(text) && /127\.244\.0\.\d+"?,?\s*"port_value": 5000/.test(text);
  }, 15_000);
});

after(async () => {
  await proxy?.stop();
  await cp?.stop();
  await Promise.all([c1?.stop(), c2?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (process.exitCode) process.stderr.write(logs.slice(-60).join('\n') + '\n');
});

const base = (): Omit<TrafficOptions, 'requests'> => ({
  kubeconfig,
  context: 'cluster-1',
  namespace: 'sample',
  from: 'deploy/sleep',
  url: 'http://helloworld.sample:5000/hello',
  by: 'version',
  maxFailures: 0,
  alpha: SUITE_ALPHA,
  requestTimeout: 5,
  controlPlaneAddress: `127.0.0.1:${cp?.debugPort ?? 0}`,
  output: 'table',
});

test('traffic, proxy-status, proxy-config and analyze against a running mesh', { timeout: 45_000 }, async () => {
  // Step 4: no rules, 50/50 across the clusters by endpoint.
  const plain = capture();
  assert.equal(await runTraffic({ ...base(), requests: 120, output: 'json' }, plain), 0, plain.stdout.join('\n') + plain.stderr.join('\n'));
  const doc = JSON.parse(plain.stdout.join('\n')) as {
    expectedFrom: string;
    counts: { version: Record<string, number>; cluster: Record<string, number> };
    expected: { version: Record<string, number> };
    intent: { derived: boolean; virtualService?: string; shares: { version: Record<string, number> } };
    proxy: { source: string; shares: { version: Record<string, number> } };
    agreement: { agrees: boolean };
    failed: number;
    verdict: { pass: boolean };
  };
  // Judged against the applied config (no VirtualService: the service's endpoints evenly); the proxy agrees.
  assert.equal(doc.expectedFrom, 'applied config (context cluster-1)');
  assert.deepEqual(doc.expected.version, { v1: 0.5, v2: 0.5 });
  assert.equal(doc.intent.derived, true);
  assert.equal(doc.intent.virtualService, undefined);
  assert.equal(doc.proxy.source, 'proxy');
  assert.deepEqual(doc.proxy.shares.version, { v1: 0.5, v2: 0.5 });
  assert.equal(doc.agreement.agrees, true);
  assert.equal(doc.failed, 0);
  assert.equal((doc.counts.version.v1 ?? 0) + (doc.counts.version.v2 ?? 0), 120);
  assert.ok(doc.counts.version.v1 > 0 && doc.counts.version.v2 > 0, JSON.stringify(doc.counts));
  assert.deepEqual(Object.keys(doc.counts.cluster).sort(), ['cluster-1', 'cluster-2']);
  assert.equal(doc.counts.cluster['cluster-1'], doc.counts.version.v1);

  // Step 5: the 80/20 canary, pushed to the proxy.
  const kc1 = new KubeConfig();
  kc1.loadFromFile(kubeconfig);
  kc1.setCurrentContext('cluster-1');
  await applyObjects(kc1, [...manifests('helloworld-destinationrule.yaml'), ...manifests('helloworld-virtualservice.yaml')], { namespace: 'sample' });
  await until('the 80/20 route in the proxy', async () => (await helloWeights()) === 'v1=80,v2=20', 5_000);
  const canary = capture();
  const canaryReport = await measureTraffic({ ...base(), requests: 250 }, canary);
  assert.equal(canaryReport.verdict.pass, true, canary.stdout.join('\n'));
  // The intent is the scenario's 80/20, read from the VirtualService as applied; the proxy agrees with it.
  const intent = canaryReport.intent?.intent;
  assert.ok(intent?.derived, JSON.stringify(intent));
  assert.equal(intent.virtualService, 'sample/helloworld');
  assert.deepEqual(intent.destinations.map((d) => [d.subset, d.weight, d.share]), [['v1', 80, 0.8], ['v2', 20, 0.2]]);
  assert.deepEqual(Object.fromEntries(canaryReport.expected), { v1: 0.8, v2: 0.2 });
  assert.deepEqual(canaryReport.agreement, { agrees: true, by: ['version', 'cluster', 'instance'] });
  const text = canary.stdout.join('\n');
  assert.match(text, /route: http_proxy > helloworld\.sample\.svc\.cluster\.local:5000 > sample\/helloworld\/http\[0\]: outbound\|5000\|v1\|helloworld\.sample\.svc\.cluster\.local 80, outbound\|5000\|v2\|helloworld\.sample\.svc\.cluster\.local 20/);
  assert.match(text, /^declared: VirtualService sample\/helloworld http\[0\]: helloworld\.sample\.svc\.cluster\.local:5000 subset v1 80\.0%, helloworld\.sample\.svc\.cluster\.local:5000 subset v2 20\.0% \(DestinationRule sample\/helloworld\)$/m);
  assert.match(text, /^proxy config agrees with the applied config \(by version, cluster, instance\)$/m);
  assert.match(text, /^v1 +\d+ +\d+\.\d% +80\.0%$/m);
  assert.match(text, /^cluster-2 +\d+ +\d+\.\d% +20\.0%$/m);
  assert.match(text, /^failed requests: 0$/m);
  assert.match(text, /\nPASS$/);

  // The same traffic judged against the wrong weights fails, exit 1.
  const wrong = capture();
  assert.equal(await runTraffic({ ...base(), requests: 200, expect: 'v1=50,v2=50' }, wrong), 1);
  assert.match(wrong.stdout.join('\n'), /FAIL: the split differs from the weights \(p = .* <= alpha 0\.00001\)/);

  // A pod without a sidecar: its requests go straight to the pod; the weights must be given.
  const direct = capture();
  const url = `http://${hello2.status?.podIP ?? ''}:5000/hello`;
  assert.equal(await runTraffic({ ...base(), context: 'cluster-2', from: sleep2.metadata?.name ?? '', url, requests: 20, expect: 'v2=100', controlPlaneAddress: '127.0.0.1:1' }, direct), 0, direct.stdout.join('\n'));
  assert.match(direct.stdout.join('\n'), /directly \(the pod has no sidecar\)[\s\S]*^v2 +20 +100\.0% +100\.0%$/m);
  await assert.rejects(runTraffic({ ...base(), context: 'cluster-2', from: 'deploy/sleep', url, requests: 5 }, capture()), /has no sidecar .* --expect/);

  // proxy-status: the sleep sidecar, synced on every type.
  const status = capture();
  assert.equal(await runProxyStatus({ kubeconfig, contexts: ['cluster-1'], controlPlaneAddress: `127.0.0.1:${cp?.debugPort ?? 0}`, output: 'table' }, status), 0);
  assert.match(status.stdout.join('\n'), new RegExp(`^${sleep1.metadata?.name ?? ''}\\.sample +cluster-1 +CONNECTED +SYNCED +SYNCED +SYNCED +SYNCED `, 'm'));
  // Without an address the control plane is looked up as istiod pods: there are none here.
  await assert.rejects(runProxyStatus({ kubeconfig, contexts: [], output: 'table' }, capture()), /no control plane answered in any context .*cluster-1: .*no running control plane/s);

  // proxy-config: from the proxy's admin port; endpoints of both clusters.
  const config = capture();
  assert.equal(await runProxyConfig({ kubeconfig, context: 'cluster-1', pod: `${sleep1.metadata?.name ?? ''}.sample`, type: 'endpoints', output: 'table', controlPlaneAddress: `127.0.0.1:${cp?.debugPort ?? 0}` }, config), 0);
  assert.match(config.stderr.join('\n'), /from its proxy \(http:\/\/127\.241\.\d+\.\d+:15000\/config_dump\)/);
  assert.match(config.stdout.join('\n'), /^127\.244\.0\.\d+:5000 +HEALTHY +OK +outbound\|5000\|v2\|helloworld\.sample\.svc\.cluster\.local$/m);
  const fromCp = capture();
  assert.equal(await runProxyConfig({ kubeconfig, context: 'cluster-1', pod: 'deploy/sleep', namespace: 'sample', type: 'routes', output: 'table', fromControlPlane: true, controlPlaneAddress: `127.0.0.1:${cp?.debugPort ?? 0}` }, fromCp), 0);
  assert.match(fromCp.stderr.join('\n'), /from the control plane/);
  assert.match(fromCp.stdout.join('\n'), /^http_proxy +helloworld\.sample\.svc\.cluster\.local:5000 .* helloworld\.sample$/m);

  // analyze: the scenario's config is clean.
  const analysis = capture();
  assert.equal(await runAnalyze({ kubeconfig, context: 'cluster-1', files: [], controlPlaneAddress: `127.0.0.1:${cp?.debugPort ?? 0}`, output: 'table' }, analysis), 0);
  assert.match(analysis.stdout.join('\n'), /No validation issues found/);

  // The routing changes while the requests run: the verdict says so rather than judge mixed counts.
  const changing = capture();
  const running = runTraffic({ ...base(), requests: 1500 }, changing);
  await until('requests being sent', () => changing.stderr.some((l) => l.startsWith('sending ')), 10_000);
  const evenSplit = manifests('helloworld-virtualservice.yaml').map((m) => {
    const object = structuredClone(m.object) as KubeObject & { spec: { http: Array<{ route: Array<{ weight?: number }> }> } };
    for (const route of object.spec.http) for (const destination of route.route) destination.weight = 50;
    return { ...m, object };
  });
  await applyObjects(kc1, evenSplit, { namespace: 'sample' });
  assert.equal(await running, 1, changing.stdout.join('\n'));
  assert.match(changing.stdout.join('\n'), /routing changed while the requests ran \(expected v1=80\.0%,v2=20\.0% before, v1=50\.0%,v2=50\.0% after\)/);

  // The proxy goes away: proxy-status still lists it, DISCONNECTED, with why and when.
  await proxy?.stop();
  proxy = undefined;
  const gone = capture();
  await until('the stopped proxy listed as disconnected', async () => {
    gone.stdout.length = 0;
    await runProxyStatus({ kubeconfig, contexts: ['cluster-1'], controlPlaneAddress: `127.0.0.1:${cp?.debugPort ?? 0}`, output: 'table' }, gone);
    return gone.stdout.join('\n').includes('DISCONNECTED');
  }, 5_000);
  assert.match(gone.stdout.join('\n'), new RegExp(`^${sleep1.metadata?.name ?? ''}\\.sample +cluster-1 +DISCONNECTED \\(cancelled by the proxy or connection lost, \\d+s ago\\) +SYNCED +SYNCED +SYNCED +SYNCED `, 'm'));
});
