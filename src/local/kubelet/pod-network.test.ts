// Pod networks and iptables interception with the real kernel and real Envoys: three pods in network
// namespaces on one bridge (sleep and helloworld with sidecars, an intruder without), istio-iptables'
// default rules in the sidecar pods, each Envoy as uid 1337 fed the interception listener model over
// ADS, mesh mTLS from SPIFFE certificates, STRICT PeerAuthentication. Needs root, ip, iptables and
// Envoy; skips with the reason otherwise.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chiSquareTest, SUITE_ALPHA } from '../../stats/chisquare.js';
import { makeTestPki, type TestPki } from '../../conformance/tls-pki.js';
import { toXdsSnapshot } from '../../controlplane/proxy-resources.js';
import { envoyBootstrap } from '../../envoy/bootstrap.js';
import { locateEnvoy } from '../../envoy/locate.js';
import { startTestSds, type TestSds } from '../../envoy/testdata/test-sds.js';
import { iptablesRestoreInput, istioInitArgs, parseIstioIptablesArgs } from '../../inject/iptables-rules.js';
import type { MeshSnapshot, ProxyIdentity } from '../../registry/model.js';
import { ROOT_CA_SECRET, SDS_CLUSTER, WORKLOAD_SECRET } from '../../security/secrets.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters } from '../../translate/testdata/fixture.js';
import { MeshTranslator } from '../../translate/translate.js';
import { SnapshotCache } from '../../xds/cache.js';
import { startXdsServer, type RunningXdsServer } from '../../xds/server.js';
import {
  bridgePlan, bridgeTeardown, inPodNamespace, podNetworkNames, podNetworkPlan, podNetworkTeardown, podNetworkUnsupported,
  removePodNetnsFiles, runPlan, writePodNetnsFiles,
} from './pod-network.js';

describe('pod network plans (pure)', () => {
  it('names are stable per pod, start with mw and fit IFNAMSIZ', () => {
    const a = podNetworkNames('uid-1');
    assert.deepEqual(a, podNetworkNames('uid-1'));
    assert.notDeepEqual(a, podNetworkNames('uid-2'));
    assert.match(a.netns, /^mw-[0-9a-f]{10}$/);
    assert.ok(a.hostVeth.length <= 15 && a.hostVeth.startsWith('mwv'));
  });

  it('a pod: namespace, veth into the bridge, eth0 with the address, lo up, default route via the bridge', () => {
    assert.deepEqual(podNetworkPlan({ netns: 'mw-abc', hostVeth: 'mwvabc', bridge: 'mw-br1', podCidr: '10.74.0.5/24', gateway: '10.74.0.1' }), [
      ['ip', 'netns', 'add', 'mw-abc'],
      ['ip', 'link', 'add', 'mwvabc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'mw-abc'],
      ['ip', 'link', 'set', 'mwvabc', 'master', 'mw-br1'],
      ['ip', 'link', 'set', 'mwvabc', 'up'],
      ['ip', '-n', 'mw-abc', 'addr', 'add', '10.74.0.5/24', 'dev', 'eth0'],
      ['ip', '-n', 'mw-abc', 'link', 'set', 'eth0', 'up'],
      ['ip', '-n', 'mw-abc', 'link', 'set', 'lo', 'up'],
      ['ip', '-n', 'mw-abc', 'route', 'add', 'default', 'via', '10.74.0.1'],
    ]);
    assert.deepEqual(podNetworkTeardown({ netns: 'mw-abc' }), [['ip', 'netns', 'del', 'mw-abc']]);
  });

  it('refuses names that are not ours and addresses without a prefix', () => {
    assert.throws(() => bridgePlan({ name: 'docker0', gatewayCidr: '10.74.0.1/24' }), /bridge "docker0" must start with "mw"/);
    assert.throws(() => bridgePlan({ name: 'mw-bridge-far-too-long', gatewayCidr: '10.74.0.1/24' }), /at most 15 characters/);
    assert.throws(() => podNetworkPlan({ netns: 'mw-a', hostVeth: 'mwva', bridge: 'mw-br1', podCidr: '10.74.0.5', gateway: '10.74.0.1' }), /pod address "10.74.0.5" is not an IPv4 address with a prefix/);
  });

  it('runs a command in the namespace as the proxy user', () => {
    assert.deepEqual(inPodNamespace('mw-a', ['envoy', '-c', 'b.json'], { uid: 1337, gid: 1337 }), ['ip', 'netns', 'exec', 'mw-a', 'setpriv', '--reuid=1337', '--regid=1337', '--clear-groups', 'envoy', '-c', 'b.json']);
  });
});

// ---- the real thing ------------------------------------------------------------------------------

const envoyPath = locateEnvoy()?.path;
const unsupported = podNetworkUnsupported() ?? (envoyPath ? undefined : 'no Envoy installed: run node scripts/ensure-envoy.mjs');
const BRIDGE = { name: 'mw-br74', gatewayCidr: '10.74.0.1/24' };
const GATEWAY = '10.74.0.1';
const HW = 'helloworld.sample.svc.cluster.local';
const PEER_AUTHENTICATION = (mode: 'STRICT' | 'PERMISSIVE'): string => `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: sample}
spec: {mtls: {mode: ${mode}}}
`;

interface TestPod {
  name: string;
  ip: string;
  netns: string;
  hostVeth: string;
  proxy?: ProxyIdentity;
}

function curl(pod: TestPod, url: string, user?: { uid: number; gid: number }): { status: number | null; body: string; stderr: string } {
  const argv = inPodNamespace(pod.netns, ['curl', '-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', url], user);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return { status: r.status, body: r.stdout, stderr: r.stderr };
}

describe('iptables interception in pod network namespaces (real kernel, real Envoy)', { skip: unsupported ?? false }, () => {
  const tag = `pod-network-test-${process.pid}`;
  const pods: TestPod[] = [
    { name: 'sleep', ip: '10.74.0.2', ...podNetworkNames(`${tag}-sleep`) },
    { name: 'helloworld-v1', ip: '10.74.0.3', ...podNetworkNames(`${tag}-hello`) },
    { name: 'intruder', ip: '10.74.0.4', ...podNetworkNames(`${tag}-intruder`) },
    { name: 'helloworld-v2', ip: '10.74.0.5', ...podNetworkNames(`${tag}-hello2`) },
  ];
  const [sleepPod, helloPod, intruderPod, hello2Pod] = pods as [TestPod, TestPod, TestPod, TestPod];
  const sidecarPods = [sleepPod, helloPod, hello2Pod];
  const children: ChildProcess[] = [];
  const logs = new Map<string, string[]>();
  const sds: TestSds[] = [];
  let xds: RunningXdsServer | undefined;
  let dir = '';
  let pki: TestPki;
  let push: (mode: 'STRICT' | 'PERMISSIVE') => void = () => { throw new Error('the mesh is not set up'); };

  function startInPod(pod: TestPod, argv: string[], user?: { uid: number; gid: number }): ChildProcess {
    const full = inPodNamespace(pod.netns, argv, user);
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    if (!logs.has(pod.name)) logs.set(pod.name, lines);
    child.stderr?.on('data', (d: Buffer) => lines.push(d.toString()));
    child.on('exit', (code) => { if (code !== 0 && code !== null) process.stderr.write(`${pod.name}: ${argv[0]} exited ${code}: ${lines.join('').slice(-1500)}\n`); });
    children.push(child);
    return child;
  }

  async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000, detail: () => string = () => ''): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${detail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // Admin binds the pod IP, which the capture sends to virtualInbound from outside (STRICT): ask from
  // inside the pod, where the pod's own calls over lo are not captured.
  function admin(pod: TestPod, path: string): string {
    const argv = inPodNamespace(pod.netns, ['curl', '-sS', '--max-time', '2', `http://${pod.ip}:15000${path}`]);
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    return r.status === 0 ? r.stdout : '';
  }

  async function stats(pod: TestPod, filter: string): Promise<Map<string, number>> {
    const text = admin(pod, `/stats?filter=${encodeURIComponent(filter)}`);
    return new Map([...text.matchAll(/^(\S+): (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  }
  const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

  before(async () => {
    runPlan([...podNetworkTeardown({ netns: sleepPod.netns }), ...podNetworkTeardown({ netns: helloPod.netns }), ...podNetworkTeardown({ netns: intruderPod.netns }), ...bridgeTeardown(BRIDGE)], { ignoreFailures: true });
    runPlan(bridgePlan(BRIDGE));
    for (const pod of pods) {
      runPlan(podNetworkPlan({ netns: pod.netns, hostVeth: pod.hostVeth, bridge: BRIDGE.name, podCidr: `${pod.ip}/24`, gateway: GATEWAY }));
      // A Service name for the apps to dial: an address nothing answers on; only the sidecar makes it work.
      writePodNetnsFiles(pod.netns, { resolvConf: `nameserver ${GATEWAY}\n`, hosts: `127.0.0.1 localhost\n${pod.ip} ${pod.name}\n10.96.0.50 helloworld.sample helloworld.sample.svc.cluster.local\n` });
    }
    // istio-init of the two sidecar pods: the injector's default args.
    const rules = iptablesRestoreInput(parseIstioIptablesArgs(istioInitArgs({})));
    for (const pod of sidecarPods) {
      const argv = inPodNamespace(pod.netns, ['iptables-restore', '--noflush']);
      const r = spawnSync(argv[0]!, argv.slice(1), { input: rules, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }

    // The mesh: the scenario with helloworld v1 at its pod IP only, STRICT mTLS in sample.
    const clusters = scenarioClusters(['destinationrule', 'virtualservice']);
    const cache = new SnapshotCache();
    xds = await startXdsServer({ host: GATEWAY, port: 0, cache, log: () => {} });
    pki = await makeTestPki();
    // The scenario with helloworld v1 at its pod IP only, and sample's PeerAuthentication in `mode`.
    const meshSnapshot = (mode: 'STRICT' | 'PERMISSIVE'): MeshSnapshot => {
      const fresh = scenarioClusters(['destinationrule', 'virtualservice']);
      for (const cluster of fresh) cluster.apply('sample', parseYaml(PEER_AUTHENTICATION(mode), 'peer authentication'));
      const snapshot = buildSnapshot(fresh);
      // ClusterIPs, so that TCP service ports (the gateway's) get their <ClusterIP>_<port> listeners too.
      snapshot.services.forEach((service, i) => { service.clusterIPs = { 'cluster-1': `10.96.0.${60 + i}` }; });
      // helloworld v1 (cluster-1) and v2 (cluster-2) at their pod IPs here, sleep of cluster-1.
      snapshot.endpoints = snapshot.endpoints
        .filter((e) => e.hostname === HW || (e.cluster === 'cluster-1' && e.hostname.startsWith('sleep.')))
        .map((e) => {
          const pod = e.hostname === HW ? (e.labels.version === 'v1' ? helloPod : hello2Pod) : sleepPod;
          return { ...e, address: pod.ip, appAddress: pod.ip, serviceAccount: e.hostname === HW ? 'helloworld' : 'sleep' };
        });
      return snapshot;
    };
    dir = mkdtempSync(join(tmpdir(), 'mw-pod-network-'));
    chmodSync(dir, 0o755);
    for (const [pod, cert] of [[sleepPod, pki.client], [helloPod, pki.upstream], [hello2Pod, pki.upstream]] as const) {
      const fixturePod = (pod === hello2Pod ? clusters[1]! : clusters[0]!).pod(pod.name);
      const base = proxyFor(fixturePod, 'sidecar');
      const nodeId = `sidecar~${pod.ip}~${base.podName}.sample~sample.svc.cluster.local`;
      pod.proxy = { ...base, id: nodeId, ip: pod.ip, appIp: pod.ip, interceptionMode: 'REDIRECT' };
      const server = await startTestSds({
        [WORKLOAD_SECRET]: { name: WORKLOAD_SECRET, tls_certificate: { certificate_chain: { inline_string: cert.certPem }, private_key: { inline_string: cert.keyPem } } },
        [ROOT_CA_SECRET]: { name: ROOT_CA_SECRET, validation_context: { trusted_ca: { inline_string: pki.root.certPem } } },
      }, GATEWAY);
      sds.push(server);
      const bootstrap = envoyBootstrap({
        nodeId, cluster: 'test', metadata: { CLUSTER_ID: 'cluster-1', INTERCEPTION_MODE: 'REDIRECT' },
        xdsAddress: `${GATEWAY}:${xds.port}`, podIp: pod.ip, adminPort: 15000, prometheusPort: 0, delta: false,
      });
      (bootstrap['static_resources'] as { clusters: unknown[] }).clusters.push({
        name: SDS_CLUSTER, type: 'STATIC', connect_timeout: '1s',
        load_assignment: { cluster_name: SDS_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: GATEWAY, port_value: server.port } } } }] }] },
        typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } },
      });
      const path = join(dir, `${pod.name}.json`);
      writeFileSync(path, JSON.stringify(bootstrap), { mode: 0o644 });
      startInPod(pod, [envoyPath!, '-c', path, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warning', '--local-address-ip-version', 'v4'], { uid: 1337, gid: 1337 });
    }
    push = (mode) => {
      const snapshot = meshSnapshot(mode);
      const translator = new MeshTranslator(snapshot);
      for (const pod of sidecarPods) cache.setSnapshot(pod.proxy!.id, toXdsSnapshot(translator.translateScoped(pod.proxy!)));
    };
    push('STRICT');
    // The app: helloworld v1 on its pod IP (not as 1337: its traffic is the pod's).
    for (const [pod, version] of [[helloPod, 'v1'], [hello2Pod, 'v2']] as const) {
      startInPod(pod, [process.execPath, '-e', `require('http').createServer((q, s) => s.end(q.url === '/hello' ? 'Hello version: ${version}, instance: ${pod.name}\\n' : 'not found\\n')).listen(5000, '${pod.ip}')`]);
    }
    for (const pod of sidecarPods) {
      await waitFor(`${pod.name}'s Envoy ready`, () => admin(pod, '/ready').trim() === 'LIVE', 20_000, () => logs.get(pod.name)?.join('').slice(-3000) ?? '');
      await waitFor(`${pod.name}'s Envoy without warming clusters`, async () => ((await stats(pod, 'cluster_manager.warming_clusters')).get('cluster_manager.warming_clusters') ?? 1) === 0);
    }
  });

  after(async () => {
    for (const child of children) if (child.pid && child.exitCode === null) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    for (const child of children) if (child.pid && child.exitCode === null) child.kill('SIGKILL');
    for (const s of sds) s.close();
    await xds?.close();
    for (const pod of pods) {
      runPlan(podNetworkTeardown(pod), { ignoreFailures: true });
      removePodNetnsFiles(pod.netns);
    }
    runPlan(bridgeTeardown(BRIDGE), { ignoreFailures: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an app with no proxy settings reaches helloworld.sample:5000 through both sidecars, over mesh mTLS', async () => {
    const handshakes = async (pod: TestPod): Promise<number> => sum(await stats(pod, 'listener.0.0.0.0_15006.ssl.handshake'));
    const before = new Map([[helloPod, await handshakes(helloPod)], [hello2Pod, await handshakes(hello2Pod)]]);
    const r = curl(sleepPod, 'http://helloworld.sample:5000/hello');
    assert.equal(r.status, 0, r.stderr);
    const m = /Hello version: (v1|v2), instance: (helloworld-v[12])\n\n200$/.exec(r.body);
    assert.ok(m, r.body);
    const answering = m[1] === 'v1' ? helloPod : hello2Pod;
    assert.equal(m[2], answering.name);
    const out = await stats(sleepPod, `cluster.outbound|5000|${m[1]}|${HW}.upstream_rq_200`);
    assert.ok(sum(out) >= 1, `the sleep sidecar's outbound cluster served it: ${JSON.stringify([...out])}`);
    const inbound = await stats(answering, 'cluster.inbound|5000||.upstream_rq_200');
    assert.ok(sum(inbound) >= 1, `the ${answering.name} sidecar's inbound cluster served it: ${JSON.stringify([...inbound])}`);
    assert.ok((await handshakes(answering)) > before.get(answering)!, 'the inbound connection was mesh mTLS');
    // Envoy took the whole model, the TCP port listeners included (a rejected listener NACKs them all).
    const listeners = admin(sleepPod, '/listeners');
    for (const name of ['virtualOutbound::0.0.0.0:15001', 'virtualInbound::0.0.0.0:15006', '0.0.0.0_5000::0.0.0.0:5000']) assert.ok(listeners.includes(name), `${name} in ${listeners}`);
    assert.match(listeners, /^10\.96\.0\.\d+_\d+::10\.96\.0\.\d+:\d+$/m);
  });

  it("the scenario's 80/20 v1/v2 split holds through the intercepted path (chi-square)", (t) => {
    const n = 300;
    const argv = inPodNamespace(sleepPod.netns, ['curl', '-sS', '--max-time', '30', ...Array.from({ length: n }, () => 'http://helloworld.sample:5000/hello')]);
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const v1 = (r.stdout.match(/Hello version: v1/g) ?? []).length;
    const v2 = (r.stdout.match(/Hello version: v2/g) ?? []).length;
    assert.equal(v1 + v2, n, r.stdout.slice(0, 500));
    const test = chiSquareTest([v1, v2], [80, 20], SUITE_ALPHA);
    t.diagnostic(`v1 ${v1}, v2 ${v2}, p = ${test.pValue.toFixed(3)}`);
    assert.ok(test.pass, `v1 ${v1}, v2 ${v2}: p = ${test.pValue}`);
  });

  it('under STRICT a plain dial of the pod IP from a pod without a sidecar is refused', () => {
    const r = curl(intruderPod, `http://${helloPod.ip}:5000/hello`);
    assert.notEqual(r.status, 0, `expected a refused or reset connection, got ${r.body}`);
    assert.doesNotMatch(r.body, /Hello version/);
    // The app itself answers: the refusal is the sidecar's (the pod's own call over lo is not captured).
    const own = curl(helloPod, `http://${helloPod.ip}:5000/hello`);
    assert.match(own.body, /Hello version: v1/);
  });

  it('under STRICT the sidecar cannot be bypassed as the proxy user either', () => {
    const r = curl(sleepPod, `http://${helloPod.ip}:5000/hello`, { uid: 1337, gid: 1337 });
    assert.notEqual(r.status, 0, `expected a refused or reset connection, got ${r.body}`);
    assert.doesNotMatch(r.body, /Hello version/);
  });

  it('PERMISSIVE: the same plain dial is taken by the sidecar\'s plaintext chain and reaches the app', async () => {
    push('PERMISSIVE');
    const counted = async (): Promise<number> => sum(await stats(helloPod, 'cluster.inbound|5000||.upstream_rq_200'));
    const before = await counted();
    let last = { status: null as number | null, body: '', stderr: '' };
    await waitFor('the PERMISSIVE config to reach helloworld\'s sidecar', () => {
      last = curl(intruderPod, `http://${helloPod.ip}:5000/hello`);
      return /Hello version: v1/.test(last.body);
    }, 15_000, () => JSON.stringify(last));
    assert.ok((await counted()) > before, 'the plain request crossed the helloworld sidecar (its inbound cluster counted it)');
  });
});
