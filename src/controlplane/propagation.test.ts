// Config propagation through a real control plane to a real Envoy: a local cluster, the control plane
// of it, an Envoy ingress gateway (router) and a raw ADS sidecar. A Gateway applied with the API is
// ACKed by Envoy; one whose port Envoy cannot bind is NACKed with Envoy's own message; the fix is ACKed.
// The sidecar, whose config a Gateway does not touch, counts acked all along.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { EXAMPLE_DIR } from '../../test/helpers/paths.js';
import { applyObjects } from '../kubeapi/apply.js';
import { parseManifests, type Manifest } from '../kubeapi/manifests.js';
import { startLocalCluster, type LocalCluster } from '../local/cluster.js';
import { buildKubeconfig } from '../local/kubeconfig.js';
import { testCacerts } from '../security/pki/test-support.js';
import { NO_ENVOY, startTestEnvoy, testEnvoyPath, type TestEnvoy } from '../envoy/testdata/live-envoy.js';
import { TYPE_URLS } from '../xds/protos.js';
import { runControlPlane, type RunningControlPlane } from './control-plane.js';
import type { ConfigChange, ConfigDistributionReport } from './propagation-report.js';
import { AdsWatcher, eventually } from './testdata/ads-watcher.js';

const envoyPath = testEnvoyPath();
const OCTET = 227;
const GATEWAY_IP = `127.${OCTET}.0.60`;
const GATEWAY_NODE = `router~${GATEWAY_IP}~gw-1.istio-system~istio-system.svc.cluster.local`;
const SIDECAR_NODE = `sidecar~127.${OCTET}.0.61~sleep-1.sample~sample.svc.cluster.local`;

const logs: string[] = [];
const log = (line: string): void => {
  logs.push(line);
};
let dir: string;
let cluster: LocalCluster | undefined;
let kc: KubeConfig;
let cp: RunningControlPlane | undefined;
let envoy: TestEnvoy | undefined;
let sidecar: AdsWatcher | undefined;
let squatter: Server | undefined;
let envoySynced = false;

const namespace = (name: string): Manifest => ({ object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, source: 'test' });

function gateway(port: number): Manifest {
  return {
    object: {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'edge', namespace: 'sample' },
      spec: { selector: {}, servers: [{ port: { number: port, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
    },
    source: 'test',
  };
}

async function resourceVersion(plural: string, name: string): Promise<string> {
  const obj = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', namespace: 'sample', plural, name })) as { metadata: { resourceVersion: string } };
  return obj.metadata.resourceVersion;
}

async function distribution(resource: string): Promise<ConfigDistributionReport> {
  const res = await fetch(`http://127.0.0.1:${cp?.debugPort ?? 0}/debug/config_distribution?resource=${encodeURIComponent(resource)}`);
  assert.equal(res.status, 200);
  return (await res.json()) as ConfigDistributionReport;
}

/** Polls the object's change at `rv` until `done` holds for it. */
async function changeAt(resource: string, rv: string, done: (c: ConfigChange) => boolean, timeoutMs = 10_000): Promise<ConfigChange> {
  let last: ConfigChange | undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    last = (await distribution(resource)).changes.find((c) => c.resourceVersion === rv);
    if (last && done(last)) return last;
    if (Date.now() > deadline) throw new Error(`${resource} at resourceVersion ${rv}: not there within ${timeoutMs} ms; last seen ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const proxyState = (c: ConfigChange, nodeId: string) => c.proxies.find((p) => p.nodeId === nodeId);

before(async () => {
  if (!envoyPath) return;
  dir = mkdtempSync(join(tmpdir(), 'meshwork-propagation-'));
  cluster = await startLocalCluster({ name: 'cluster-1', subnetOctet: OCTET, dir: join(dir, 'cluster-1'), log });
  const kubeconfigText = buildKubeconfig([{ name: cluster.name, server: cluster.server, caPem: cluster.caPem, token: cluster.token }], cluster.name);
  kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  const helloworld = parseManifests(readFileSync(join(EXAMPLE_DIR, 'helloworld.yaml'), 'utf8'), 'helloworld.yaml').filter((m) => m.object.kind === 'Service');
  await applyObjects(kc, [namespace('istio-system'), namespace('sample'), (await testCacerts('cluster-1')).manifest, ...helloworld], { namespace: 'sample' });
  const kubeconfigFile = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigFile, kubeconfigText, { mode: 0o600 });
  cp = await runControlPlane({
    clusterId: 'cluster-1',
    kubeconfig: kubeconfigFile,
    namespace: 'istio-system',
    revision: 'asm-managed-stable',
    xds: { host: '127.0.0.1', securePort: 0, plaintextPort: 0 },
    debug: { host: '127.0.0.1', port: 0 },
    configStatus: false,
    log,
  });
  const xdsPort = cp.plaintextXdsPort!;
  envoy = await startTestEnvoy({ binary: envoyPath, xdsPort, nodeId: GATEWAY_NODE, adminHost: GATEWAY_IP, metadata: { CLUSTER_ID: 'cluster-1' } });
  sidecar = new AdsWatcher(xdsPort, { id: SIDECAR_NODE, metadata: { fields: { CLUSTER_ID: { string_value: 'cluster-1' } } } }, [
    { typeUrl: TYPE_URLS.cluster, names: [] },
    { typeUrl: TYPE_URLS.listener, names: [] },
  ]);
  await eventually('the sidecar got its clusters', () => sidecar!.resources(TYPE_URLS.cluster).size > 0, 10_000);
  const deadline = Date.now() + 15_000;
  while (!envoySynced && Date.now() < deadline) {
    const syncz = (await (await fetch(`http://127.0.0.1:${cp.debugPort}/debug/syncz`)).json()) as { proxies: Array<{ nodeId: string; types: Record<string, { state: string }> }> };
    const types = Object.values(syncz.proxies.find((p) => p.nodeId === GATEWAY_NODE)?.types ?? {});
    envoySynced = types.length > 0 && types.every((t) => t.state === 'SYNCED');
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  sidecar?.close();
  squatter?.close();
  await envoy?.stop();
  await cp?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (process.exitCode) process.stderr.write(logs.slice(-60).join('\n') + '\n');
});

test('a Gateway is ACKed by Envoy; one Envoy cannot bind is NACKed with its message; the fix is ACKed', { skip: envoyPath ? false : NO_ENVOY, timeout: 60_000 }, async () => {
  await eventually('Envoy connected and in sync', () => envoySynced, 15_000, () => envoySynced);

  await applyObjects(kc, [gateway(18080)]);
  const rv1 = await resourceVersion('gateways', 'edge');
  const applied = await changeAt('Gateway/sample/edge', rv1, (c) => proxyState(c, GATEWAY_NODE)?.state === 'acked' && proxyState(c, SIDECAR_NODE)?.state === 'acked');
  assert.equal(applied.event, 'ADDED');
  assert.equal(applied.sourceCluster, 'cluster-1');
  assert.notEqual(applied.snapshotVersion, '');
  assert.equal(applied.summary.acked, 2);
  assert.ok(applied.completedAt, 'every proxy acked: completedAt is set');
  const gw = proxyState(applied, GATEWAY_NODE)!;
  assert.equal(gw.cluster, 'cluster-1');
  assert.equal(gw.kind, 'router');
  assert.equal(gw.pod, 'gw-1.istio-system');
  assert.ok(gw.sentAt && gw.ackedAt && gw.sentAt <= gw.ackedAt, JSON.stringify(gw));
  assert.ok((gw.latencyMs ?? -1) >= 0 && (gw.latencyMs ?? Infinity) < 5000, `latency ${gw.latencyMs} ms`);
  // Envoy really has it: the listener the Gateway opens is active.
  const listeners = JSON.stringify(await envoy!.configDump('?resource=dynamic_listeners'));
  assert.match(listeners, /0\.0\.0\.0_18080/);

  // A port someone else holds on the gateway's address: Envoy refuses the listener (LDS NACK).
  squatter = createServer();
  await new Promise<void>((resolve) => squatter!.listen(18081, GATEWAY_IP, resolve));
  await applyObjects(kc, [gateway(18081)]);
  const rv2 = await resourceVersion('gateways', 'edge');
  const refused = await changeAt('Gateway/sample/edge', rv2, (c) => proxyState(c, GATEWAY_NODE)?.state === 'nacked');
  const nacked = proxyState(refused, GATEWAY_NODE)!;
  assert.equal(refused.event, 'MODIFIED');
  assert.match(nacked.error ?? '', /^LDS: .*18081/, `Envoy's message names the port: ${nacked.error}`);
  assert.ok(nacked.nackedAt);
  assert.equal(proxyState(refused, SIDECAR_NODE)?.sentAt, undefined, 'nothing was sent to the sidecar for a Gateway');
  assert.equal(refused.completedAt, undefined);
  process.stdout.write(`# the refused change, as /debug/config_distribution serves it:\n${JSON.stringify(refused, null, 2).replace(/^/gm, '#   ')}\n`);

  await applyObjects(kc, [gateway(18082)]);
  const rv3 = await resourceVersion('gateways', 'edge');
  const fixed = await changeAt('Gateway/sample/edge', rv3, (c) => proxyState(c, GATEWAY_NODE)?.state === 'acked');
  assert.equal(proxyState(fixed, SIDECAR_NODE)?.state, 'acked', 'the sidecar, untouched by Gateways, is in sync');
  const again = (await distribution('Gateway/sample/edge')).changes;
  assert.deepEqual(again.map((c) => c.resourceVersion), [rv3, rv2, rv1], 'newest first');
  assert.equal(proxyState(again[1]!, GATEWAY_NODE)?.state, 'nacked', 'the refused version stays nacked');

  const all = (await (await fetch(`http://127.0.0.1:${cp!.debugPort}/debug/config_distribution`)).json()) as ConfigDistributionReport;
  assert.equal(all.cluster, 'cluster-1');
  assert.ok(all.changes.some((c) => c.kind === 'Service' && c.name === 'helloworld'), 'Services are tracked too');
  const bad = await fetch(`http://127.0.0.1:${cp!.debugPort}/debug/config_distribution?resource=edge`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /Kind\/namespace\/name/);

  const metrics = await (await fetch(`http://127.0.0.1:${cp!.debugPort}/metrics`)).text();
  assert.match(metrics, /^meshwork_config_changes_nacked_total\{kind="Gateway"\} 1$/m);
  const count = /^meshwork_config_propagation_seconds_count\{kind="Gateway"\} (\d+)$/m.exec(metrics);
  assert.ok(count && Number(count[1]) >= 3, `propagation observations of Gateway changes: ${count?.[1]}`);
});
