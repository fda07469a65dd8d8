import { EXAMPLE_DIR } from '../../test/helpers/paths.js';
// Two local clusters, the scenario's workloads, a remote secret, and the control plane of cluster-1
// driving a raw ADS client that identifies as the sleep pod's sidecar.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import { applyObjects } from '../k8s/client/apply.js';
import { testCacerts } from '../security/pki/test-support.js';
import { parseManifests, type Manifest } from '../k8s/client/manifests.js';
import { startLocalCluster, type LocalCluster } from '../local/cluster.js';
import { buildKubeconfig } from '../k8s/kubeconfig.js';
import { TYPE_URLS } from '../xds/protos.js';
import { runControlPlane, type RunningControlPlane } from './control-plane.js';
import { AdsWatcher, eventually } from './testdata/ads-watcher.js';

const EXAMPLES = EXAMPLE_DIR;
const HELLO = 'outbound|5000||helloworld.sample.svc.cluster.local';
const SECRET = 'istio-remote-secret-cluster-2';

const logs: string[] = [];
const log = (line: string): void => {
  logs.push(line);
};
let dir: string;
let c1: LocalCluster | undefined;
let c2: LocalCluster | undefined;
let kc1: KubeConfig;
let cp: RunningControlPlane | undefined;
let watcher: AdsWatcher | undefined;
let sleepPod: { name: string; ip: string };

function kubeconfigText(c: LocalCluster): string {
  return buildKubeconfig([{ name: c.name, server: c.server, caPem: c.caPem, token: c.token }], c.name);
}

function kubeConfigOf(c: LocalCluster): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText(c));
  return kc;
}

function manifests(file: string): Manifest[] {
  return parseManifests(readFileSync(join(EXAMPLES, file), 'utf8'), file);
}

/** What injection does to a mesh pod: an istio-proxy container beside the app (idle here: no traffic is sent). */
function withSidecar(m: Manifest): Manifest {
  if (m.object.kind !== 'Deployment') return m;
  const object = structuredClone(m.object) as KubeObject & { spec: { template: { spec: { containers: object[] } } } };
  object.spec.template.spec.containers.push({ name: 'istio-proxy', image: 'busybox', command: ['/bin/sleep', 'infinity'] });
  return { ...m, object };
}

/** The scenario's step 4: the Service and sleep everywhere, helloworld-vN only in cluster N. */
function scenarioFor(clusterIndex: number): Manifest[] {
  const keep = (m: Manifest): boolean => m.object.kind !== 'Deployment' || !m.object.metadata.name?.startsWith('helloworld-') || m.object.metadata.name === `helloworld-v${clusterIndex}`;
  return [...manifests('helloworld.yaml'), ...manifests('sleep.yaml')].filter(keep).map(withSidecar);
}

const namespaceManifest = (name: string, labels: Record<string, string>): Manifest => ({
  object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
  source: 'test',
});

function claClusters(): string[] {
  const cla = watcher?.resources(TYPE_URLS.endpoint).get(HELLO) as { endpoints?: Array<{ lb_endpoints?: Array<{ metadata?: { filter_metadata?: { istio?: { fields?: { cluster?: { string_value?: string } } } } } }> }> } | undefined;
  return (cla?.endpoints ?? []).flatMap((l) => (l.lb_endpoints ?? []).map((e) => e.metadata?.filter_metadata?.istio?.fields?.cluster?.string_value ?? '?')).sort();
}

function helloWeights(): Array<[string, number]> {
  const route = watcher?.resources(TYPE_URLS.route).get('http_proxy') as
    | { virtual_hosts?: Array<{ domains?: string[]; routes?: Array<{ route?: { weighted_clusters?: { clusters?: Array<{ name: string; weight?: { value?: number } }> } } }> }> }
    | undefined;
  const vhost = route?.virtual_hosts?.find((v) => (v.domains ?? []).some((d) => d.startsWith('helloworld.sample.svc.cluster.local')));
  return (vhost?.routes?.[0]?.route?.weighted_clusters?.clusters ?? []).map((c) => [c.name, c.weight?.value ?? 0]);
}

async function debugGet(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${cp?.debugPort ?? 0}${path}`);
  return { status: res.status, body: await res.text() };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshwork-cp-'));
  [c1, c2] = await Promise.all([
    startLocalCluster({ name: 'cluster-1', subnetOctet: 211, dir: join(dir, 'cluster-1'), log }),
    startLocalCluster({ name: 'cluster-2', subnetOctet: 221, dir: join(dir, 'cluster-2'), log }),
  ]);
  kc1 = kubeConfigOf(c1);
  const kc2 = kubeConfigOf(c2);
  const mesh = { 'istio.io/rev': 'asm-managed-stable' };
  await applyObjects(kc1, [namespaceManifest('sample', mesh), namespaceManifest('istio-system', {}), (await testCacerts('cluster-1')).manifest, ...scenarioFor(1)], { namespace: 'sample' });
  await applyObjects(kc2, [namespaceManifest('sample', mesh), ...scenarioFor(2)], { namespace: 'sample' });
  await kc1.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: 'istio-system',
    body: {
      metadata: { name: SECRET, labels: { 'istio/multiCluster': 'true' }, annotations: { 'networking.istio.io/cluster': 'cluster-2' } },
      data: { 'cluster-2': Buffer.from(kubeconfigText(c2)).toString('base64') },
    },
  });

  const kubeconfigFile = join(dir, 'cluster-1.kubeconfig');
  writeFileSync(kubeconfigFile, kubeconfigText(c1), { mode: 0o600 });
  cp = await runControlPlane({
    clusterId: 'cluster-1',
    kubeconfig: kubeconfigFile,
    namespace: 'istio-system',
    revision: 'asm-managed-stable',
    xds: { host: '127.0.0.1', securePort: 0, plaintextPort: 0 },
    debug: { host: '127.0.0.1', port: 0 },
    log,
  });

  const core = kc1.makeApiClient(CoreV1Api);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const pods = await core.listNamespacedPod({ namespace: 'sample', labelSelector: 'app=sleep' });
    const p = pods.items.find((x) => x.status?.podIP);
    if (p?.metadata?.name && p.status?.podIP) {
      sleepPod = { name: p.metadata.name, ip: p.status.podIP };
      break;
    }
    if (Date.now() > deadline) throw new Error('the sleep pod of cluster-1 got no IP within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  watcher?.close();
  await cp?.stop();
  await Promise.all([c1?.stop(), c2?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (process.exitCode) process.stderr.write(logs.slice(-80).join('\n') + '\n');
});

test('cross-cluster discovery, remote secret removal, and an 80/20 canary pushed within 2 s', { timeout: 50_000 }, async () => {
  const nodeId = `sidecar~${sleepPod.ip}~${sleepPod.name}.sample~sample.svc.cluster.local`;
  watcher = new AdsWatcher(cp?.plaintextXdsPort ?? 0, { id: nodeId, metadata: { fields: { CLUSTER_ID: { string_value: 'cluster-1' }, NAMESPACE: { string_value: 'sample' } } } }, [
    { typeUrl: TYPE_URLS.cluster, names: [] },
    { typeUrl: TYPE_URLS.endpoint, names: [HELLO] },
    { typeUrl: TYPE_URLS.listener, names: [] },
    { typeUrl: TYPE_URLS.route, names: ['http_proxy'] },
  ]);

  // Step 3/4: the endpoints of both clusters, each tagged with its cluster.
  await eventually('helloworld endpoints of both clusters', () => claClusters().join(',') === 'cluster-1,cluster-2', 25_000, claClusters);
  const cla = watcher.resources(TYPE_URLS.endpoint).get(HELLO);
  const addresses = JSON.stringify(cla).match(/127\.2[12]1\.\d+\.\d+/g) ?? [];
  assert.ok(addresses.some((a) => a.startsWith('127.211.')) && addresses.some((a) => a.startsWith('127.221.')), `pod IPs of both clusters: ${addresses.join(' ')}`);

  assert.equal((await debugGet('/ready')).status, 200);
  const registry = JSON.parse((await debugGet('/debug/registry')).body) as { clusters: Array<{ clusterId: string; remote: boolean; synced: boolean; endpoints: unknown[] }> };
  assert.deepEqual(registry.clusters.map((c) => [c.clusterId, c.remote, c.synced]), [['cluster-1', false, true], ['cluster-2', true, true]]);
  const syncz = JSON.parse((await debugGet('/debug/syncz')).body) as { proxies: Array<{ nodeId: string }> };
  assert.ok(syncz.proxies.some((p) => p.nodeId === nodeId), 'our proxy in syncz');
  const dump = JSON.parse((await debugGet(`/debug/config_dump?proxyID=${sleepPod.name}.sample`)).body) as { configs: Array<Record<string, unknown>> };
  assert.deepEqual(dump.configs.map((c) => String(c['@type']).split('.').pop()), ['ListenersConfigDump', 'RoutesConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump']);
  assert.match(JSON.stringify(dump.configs[3]), /cluster-2/);
  assert.equal((await debugGet('/debug/config_dump')).status, 400);
  assert.equal((await debugGet('/debug/analyze')).status, 200);

  // A remote secret deleted at run time: that cluster's endpoints go away, no restart.
  await kc1.makeApiClient(CoreV1Api).deleteNamespacedSecret({ name: SECRET, namespace: 'istio-system' });
  await eventually('only cluster-1 endpoints after the remote secret is deleted', () => claClusters().join(',') === 'cluster-1', 5_000, claClusters);

  // Step 5: the DestinationRule and VirtualService of the scenario, as applied with kubectl.
  assert.deepEqual(helloWeights(), [], 'no weighted split before the rules');
  await applyObjects(kc1, [...manifests('helloworld-destinationrule.yaml'), ...manifests('helloworld-virtualservice.yaml')], { namespace: 'sample' });
  const appliedAt = Date.now();
  await eventually('http_proxy to split helloworld 80/20', () => helloWeights().length === 2, 2_000 - (Date.now() - appliedAt), helloWeights);
  assert.ok(Date.now() - appliedAt <= 2_000, `pushed ${Date.now() - appliedAt} ms after the apply`);
  assert.deepEqual(helloWeights(), [
    ['outbound|5000|v1|helloworld.sample.svc.cluster.local', 80],
    ['outbound|5000|v2|helloworld.sample.svc.cluster.local', 20],
  ]);
  assert.ok(!logs.some((l) => l.includes('NACK')), 'no NACKs');
});

test('a Sidecar applied with kubectl narrows the sidecar\'s config to its egress hosts (here: REGISTRY_ONLY\'s block_all alone)', { timeout: 30_000 }, async () => {
  assert.ok(watcher, 'runs after the first test opened the ADS stream');
  const vhosts = (): string[] => {
    const route = watcher?.resources(TYPE_URLS.route).get('http_proxy') as { virtual_hosts?: Array<{ name: string }> } | undefined;
    return (route?.virtual_hosts ?? []).map((v) => v.name).sort();
  };
  await eventually('helloworld routed before the Sidecar', () => vhosts().includes('helloworld.sample.svc.cluster.local:5000'), 5_000, vhosts);
  const sidecar = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: sample}
spec:
  egress: [{hosts: [istio-system/*]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`;
  await applyObjects(kc1, parseManifests(sidecar, 'sidecar.yaml'), { namespace: 'sample' });
  // Only istio-system is imported (no Service there): what is left is Istio's block_all.
  await eventually('only block_all under the Sidecar', () => vhosts().join(',') === 'block_all', 5_000, vhosts);
  assert.equal(watcher?.resources(TYPE_URLS.cluster).has(HELLO), false, 'the helloworld cluster is gone from CDS');
  assert.ok(!logs.some((l) => l.includes('NACK')), 'no NACKs');
});
