// The seed scenario on Kubernetes' own control plane: two clusters of the real kube-apiserver and
// kube-controller-manager v1.34.4 (src/realkube/, 127.58.0.1 and 127.68.0.1; services 127.59/127.69),
// each with a node of ours (startRealNode) that runs the pods. `meshwork install` (CRDs, RBAC, webhooks
// with caBundle), the control plane of each cluster outside it, in Kubernetes mode, as its own service
// account (`--webhook-url`, `--discovery-address`: injected proxies reach xDS and the CA on the host),
// `meshwork create-mesh`, then the scenario's YAML by the real kubectl through the real API server's
// validation and our webhooks: helloworld-v1 in cluster-1, v2 in cluster-2, sleep in both, the
// DestinationRule and the 80/20 VirtualService. Requests from each sleep pod (`kubectl exec`), through
// its Envoy sidecar, judged by chi-square; every sidecar is listed ACKed by its own out-of-cluster control plane.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildKubeconfig, mergeKubeconfigFile } from '../../src/k8s/kubeconfig.js';
import { stopChild } from '../../src/os/proc.js';
import { requireKubeBinaries } from '../../src/realkube/binaries.js';
import { startRealControlPlane, type RealControlPlane } from '../../src/realkube/control-plane.js';
import { startRealNode, type RealNode } from '../../src/realkube/node.js';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';
import { kubeCli } from '../helpers/kube-cli.js';
import { MESHWORK_BIN, scenarioDir } from '../helpers/paths.js';
import { until as eventually } from '../helpers/until.js';
import { parseAnswers, type Split } from '../helpers/traffic.js';

const ISTIOD_SA = 'istiod-asm-managed-stable';
const URL = 'http://helloworld.sample:5000/hello';
const N = 1000;

interface Member {
  name: 'cluster-1' | 'cluster-2';
  octet: number;
  version: 'v1' | 'v2';
  plane?: RealControlPlane;
  node?: RealNode;
  controlPlane?: ChildProcess;
  log: string[];
}

const members: Member[] = [
  { name: 'cluster-1', octet: 58, version: 'v1', log: [] },
  { name: 'cluster-2', octet: 68, version: 'v2', log: [] },
];
/** The control plane runs on the cluster's host address (127.s.0.1), beside the API server: no pod gets it. */
const hostOf = (m: Member) => `127.${m.octet}.0.1`;

const dir = mkdtempSync(join(tmpdir(), 'meshwork-real-mesh-'));
const kubeconfig = join(dir, 'kubeconfig');
const scenario = (file: string) => join(scenarioDir(), file);

const { kubectl, meshwork } = kubeCli(kubeconfig);

interface PodJson {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> };
  status: { podIP?: string; conditions?: Array<{ type: string; status: string }> };
}

async function pods(m: Member, selector: string): Promise<PodJson[]> {
  return (JSON.parse((await kubectl(m.name, ['get', 'pods', '-n', 'sample', '-l', selector, '-o', 'json'])).stdout) as { items: PodJson[] }).items;
}

const isReady = (p: PodJson) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** `count` requests in one curl from the sleep container (its http_proxy is its sidecar), by `kubectl exec` through the API server and our node's kubelet port. */
async function sendFromSleep(m: Member, pod: string, count: number): Promise<Split> {
  const script = `urls=""; i=0; while [ $i -lt ${count} ]; do urls="$urls ${URL}"; i=$((i+1)); done; curl -s -m 5 -w '\\n' $urls; exit 0`;
  const res = await kubectl(m.name, ['exec', '-n', 'sample', pod, '-c', 'sleep', '--', 'sh', '-c', script], { allowFail: true });
  if (res.code !== 0) throw new Error(`kubectl exec in ${m.name}/${pod} exited ${res.code}: ${res.stderr}`);
  return parseAnswers(res.stdout, count);
}

function assertSplit(split: Split, weights: Record<string, number>, what: string): { pValue: number } {
  const versions = Object.keys(weights);
  const other = Object.keys(split.byVersion).filter((v) => !versions.includes(v));
  assert.deepEqual(other, [], `${what}: unexpected versions ${other.join(', ')}`);
  assert.equal(split.failures, 0, `${what}: ${split.failures} failed requests (${JSON.stringify(split.byVersion)})`);
  const result = chiSquareTest(versions.map((v) => split.byVersion[v] ?? 0), versions.map((v) => weights[v]!), SUITE_ALPHA);
  assert.ok(result.pass, `${what}: ${JSON.stringify(split.byVersion)} is not consistent with ${JSON.stringify(weights)} (p=${result.pValue.toExponential(2)})`);
  return { pValue: result.pValue };
}

describe('the seed scenario on the real kube-apiserver: out-of-cluster control planes, nodes of ours, Envoy sidecars', { timeout: 900_000 }, () => {
  const sleepPods: Record<string, string> = {};

  before(async () => {
    const binaries = requireKubeBinaries();
    const started = Date.now();
    await Promise.all(members.map(async (m) => {
      m.plane = await startRealControlPlane({ name: m.name, subnetOctet: m.octet, dir: join(dir, m.name), binaries, log: () => {} });
    }));
    mergeKubeconfigFile(kubeconfig, members.map((m) => ({ name: m.name, server: m.plane!.server, caPem: m.plane!.caPem, token: m.plane!.token })), 'cluster-1');
    process.stderr.write(`real control planes ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  after(async () => {
    for (const m of members) {
      if (m.controlPlane) await stopChild(m.controlPlane, 10_000);
      await m.node?.stop();
      await m.plane?.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('`meshwork install --webhook-url --discovery-address` into both clusters with one mesh CA', async () => {
    for (const m of members) {
      const r = await meshwork(['install', '--context', m.name, '--mesh-ca', join(dir, 'mesh-ca'), '--webhook-url', `https://${hostOf(m)}:15017`, '--discovery-address', `${hostOf(m)}:15012`, '--data-plane', 'envoy']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /11 CustomResourceDefinitions established/);
      assert.match(r.stdout, /^configmap\/istio-asm-managed-stable created$/m);
      const mesh = (await kubectl(m.name, ['get', 'configmap', '-n', 'istio-system', 'istio-asm-managed-stable', '-o', 'jsonpath={.data.mesh}'])).stdout;
      assert.match(mesh, new RegExp(`discoveryAddress: ${hostOf(m).replace(/\./g, '\\.')}:15012`));
    }
  });

  it('each control plane runs outside its cluster as its own service account, in Kubernetes mode', async () => {
    for (const m of members) {
      const token = (await kubectl(m.name, ['create', 'token', ISTIOD_SA, '-n', 'istio-system', '--duration=2h'])).stdout.trim();
      const saKubeconfig = join(dir, `${m.name}-istiod.kubeconfig`);
      writeFileSync(saKubeconfig, buildKubeconfig([{ name: m.name, server: m.plane!.server, caPem: m.plane!.caPem, token }], m.name));
      const child = spawn(process.execPath, [MESHWORK_BIN, 'control-plane', '--cluster-id', m.name, '--kubeconfig', saKubeconfig, '--address', hostOf(m), '--data-plane', 'envoy', '--endpoints-from-pods'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (d: Buffer) => m.log.push(d.toString()));
      child.stderr?.on('data', (d: Buffer) => m.log.push(d.toString()));
      m.controlPlane = child;
    }
    for (const m of members) {
      await eventually(`${m.name}'s control plane ready`, 90_000, async () => {
        if (m.controlPlane?.exitCode !== null) throw new Error(`${m.name}'s control plane exited ${m.controlPlane?.exitCode}: ${m.log.join('')}`);
        const res = await fetch(`http://${hostOf(m)}:15014/ready`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      });
      assert.doesNotMatch(m.log.join(''), /forbidden/i, `${m.name}: the service account has every right the control plane uses`);
    }
  });

  it('`meshwork create-mesh cluster-1 cluster-2`: each control plane watches the other cluster with its remote secret', async () => {
    const r = await meshwork(['create-mesh', 'cluster-1', 'cluster-2']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /✔ cluster-1, cluster-2 joined into one mesh/);
    for (const m of members) {
      const other = members.find((o) => o !== m)!;
      await eventually(`${m.name}'s control plane synced with ${other.name}`, 60_000, async () => {
        const registry = (await (await fetch(`http://${hostOf(m)}:15014/debug/registry`)).json()) as { clusters: Array<{ clusterId: string; remote: boolean; synced: boolean }> };
        return registry.clusters.some((c) => c.clusterId === other.name && c.remote && c.synced) ? true : undefined;
      });
    }
  });

  it('the scenario\'s YAML by the real kubectl through the API server\'s validation and our webhooks; sidecars told to reach their control plane on the host', async () => {
    for (const m of members) {
      await kubectl(m.name, ['create', 'namespace', 'sample']);
      await kubectl(m.name, ['label', 'namespace', 'sample', 'istio.io/rev=asm-managed-stable']);
      await kubectl(m.name, ['apply', '-n', 'sample', '-f', scenario('helloworld.yaml'), '-l', 'service=helloworld']);
      await kubectl(m.name, ['apply', '-n', 'sample', '-f', scenario('helloworld.yaml'), '-l', `version=${m.version}`]);
      await kubectl(m.name, ['apply', '-n', 'sample', '-f', scenario('sleep.yaml')]);
      const rules = await kubectl(m.name, ['apply', '-n', 'sample', '-f', scenario('helloworld-destinationrule.yaml'), '-f', scenario('helloworld-virtualservice.yaml')], { allowFail: true });
      assert.equal(rules.code, 0, rules.stderr);
      assert.match(rules.stdout, /virtualservice\.networking\.istio\.io\/helloworld created/);
      // The same path refuses what Istio would: our validating webhook, called by the real API server.
      const bad = join(dir, `${m.name}-no-route.yaml`);
      writeFileSync(bad, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: no-route, namespace: sample}\nspec: {hosts: [helloworld], http: [{match: [{uri: {prefix: /}}]}]}\n');
      const denied = await kubectl(m.name, ['apply', '-f', bad], { allowFail: true });
      assert.match(denied.stderr, /admission webhook "rev\.validation\.istio\.io" denied the request/);
    }
    for (const m of members) {
      // The controller manager makes the pods (Pending: no node yet); the real server sends each to the injector.
      for (const selector of ['app=sleep', `app=helloworld,version=${m.version}`]) {
        const pod = await eventually(`${m.name}: a pod ${selector}`, 60_000, async () => (await pods(m, selector))[0]);
        const proxy = pod.spec.containers.find((c) => c.name === 'istio-proxy');
        assert.ok(proxy, `${m.name}/${pod.metadata.name} has the sidecar`);
        assert.equal(proxy.env?.find((e) => e.name === 'XDS_ADDRESS')?.value, `${hostOf(m)}:15012`);
        assert.equal(proxy.env?.find((e) => e.name === 'CA_ADDR')?.value, `${hostOf(m)}:15012`);
      }
    }
  });

  it('nodes of ours join both clusters and run the pods; the control plane has their endpoints', async () => {
    for (const m of members) {
      const stateDir = join(dir, m.name, 'node');
      mkdirSync(stateDir, { recursive: true });
      m.node = await startRealNode({ cluster: m.plane!, nodeName: `${m.name}-node`, subnetOctet: m.octet, stateDir, log: (line) => m.log.push(`[node] ${line}\n`) });
      const nodes = (await kubectl(m.name, ['get', 'nodes', '--no-headers'])).stdout;
      assert.match(nodes, new RegExp(`^${m.name}-node\\s+Ready\\s`, 'm'));
    }
    for (const m of members) {
      for (const selector of ['app=sleep', `app=helloworld,version=${m.version}`]) {
        const pod = await eventually(`${m.name}: a Ready pod ${selector}`, 180_000, async () => (await pods(m, selector)).find(isReady));
        assert.match(pod.status.podIP ?? '', new RegExp(`^127\\.${m.octet}\\.`));
        if (selector === 'app=sleep') sleepPods[m.name] = pod.metadata.name;
      }
      // kube-apiserver refuses the loopback pod IPs in the controller manager's EndpointSlices: the
      // control plane makes the endpoints from the pods (--endpoints-from-pods) and lists them.
      await eventually(`${m.name}'s control plane listing helloworld's pod endpoint`, 30_000, async () => {
        const registry = (await (await fetch(`http://${hostOf(m)}:15014/debug/registry`)).json()) as { clusters: Array<{ clusterId: string; endpoints: Array<{ hostname: string; address: string; ready: boolean }> }> };
        const own = registry.clusters.find((c) => c.clusterId === m.name)?.endpoints.filter((e) => e.hostname === 'helloworld.sample.svc.cluster.local' && e.ready) ?? [];
        return own.some((e) => e.address.startsWith(`127.${m.octet}.`)) ? true : undefined;
      });
    }
  });

  it('the seed\'s 80/20 from both sleep pods through their Envoy sidecars (chi-square), config from the out-of-cluster control planes', async () => {
    for (const m of members) {
      // Both versions reachable first (the other cluster's endpoints arrive through the remote secret).
      await eventually(`${m.name}: both versions answer`, 60_000, async () => {
        const split = await sendFromSleep(m, sleepPods[m.name]!, 20);
        return Object.keys(split.byVersion).length === 2 ? true : undefined;
      });
      const started = Date.now();
      const split = await sendFromSleep(m, sleepPods[m.name]!, N);
      const { pValue } = assertSplit(split, { v1: 80, v2: 20 }, `${m.name} 80/20`);
      process.stderr.write(`${m.name}: ${JSON.stringify(split.byVersion)} of ${N} in ${((Date.now() - started) / 1000).toFixed(1)} s, p=${pValue.toFixed(3)}\n`);
    }
    for (const m of members) {
      const syncz = (await (await fetch(`http://${hostOf(m)}:15014/debug/syncz`)).json()) as {
        counters: { nacks?: number } | null;
        proxies: Array<{ nodeId: string; state: string; userAgent: string; types: Record<string, { state: string }> }>;
      };
      const own = (await pods(m, 'app in (sleep,helloworld)')).map((p) => p.metadata.name);
      assert.equal(own.length, 2);
      for (const pod of own) {
        const proxy = syncz.proxies.find((p) => p.nodeId.includes(`~${pod}.sample~`));
        assert.ok(proxy, `${m.name}'s control plane lists the sidecar of ${pod}: ${syncz.proxies.map((p) => p.nodeId).join(', ')}`);
        assert.equal(proxy.state, 'CONNECTED', JSON.stringify(proxy));
        assert.match(proxy.userAgent, /envoy/i);
        for (const type of ['LDS', 'RDS', 'CDS', 'EDS']) assert.equal(proxy.types[type]?.state, 'SYNCED', `${pod} ${type}: ${JSON.stringify(proxy.types)}`);
      }
      assert.equal(syncz.counters?.nacks ?? 0, 0, `${m.name}: no NACK`);
      // Each pod's certificate came from this control plane's CA, its token reviewed by the real API server.
      const metrics = await (await fetch(`http://${hostOf(m)}:15014/metrics`)).text();
      const issued = Number(/^citadel_server_success_cert_issuance_count (\d+)/m.exec(metrics)?.[1] ?? 0);
      assert.ok(issued >= own.length, `${m.name}: ${issued} certificates issued for ${own.length} pods`);
      assert.doesNotMatch(m.log.join(''), /TokenReview failed|not accepted/, `${m.name}: every token accepted`);
      // istioctl's habit: proxy-status finds the control plane outside the cluster by its injector's URL.
      const status = await meshwork(['proxy-status', '--context', m.name]);
      assert.equal(status.code, 0, status.stderr + status.stdout);
      for (const pod of own) {
        const row = status.stdout.split('\n').find((l) => l.startsWith(`${pod}.sample`));
        assert.match(row ?? '', new RegExp(`^${pod}\\.sample\\s+${m.name}\\s+CONNECTED(\\s+SYNCED){4}\\s+http://${hostOf(m).replace(/\./g, '\\.')}:15014\\s+envoy `), status.stdout);
      }
      // The product's own judgement of the split, as a user runs it: expected shares from the applied config.
      const traffic = await meshwork(['traffic', '--context', m.name, '-n', 'sample', '--from', 'deploy/sleep', '--url', URL, '--requests', '400', '--alpha', String(SUITE_ALPHA)]);
      assert.equal(traffic.code, 0, traffic.stderr + traffic.stdout);
      assert.match(traffic.stdout, /^v1\s+\d+\s+[\d.]+%\s+80\.0%$/m);
      assert.match(traffic.stdout, /^PASS$/m);
    }
  });
});
