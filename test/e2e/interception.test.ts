// The scenario with iptables interception (`meshwork up --interception iptables`, as root): the injected
// pods run in network namespaces of their own on the mesh bridge mw-br82 (pods 10.82.0.0/16, ClusterIPs
// 10.83.0.0/16), istio-init programs Istio's capture, the apps get no http_proxy. The sleep app reaches
// helloworld.sample:5000 through both sidecars over mesh mTLS, the scenario's 80/20 holds (chi-square),
// the ingress gateway (a namespace of its own, not captured) reaches both versions, under STRICT a plain dial of helloworld's app port from a pod without a sidecar, or from the sleep pod
// bypassing its sidecar, is refused; after a kill -9 of the host the pods serve on and the next `up`
// adopts them with their namespaces; `down` after another kill -9 leaves no namespace, veth, bridge,
// route or process. Octet base 82 (127.82/127.92 for the clusters' API servers and other pods).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';
import { processRunning } from '../../src/os/proc.js';
import { podNetworkUnsupported } from '../../src/local/kubelet/pod-network.js';
import { locateEnvoy } from '../../src/envoy/locate.js';
import { MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { podName, sendFromPod } from '../helpers/traffic.js';

const BASE = 82;
const BRIDGE = `mw-br${BASE}`;
const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const URL = 'http://helloworld.sample:5000/hello';
const unsupported = podNetworkUnsupported() ?? (locateEnvoy() ? undefined : 'no Envoy installed: run node scripts/ensure-envoy.mjs');

const strict = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: sample
spec:
  mtls:
    mode: STRICT
`;

/** The scenario's sleep without a sidecar: a pod of the namespace that is not in the mesh. */
function intruderYaml(): string {
  return readFileSync(join(scenarioDir(), 'sleep.yaml'), 'utf8')
    .replaceAll('sleep', 'intruder')
    .replace('/bin/intruder', '/bin/sleep')
    .replace(/(template:\n\s+metadata:\n\s+labels:\n)(\s+)(app: intruder)/, '$1$2$3\n$2sidecar.istio.io/inject: "false"');
}

function recordedNetns(stateDir: string): string[] {
  const file = join(stateDir, 'pod-network.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { netns: string[] }).netns : [];
}

const sh = (argv: string[]): string => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).stdout;

describe('iptables interception: the scenario in pod network namespaces', { skip: unsupported ?? false, timeout: 900_000 }, () => {
  const env = new MeshworkEnv(BASE);
  const pods: Record<string, string> = {};
  const ips: Record<string, string> = {};
  let netnsSeen: string[] = [];

  const exec = (pod: string, container: string, command: string[]) => env.kubectl('cluster-1', ['exec', '-n', 'sample', pod, '-c', container, '--', ...command]);
  /** An Envoy stat of a sidecar, read from its admin port inside the pod (the pod's own calls are not captured). */
  const envoyStats = async (pod: string, container: string, ip: string, filter: string): Promise<number> => {
    const res = await exec(pod, container, ['curl', '-sS', '--max-time', '5', `http://${ip}:15000/stats?filter=${encodeURIComponent(filter)}`]);
    assert.equal(res.code, 0, res.stderr);
    return [...res.stdout.matchAll(/^\S+: (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
  };

  before(async () => {
    chmodSync(env.stateDir, 0o755); // the proxies run as uid 1337 and read their pods' files there
    const up = await env.meshwork(['up', '-d', '--clusters', '2', '--subnet-base', String(BASE), '--interception', 'iptables', '--timeout', '120'], 150_000);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match(up.stdout + up.stderr, /ready/);
    for (const ctx of CONTEXTS) {
      const install = await env.meshwork(['install', '--context', ctx, '--timeout', '90', '--data-plane', 'envoy'], 120_000);
      assert.equal(install.code, 0, install.stderr + install.stdout);
      assert.match(install.stdout, /iptables interception: injected pods get istio-init and no http_proxy/);
      await env.deployHelloworld(ctx);
    }
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', '-'], intruderYaml());
    const mesh = await env.meshwork(['create-mesh', 'cluster-1', 'cluster-2']);
    assert.equal(mesh.code, 0, mesh.stderr + mesh.stdout);
    for (const ctx of CONTEXTS) await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2, 120_000);
    await env.waitPodsReady('cluster-1', 'sample', 'app=sleep', 2, 120_000);
    await env.waitPodsReady('cluster-1', 'sample', 'app=intruder', 1, 120_000);
    for (const app of ['sleep', 'helloworld', 'intruder']) {
      pods[app] = await podName(env, 'cluster-1', 'sample', `app=${app}`);
      ips[app] = (await env.kubectlOk('cluster-1', ['get', 'pod', pods[app]!, '-n', 'sample', '-o', 'jsonpath={.status.podIP}'])).trim();
    }
    pods['helloworld-2'] = (await env.kubectlOk('cluster-2', ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    ips['helloworld-2'] = (await env.kubectlOk('cluster-2', ['get', 'pod', pods['helloworld-2']!, '-n', 'sample', '-o', 'jsonpath={.status.podIP}'])).trim();
  });
  after(() => env.cleanup());

  test('captured pods run in namespaces of their own on the bridge: istio-init done, no http_proxy, ClusterIPs off loopback, the API server reachable', async () => {
    assert.match(ips.sleep!, /^10\.82\.[0-9]\.\d+$/, 'cluster-1 pods in 10.82.0-9.x');
    assert.match(ips.helloworld!, /^10\.82\.[0-9]\.\d+$/);
    assert.match(ips['helloworld-2']!, /^10\.82\.1[0-9]\.\d+$/, 'cluster-2 pods in 10.82.10-19.x');
    assert.match(ips.intruder!, /^127\.82\./, 'a pod without a sidecar stays on loopback');
    const clusterIp = (await env.kubectlOk('cluster-1', ['get', 'service', 'helloworld', '-n', 'sample', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    assert.match(clusterIp, /^10\.83\.[0-9]\.\d+$/);
    const init = await env.kubectlOk('cluster-1', ['get', 'pod', pods.sleep!, '-n', 'sample', '-o', 'jsonpath={.spec.initContainers[*].name} {.status.initContainerStatuses[0].state.terminated.exitCode}']);
    assert.equal(init.trim(), 'istio-init 0');
    const envOut = await exec(pods.sleep!, 'sleep', ['env']);
    assert.equal(envOut.code, 0, envOut.stderr);
    assert.doesNotMatch(envOut.stdout, /^https?_proxy=/im);
    netnsSeen = recordedNetns(env.stateDir);
    assert.equal(netnsSeen.length, 3, `sleep and helloworld v1 (cluster-1), helloworld v2 (cluster-2): ${netnsSeen.join(', ')}`);
    const listed = sh(['ip', 'netns', 'list']);
    for (const ns of netnsSeen) assert.match(listed, new RegExp(`^${ns}\\b`, 'm'));
    // The API server, on the bridge for captured pods (their 127.82.0.1 would be their own loopback), through the capture's passthrough.
    const server = await exec(pods.sleep!, 'sleep', ['sh', '-c', 'grep "server:" "$KUBECONFIG"']);
    assert.match(server.stdout, /server: https:\/\/10\.82\.0\.1:\d+/);
    const version = await exec(pods.sleep!, 'sleep', ['kubectl', 'get', '--raw', '/version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /"gitVersion"/);
    // The capture rules istio-init wrote, read back inside the sleep pod's namespace.
    const nat = sh(['ip', 'netns', 'exec', netnsSeen[0]!, 'iptables', '-t', 'nat', '-S']);
    assert.match(nat, /-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001/);
    assert.match(nat, /-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006/);
  });

  test('the sleep app (no proxy settings) reaches helloworld.sample:5000 through both sidecars over mesh mTLS', async () => {
    const outboundBefore = await envoyStats(pods.sleep!, 'sleep', ips.sleep!, 'outbound\\|5000\\|\\|helloworld.sample.svc.cluster.local.*upstream_rq_200|outbound\\|5000\\|v[12]\\|helloworld.*upstream_rq_200');
    const inboundBefore = await envoyStats(pods.helloworld!, 'helloworld', ips.helloworld!, 'cluster.inbound\\|5000\\|\\|.upstream_rq_200');
    const tlsBefore = await envoyStats(pods.helloworld!, 'helloworld', ips.helloworld!, 'listener.0.0.0.0_15006.ssl.handshake');
    let v1 = 0;
    for (let i = 0; i < 20 && v1 === 0; i++) {
      const res = await exec(pods.sleep!, 'sleep', ['curl', '-sS', '--max-time', '5', URL]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /^Hello version: v[12], instance: helloworld-v[12]-/);
      if (res.stdout.includes('v1')) v1++;
    }
    assert.ok(v1 > 0, 'helloworld v1 of cluster-1 answered at least once');
    assert.ok((await envoyStats(pods.sleep!, 'sleep', ips.sleep!, 'outbound\\|5000\\|\\|helloworld.sample.svc.cluster.local.*upstream_rq_200|outbound\\|5000\\|v[12]\\|helloworld.*upstream_rq_200')) > outboundBefore, 'the sleep sidecar\'s outbound cluster served the requests');
    assert.ok((await envoyStats(pods.helloworld!, 'helloworld', ips.helloworld!, 'cluster.inbound\\|5000\\|\\|.upstream_rq_200')) > inboundBefore, 'helloworld\'s sidecar inbound cluster served them');
    assert.ok((await envoyStats(pods.helloworld!, 'helloworld', ips.helloworld!, 'listener.0.0.0.0_15006.ssl.handshake')) > tlsBefore, 'over mTLS (TLS handshakes on virtualInbound)');
  });

  test("the scenario's 80/20 split holds through the captured path (chi-square)", async (t) => {
    for (const ctx of CONTEXTS) {
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-destinationrule.yaml'), '-f', join(scenarioDir(), 'helloworld-virtualservice.yaml')]);
    }
    await sleep(3000);
    const n = 400;
    const split = await sendFromPod(env, 'cluster-1', 'sample', pods.sleep!, URL, n);
    const observed = [split.byVersion.v1 ?? 0, split.byVersion.v2 ?? 0];
    assert.equal(split.failures, 0, `${split.failures} of ${n} failed`);
    const result = chiSquareTest(observed, [80, 20], SUITE_ALPHA);
    t.diagnostic(`v1 ${observed[0]}, v2 ${observed[1]}, p = ${result.pValue.toFixed(3)}`);
    assert.ok(result.pass, `${JSON.stringify(split.byVersion)} is not 80/20 (p=${result.pValue.toExponential(2)})`);
  });

  test('the ingress gateway (in a namespace of its own on the bridge) reaches the captured helloworld of both clusters', async () => {
    await env.kubectlOk('cluster-1', ['create', 'namespace', 'istio-gateway']);
    await env.kubectlOk('cluster-1', ['label', 'namespace', 'istio-gateway', 'istio.io/rev=asm-managed-stable', '--overwrite']);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'istio-gateway', '-f', join(scenarioDir(), 'istio-ingressgateway')]);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-gateway.yaml')]);
    await env.waitPodsReady('cluster-1', 'istio-gateway', 'app=istio-ingressgateway', 1, 120_000);
    const ip = (await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'istio-gateway', '-l', 'app=istio-ingressgateway', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    assert.match(ip, /^10\.82\.[0-9]\.\d+$/);
    const versions = new Set<string>();
    let last = '';
    const deadline = Date.now() + 30_000;
    while (versions.size < 2 && Date.now() < deadline) {
      const res = spawnSync('curl', ['-sS', '--max-time', '5', ...Array.from({ length: 20 }, () => `http://${ip}/hello`)], { encoding: 'utf8' });
      last = res.stdout + res.stderr;
      for (const m of last.matchAll(/Hello version: (v[12])/g)) versions.add(m[1]!);
      if (versions.size < 2) await sleep(500);
    }
    assert.deepEqual([...versions].sort(), ['v1', 'v2'], last.slice(0, 500));
  });

  test('STRICT: a plain dial of helloworld\'s app port from a pod without a sidecar, or around the sleep sidecar, is refused', async () => {
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-f', '-'], strict);
    const direct = `http://${ips.helloworld}:5000/hello`;
    // Before STRICT reaches helloworld's sidecar the plaintext chain answers: wait for the refusal.
    const deadline = Date.now() + 20_000;
    let last = await exec(pods.intruder!, 'intruder', ['curl', '-sS', '--max-time', '5', direct]);
    while (last.code === 0 && Date.now() < deadline) {
      await sleep(500);
      last = await exec(pods.intruder!, 'intruder', ['curl', '-sS', '--max-time', '5', direct]);
    }
    assert.notEqual(last.code, 0, `the pod without a sidecar got through: ${last.stdout}`);
    assert.doesNotMatch(last.stdout, /Hello version/);
    // The proxy's user (1337) is not captured: from the sleep pod's istio-proxy container a dial goes out plain, and is refused too.
    const bypass = await exec(pods.sleep!, 'istio-proxy', ['curl', '-sS', '--max-time', '5', direct]);
    assert.notEqual(bypass.code, 0, `the sidecar was bypassed: ${bypass.stdout}`);
    assert.doesNotMatch(bypass.stdout, /Hello version/);
    // The app itself answers: inside its pod, and through the mesh.
    const own = await exec(pods.helloworld!, 'helloworld', ['curl', '-sS', '--max-time', '5', direct]);
    assert.match(own.stdout, /Hello version: v1/);
    const mesh = await exec(pods.sleep!, 'sleep', ['curl', '-sS', '--max-time', '5', URL]);
    assert.match(mesh.stdout, /Hello version: v[12]/, mesh.stderr);
  });

  test('after a kill -9 of the host the pods serve on in their namespaces, and the next up adopts them', async (t) => {
    netnsSeen = recordedNetns(env.stateDir);
    assert.equal(netnsSeen.length, 4, `the captured pods and the gateway: ${netnsSeen.join(', ')}`);
    process.kill(env.hostPid(), 'SIGKILL');
    await sleep(500);
    assert.ok(netnsSeen.every((ns) => existsSync(join('/run/netns', ns))), 'the namespaces outlive the host');
    // kubectl exec needs the API server, which died with the host: the sleep pod's namespace is entered directly.
    const sleepNs = netnsSeen.find((ns) => sh(['ip', '-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']).includes(`${ips.sleep}/`))!;
    const direct = spawnSync('ip', ['netns', 'exec', sleepNs, 'curl', '-sS', '--max-time', '5', URL], { encoding: 'utf8' });
    assert.match(direct.stdout, /Hello version: v[12]/, direct.stderr);
    const started = Date.now();
    const up = await env.meshwork(['up', '-d', '--clusters', '2', '--subnet-base', String(BASE), '--interception', 'iptables', '--timeout', '120'], 150_000);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    t.diagnostic(`up -d adopting: ${Date.now() - started} ms; ${up.stdout.split('\n').filter((l) => /waiting/.test(l)).join('; ') || 'no proxy waited for'}`);
    assert.deepEqual(recordedNetns(env.stateDir).sort(), [...netnsSeen].sort(), 'the same namespaces, kept');
    const restarts = await env.kubectlOk('cluster-1', ['get', 'pod', pods.sleep!, '-n', 'sample', '-o', 'jsonpath={.status.containerStatuses[*].restartCount}']);
    assert.equal(restarts.trim(), '0 0', 'adopted, not restarted');
    const after = await exec(pods.sleep!, 'sleep', ['curl', '-sS', '--max-time', '5', URL]);
    assert.match(after.stdout, /Hello version: v[12]/, after.stderr);
  });

  test('down after a kill -9 of the host: no pod namespace, veth, /etc/netns file, bridge, route or pod process is left', async () => {
    const pidsFile = (c: string) => join(env.stateDir, 'clusters', c, 'kubelet', 'pids.json');
    const podPids = CONTEXTS.flatMap((c) => (JSON.parse(readFileSync(pidsFile(c), 'utf8')) as Array<{ pgid: number }>).map((r) => r.pgid));
    assert.ok(podPids.length > 0);
    process.kill(env.hostPid(), 'SIGKILL');
    await sleep(500);
    const down = await env.meshwork(['down'], 90_000);
    assert.equal(down.code, 0, down.stderr + down.stdout);
    const listed = sh(['ip', 'netns', 'list']);
    for (const ns of netnsSeen) {
      assert.doesNotMatch(listed, new RegExp(`^${ns}\\b`, 'm'));
      assert.ok(!existsSync(join('/etc/netns', ns)), `/etc/netns/${ns} removed`);
      assert.equal(sh(['ip', 'link', 'show', `mwv${ns.slice(3)}`]), '', `veth mwv${ns.slice(3)} removed`);
    }
    assert.equal(spawnSync('ip', ['link', 'show', BRIDGE]).status, 1, `${BRIDGE} removed`);
    assert.equal(sh(['ip', 'route', 'show', 'table', 'local', '10.83.0.0/16']).trim(), '', 'the ClusterIP route removed');
    const alive = podPids.filter((pid) => processRunning(pid));
    assert.deepEqual(alive, [], 'no pod process left');
    assert.ok(!existsSync(join(env.stateDir, 'pod-network.json')));
  });
});
