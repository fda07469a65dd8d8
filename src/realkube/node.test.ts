// A node joining the real control plane (v1.34.4) on 127.48.0.1 (services 127.49.0.0/16): the process
// kubelet over the real API server. With the real kubectl: the Node Ready, its Lease renewed, a
// Deployment's pods bound, Running and Ready on loopback pod IPs that answer HTTP, the controller
// manager's EndpointSlice controller taking them up (and the API refusing loopback addresses), `kubectl logs` through the kubelet port, pod tokens by
// TokenRequest, a deleted pod's process stopped and its replacement run, and nothing left after stop.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { mergeKubeconfigFile } from '../k8s/kubeconfig.js';
import { processRunning } from '../os/proc.js';
import { requireKubeBinaries } from './binaries.js';
import { startRealControlPlane, type RealControlPlane } from './control-plane.js';
import { startRealNode, type RealNode } from './node.js';

const run = promisify(execFile);
const OCTET = 48;
const NODE = 'real-1-node';
const dir = mkdtempSync(join(tmpdir(), 'meshwork-realnode-'));
const kubeconfig = join(dir, 'kubeconfig');
const stateDir = join(dir, 'real-1', 'kubelet');
let plane: RealControlPlane | undefined;
let node: RealNode | undefined;
const podPids = new Set<number>();
const nodeLog: string[] = [];

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, '--context', 'real-1', ...args], { timeout: 30_000 });
  return stdout;
}

async function eventually<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const got = await attempt();
    if (got !== undefined) return got;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s; node log:\n${nodeLog.slice(-30).join('\n')}`);
}

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; hostIP?: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ containerID?: string; ready: boolean }> };
}

const isReady = (p: PodJson) => p.status.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const pidOf = (p: PodJson) => Number(p.status.containerStatuses?.[0]?.containerID?.replace('meshwork://', ''));

async function helloPods(): Promise<PodJson[]> {
  return (JSON.parse(await kubectl('get', 'pods', '-l', 'app=helloworld', '-o', 'json')) as { items: PodJson[] }).items;
}

before(async () => {
  const binaries = requireKubeBinaries();
  plane = await startRealControlPlane({ name: 'real-1', subnetOctet: OCTET, dir: join(dir, 'real-1'), binaries, log: (line) => console.log(line) });
  mergeKubeconfigFile(kubeconfig, [{ name: 'real-1', server: plane.server, caPem: plane.caPem, token: plane.token }], 'real-1');
  const started = Date.now();
  node = await startRealNode({ cluster: plane, nodeName: NODE, subnetOctet: OCTET, stateDir, log: (line) => nodeLog.push(line) });
  console.log(`node Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

after(async () => {
  const pids = plane ? Object.values(plane.pids) : [];
  await node?.stop();
  for (const pid of podPids) assert.equal(processRunning(pid), false, `pod process ${pid} still runs after the node stopped`);
  await plane?.stop();
  for (const pid of pids) assert.equal(processRunning(pid), false, `process ${pid} still runs after stop()`);
  rmSync(dir, { recursive: true, force: true });
});

test('the Node is registered Ready as system:node:<name>, with its InternalIP, kubelet version and port', async () => {
  const nodes = JSON.parse(await kubectl('get', 'nodes', '-o', 'json')) as {
    items: Array<{ metadata: { name: string }; status: { conditions: Array<{ type: string; status: string }>; addresses: Array<{ type: string; address: string }>; nodeInfo: { kubeletVersion: string }; daemonEndpoints: { kubeletEndpoint: { Port: number } } } }>;
  };
  assert.deepEqual(nodes.items.map((n) => n.metadata.name), [NODE]);
  const [n] = nodes.items;
  assert.equal(n!.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
  assert.deepEqual(n!.status.addresses.find((a) => a.type === 'InternalIP')?.address, `127.${OCTET}.0.1`);
  assert.equal(n!.status.nodeInfo.kubeletVersion, 'v1.34.4');
  assert.equal(n!.status.daemonEndpoints.kubeletEndpoint.Port, 10250);
  assert.match(await kubectl('get', 'nodes'), new RegExp(`^NAME\\s+STATUS\\s+ROLES\\s+AGE\\s+VERSION\\n${NODE}\\s+Ready\\s+<none>\\s+\\S+\\s+v1\\.34\\.4\\n$`));
});

test('a Deployment of helloworld runs on the node: Running, Ready, loopback pod IPs that answer; the EndpointSlice controller takes them up and the API refuses loopback addresses', async () => {
  const manifest = join(dir, 'helloworld.yaml');
  writeFileSync(
    manifest,
    [
      'apiVersion: v1',
      'kind: Service',
      'metadata: {name: helloworld, labels: {app: helloworld}}',
      'spec: {selector: {app: helloworld}, ports: [{name: http, port: 5000}]}',
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: helloworld-v1, labels: {app: helloworld}}',
      'spec:',
      '  replicas: 2',
      '  selector: {matchLabels: {app: helloworld, version: v1}}',
      '  template:',
      '    metadata: {labels: {app: helloworld, version: v1}}',
      '    spec:',
      '      containers:',
      '      - name: helloworld',
      '        image: docker.io/istio/examples-helloworld-v1:1.0',
      '        ports: [{containerPort: 5000}]',
      '        readinessProbe: {httpGet: {path: /hello, port: 5000}, periodSeconds: 1}',
      '',
    ].join('\n'),
  );
  const applied = Date.now();
  await kubectl('apply', '-f', manifest);
  const pods = await eventually('2 Ready helloworld pods', 90_000, async () => {
    const items = await helloPods();
    return items.length === 2 && items.every(isReady) ? items : undefined;
  });
  console.log(`apply to 2 Ready pods: ${((Date.now() - applied) / 1000).toFixed(1)} s`);
  const ips: string[] = [];
  for (const pod of pods) {
    assert.equal(pod.spec.nodeName, NODE);
    assert.equal(pod.status.hostIP, `127.${OCTET}.0.1`);
    assert.match(pod.status.podIP ?? '', new RegExp(`^127\\.${OCTET}\\.\\d+\\.\\d+$`));
    ips.push(pod.status.podIP!);
    const pid = pidOf(pod);
    assert.ok(pid > 0 && processRunning(pid), `pod ${pod.metadata.name}'s process ${pid} runs`);
    podPids.add(pid);
    const { stdout } = await run('curl', ['-sS', '--max-time', '5', `http://${pod.status.podIP}:5000/hello`]);
    assert.match(stdout, new RegExp(`Hello version: v1, instance: ${pod.metadata.name}`));
  }
  // The status is the node's write (field manager `kubelet`, the status subresource), as on a real node.
  const withFields = JSON.parse(await kubectl('get', 'pod', pods[0]!.metadata.name, '-o', 'json', '--show-managed-fields')) as { metadata: { managedFields: Array<{ manager: string; subresource?: string }> } };
  assert.ok(withFields.metadata.managedFields.some((f) => f.manager === 'kubelet' && f.subresource === 'status'), JSON.stringify(withFields.metadata.managedFields.map((f) => [f.manager, f.subresource])));
  const deployment = await kubectl('get', 'deployment', 'helloworld-v1');
  assert.match(deployment, /helloworld-v1\s+2\/2\s+2\s+2\s+/);
  // kube-controller-manager's EndpointSlice controller takes the pods up, and kube-apiserver v1.34.4
  // refuses what it writes: EndpointSlice validation (ValidateEndpointIP) rejects loopback addresses,
  // as the legacy Endpoints' does. The Service's events say so; no slice lists the pods.
  const refusal = await eventually('the EndpointSlice controller reporting the refused slice', 30_000, async () => {
    const events = JSON.parse(await kubectl('get', 'events', '--field-selector', 'involvedObject.kind=Service,involvedObject.name=helloworld', '-o', 'json')) as { items: Array<{ reason: string; message: string }> };
    return events.items.find((e) => e.reason === 'FailedToUpdateEndpointSlices');
  });
  console.log(`EndpointSlice controller: ${refusal.message}`);
  assert.match(refusal.message, new RegExp(`${ips[0]!.replace(/\./g, '\\.')}|${ips[1]!.replace(/\./g, '\\.')}`));
  assert.match(refusal.message, /may not be in the loopback range/);
});

test('kubectl logs reaches the container log through the kubelet port', async () => {
  const [pod] = await helloPods();
  const logs = await kubectl('logs', pod!.metadata.name);
  assert.match(logs, /\S/, 'the container wrote something');
  const timestamped = await kubectl('logs', pod!.metadata.name, '--timestamps', '--tail=1');
  assert.match(timestamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /);
  assert.equal(timestamped.trim().split('\n').length, 1);
});

test('kubectl exec runs in the pod through the API server (SPDY to the kubelet port): output, exit code, stdin', async () => {
  const [pod] = await helloPods();
  const name = pod!.metadata.name;
  const started = Date.now();
  assert.equal((await kubectl('exec', name, '--', 'printenv', 'POD_NAME')).trim(), name);
  console.log(`kubectl exec round trip: ${((Date.now() - started) / 1000).toFixed(2)} s`);
  const failed = await run('kubectl', ['--kubeconfig', kubeconfig, '--context', 'real-1', 'exec', name, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { timeout: 30_000 }).then(
    () => undefined,
    (err: { code?: number; stdout?: string; stderr?: string }) => err,
  );
  assert.ok(failed, 'a command exiting 3 fails kubectl exec');
  assert.equal(failed.code, 3);
  assert.equal(failed.stdout?.trim(), 'out');
  assert.match(failed.stderr ?? '', /err/);
  const echoed = await new Promise<string>((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--context', 'real-1', 'exec', '-i', name, '--', 'cat'], { timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    child.stdin!.end('through stdin\n');
  });
  assert.equal(echoed, 'through stdin\n');
});

test('kubectl port-forward reaches the pod\'s port through the API server (SPDY to the kubelet port)', async () => {
  const [pod] = await helloPods();
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, '--context', 'real-1', 'port-forward', `pod/${pod!.metadata.name}`, ':5000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const port = await eventually('kubectl port-forward listening', 20_000, async () => /Forwarding from 127\.0\.0\.1:(\d+) -> 5000/.exec(out)?.[1]);
    for (let i = 0; i < 3; i++) {
      const { stdout } = await run('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${port}/hello`]);
      assert.match(stdout, new RegExp(`Hello version: v1, instance: ${pod!.metadata.name}`));
    }
  } finally {
    child.kill('SIGTERM');
  }
});

test("the kubelet port takes only the API server's kubelet client: the node's own certificate is refused", async () => {
  const [pod] = await helloPods();
  const pki = join(dir, 'real-1', 'pki');
  const url = `https://127.${OCTET}.0.1:10250/containerLogs/default/${pod!.metadata.name}/helloworld`;
  const asNode = await run('curl', ['-sS', '--max-time', '5', '--cacert', join(pki, 'ca.crt'), '--cert', join(pki, 'nodes', NODE, 'node.crt'), '--key', join(pki, 'nodes', NODE, 'node.key'), '-w', '\n%{http_code}', url]);
  assert.match(asNode.stdout, /only kube-apiserver's kubelet client may use this kubelet's API\n+403$/);
  const asApiServer = await run('curl', ['-sS', '--max-time', '5', '--cacert', join(pki, 'ca.crt'), '--cert', join(pki, 'apiserver-kubelet-client.crt'), '--key', join(pki, 'apiserver-kubelet-client.key'), '-w', '\n%{http_code}', `${url}?tailLines=1`]);
  assert.match(asApiServer.stdout, /\n200$/);
  const anonymous = await run('curl', ['-sS', '--max-time', '5', '--cacert', join(pki, 'ca.crt'), url]).then(() => 'answered', () => 'refused');
  assert.equal(anonymous, 'refused', 'a client without a certificate of the cluster CA does not get past TLS');
});

test("a pod's token comes from TokenRequest: its kubeconfig authenticates as the pod's service account", async () => {
  const [pod] = await helloPods();
  const podKubeconfig = join(stateDir, 'pods', `default_${pod!.metadata.name}_${pod!.metadata.uid}`, '.serviceaccount', 'kubeconfig');
  const { stdout } = await run('kubectl', ['--kubeconfig', podKubeconfig, 'auth', 'whoami', '-o', 'json'], { timeout: 30_000 });
  const who = JSON.parse(stdout) as { status: { userInfo: { username: string; extra?: Record<string, string[]> } } };
  assert.equal(who.status.userInfo.username, 'system:serviceaccount:default:default');
  assert.deepEqual(who.status.userInfo.extra?.['authentication.kubernetes.io/pod-name'], [pod!.metadata.name]);
  assert.deepEqual(who.status.userInfo.extra?.['authentication.kubernetes.io/node-name'], [NODE]);
});

test('the Lease in kube-node-lease is renewed every 10 s', async () => {
  const renewTime = async () => (await kubectl('get', 'lease', NODE, '-n', 'kube-node-lease', '-o', 'jsonpath={.spec.renewTime}')).trim();
  const first = await renewTime();
  assert.match(first, /^\d{4}-\d\d-\d\dT/);
  const next = await eventually('a renewed Lease', 15_000, async () => {
    const now = await renewTime();
    return now !== first ? now : undefined;
  });
  const gapMs = Date.parse(next) - Date.parse(first);
  console.log(`lease renewed after ${(gapMs / 1000).toFixed(1)} s`);
  assert.ok(gapMs >= 9_000 && gapMs <= 12_000, `renewed ${gapMs} ms apart`);
  assert.equal((await kubectl('get', 'lease', NODE, '-n', 'kube-node-lease', '-o', 'jsonpath={.spec.holderIdentity}')).trim(), NODE);
});

test("deleting a pod stops its process and the ReplicaSet's replacement runs", async () => {
  const [victim, other] = await helloPods();
  const pid = pidOf(victim!);
  const deleted = Date.now();
  await kubectl('delete', 'pod', victim!.metadata.name, '--wait=true');
  console.log(`kubectl delete pod (graceful, until gone): ${((Date.now() - deleted) / 1000).toFixed(1)} s`);
  assert.equal(processRunning(pid), false, `process ${pid} of the deleted pod is stopped`);
  const replacement = await eventually('a Ready replacement pod', 60_000, async () => {
    const items = await helloPods();
    const fresh = items.find((p) => p.metadata.name !== victim!.metadata.name && p.metadata.name !== other!.metadata.name);
    return fresh && isReady(fresh) && items.length === 2 ? fresh : undefined;
  });
  console.log(`delete to a Ready replacement: ${((Date.now() - deleted) / 1000).toFixed(1)} s`);
  podPids.add(pidOf(replacement));
  const { stdout } = await run('curl', ['-sS', '--max-time', '5', `http://${replacement.status.podIP}:5000/hello`]);
  assert.match(stdout, new RegExp(`instance: ${replacement.metadata.name}`));
});

test('the API refused none of the node\'s writes for lack of rights (Node authorizer, NodeRestriction, RBAC)', () => {
  const refused = nodeLog.filter((line) => /forbidden|\b403\b/i.test(line));
  assert.deepEqual(refused, []);
  const notWritten = nodeLog.filter((line) => /not written/.test(line));
  if (notWritten.length > 0) console.log(`writes given up:\n${notWritten.join('\n')}`);
});
