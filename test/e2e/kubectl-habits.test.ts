// What a kubectl user does in the first hour, with the real kubectl 1.32 against a local cluster with
// a control plane: port-forward (to a pod, a deployment, a service, a sidecar's admin port and the
// control plane's debug port, then the real curl on the local port), delete with --cascade=orphan and
// --cascade=foreground, the kinds and commands users expect to find, and the typed commands that send
// protobuf bodies (create deployment/service, debug --copy-to).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { E2E_DATA_PLANE, MeshworkEnv, run } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { until } from '../helpers/until.js';

const CTX = 'cluster-1';

interface PortForward {
  localPort: number;
  output: () => string;
  stop: () => void;
}

describe('the first hour of a kubectl user', { timeout: 420_000 }, () => {
  const env = new MeshworkEnv(30);
  const file = (name: string) => join(scenarioDir(), name);
  const running: PortForward[] = [];

  /** `kubectl port-forward TARGET :PORT`: resolves once kubectl prints the local port it picked. */
  function portForward(namespace: string, target: string, port: number): Promise<PortForward> {
    const child = spawn('kubectl', ['--context', CTX, 'port-forward', '-n', namespace, target, `:${port}`, '--address', '127.0.0.1'], {
      env: { ...process.env, KUBECONFIG: env.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const pf: PortForward = {
      localPort: 0,
      output: () => out,
      stop: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
    running.push(pf);
    return until(`kubectl port-forward ${target} :${port} to listen`, 20_000, async () => {
      if (child.exitCode !== null) throw new Error(`kubectl port-forward exited ${child.exitCode}: ${out}`);
      const m = new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${port}`).exec(out);
      if (!m) return undefined;
      pf.localPort = Number(m[1]);
      return pf;
    });
  }

  async function curl(port: number, path: string): Promise<string> {
    const res = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${port}${path}`]);
    assert.equal(res.code, 0, `curl :${port}${path} failed: ${res.stderr}`);
    return res.stdout;
  }

  const kubectl = (args: string[], input?: string) => env.kubectlOk(CTX, args, input);

  async function waitReady(namespace: string, selector: string): Promise<string> {
    return until(`a ready pod for ${selector} in ${namespace}`, 60_000, async () => {
      const out = await kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
      return out.split('\n').find((l) => l.endsWith(' True'))?.split(' ')[0];
    });
  }

  before(async () => {
    const up = await env.up(1);
    assert.equal(up.code, 0, `meshwork up -d failed: ${up.stderr}${up.stdout}`);
    const install = await env.meshwork(['install', '--context', CTX, '--timeout', '90', '--data-plane', E2E_DATA_PLANE], 150_000);
    assert.equal(install.code, 0, `meshwork install failed: ${install.stderr}${install.stdout}`);
    await kubectl(['create', 'namespace', 'sample']);
    await kubectl(['label', 'namespace', 'sample', 'istio.io/rev=asm-managed-stable', '--overwrite']);
    await kubectl(['apply', '-n', 'sample', '-f', file('helloworld.yaml'), '-l', 'service=helloworld']);
    await kubectl(['apply', '-n', 'sample', '-f', file('helloworld.yaml'), '-l', 'version=v1']);
    await waitReady('sample', 'app=helloworld,version=v1');
  });
  after(async () => {
    try {
      for (const pf of running) pf.stop();
    } finally {
      await env.cleanup();
    }
  });

  test('port-forward to pod/NAME, deploy/NAME and svc/NAME: curl on the local port reaches the app', async () => {
    const pod = await waitReady('sample', 'app=helloworld,version=v1');
    for (const target of [`pod/${pod}`, 'deploy/helloworld-v1', 'svc/helloworld']) {
      const pf = await portForward('sample', target, 5000);
      // Two connections one after the other: each gets its own pair of streams.
      for (let i = 0; i < 2; i++) assert.match(await curl(pf.localPort, '/hello'), new RegExp(`^Hello version: v1, instance: ${pod}\\n?$`), target);
      assert.match(pf.output(), /Handling connection for \d+/);
      pf.stop();
    }
  });

  test("port-forward to a sidecar's admin port 15000 and the control plane's debug port 15014", async () => {
    const pod = await waitReady('sample', 'app=helloworld,version=v1');
    const admin = await portForward('sample', `pod/${pod}`, 15000);
    assert.match(await curl(admin.localPort, '/ready'), /LIVE/);
    // A config dump is larger than one data frame: the bytes arrive whole and in order.
    const dump = JSON.parse(await curl(admin.localPort, '/config_dump')) as { configs: unknown[] };
    assert.ok(dump.configs.length > 0);
    admin.stop();

    const debug = await portForward('istio-system', 'deploy/istiod-asm-managed-stable', 15014);
    const syncz = JSON.parse(await curl(debug.localPort, '/debug/syncz')) as { proxies: Array<{ nodeId: string }> };
    assert.ok(syncz.proxies.some((p) => p.nodeId.includes(pod)), `the sidecar of ${pod} is listed by the control plane`);
    debug.stop();
  });

  test('port-forward to a port nothing listens on: kubectl reports the refused connection', async () => {
    const pf = await portForward('sample', 'deploy/helloworld-v1', 5999);
    const res = await run('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${pf.localPort}/`]);
    assert.notEqual(res.code, 0);
    await until('kubectl to print the forwarding error', 10_000, async () => (/an error occurred forwarding \d+ -> 5999: .*ECONNREFUSED/.test(pf.output()) ? true : undefined));
    pf.stop();
  });

  test('delete --cascade=orphan: the ReplicaSet and its Pod keep running without the owner reference', async () => {
    await kubectl(['apply', '-n', 'sample', '-f', file('helloworld.yaml'), '-l', 'version=v2']);
    const pod = await waitReady('sample', 'app=helloworld,version=v2');
    await kubectl(['delete', 'deploy', '-n', 'sample', 'helloworld-v2', '--cascade=orphan']);
    const rs = await until('the ReplicaSet to lose its owner', 10_000, async () => {
      const out = await kubectl(['get', 'rs', '-n', 'sample', '-l', 'version=v2', '-o', 'jsonpath={.items[0].metadata.name} {.items[0].metadata.ownerReferences}']);
      return /^\S+ $/.test(out) ? out.trim() : undefined;
    });
    assert.match(rs, /^helloworld-v2-/);
    const pods = await kubectl(['get', 'pods', '-n', 'sample', '-l', 'version=v2', '-o', 'jsonpath={.items[*].metadata.name}']);
    assert.equal(pods, pod, 'the same pod, not replaced');
    assert.equal(await kubectl(['get', 'deploy', '-n', 'sample', '--ignore-not-found', 'helloworld-v2']), '');
    // Deleting the orphaned ReplicaSet in the background now takes its pod.
    await kubectl(['delete', 'rs', '-n', 'sample', rs]);
    await until('the orphaned pod to be collected', 15_000, async () =>
      (await kubectl(['get', 'pods', '-n', 'sample', '-l', 'version=v2', '-o', 'name'])) === '' ? true : undefined,
    );
  });

  test('delete --cascade=foreground: the Deployment and ReplicaSet stay, marked, until the pod is gone', async () => {
    await kubectl(['apply', '-n', 'sample', '-f', file('helloworld.yaml'), '-l', 'version=v2']);
    const pod = await waitReady('sample', 'app=helloworld,version=v2');
    // A finalizer of our own holds the pod, so the wait is observable.
    await kubectl(['patch', 'pod', '-n', 'sample', pod, '--type=merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}']);
    await kubectl(['delete', 'deploy', '-n', 'sample', 'helloworld-v2', '--cascade=foreground', '--wait=false']);
    const marked = await until('the tree to be marked for deletion', 10_000, async () => {
      const out = await kubectl(['get', 'deploy,rs,pods', '-n', 'sample', '-l', 'version=v2', '-o', 'jsonpath={range .items[*]}{.kind} {.metadata.finalizers} {.metadata.deletionTimestamp}{"\\n"}{end}']);
      const lines = out.trim().split('\n');
      return lines.length === 3 && lines.every((l) => /Z$/.test(l)) ? lines : undefined;
    });
    assert.match(marked.join('\n'), /^Deployment \["foregroundDeletion"\] \S+Z\nReplicaSet \["foregroundDeletion"\] \S+Z\nPod \["example.com\/hold"\] \S+Z$/);
    await kubectl(['patch', 'pod', '-n', 'sample', pod, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await kubectl(['wait', '-n', 'sample', '--for=delete', 'deploy/helloworld-v2', '--timeout=20s']);
    assert.equal(await kubectl(['get', 'deploy,rs,pods', '-n', 'sample', '-l', 'version=v2', '-o', 'name']), '');
  });

  test('get nodes: the one node is Ready with the host IP; it takes labels', async () => {
    const wide = await kubectl(['get', 'nodes', '-o', 'wide']);
    assert.match(wide, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME\n/);
    assert.match(wide, new RegExp(`\\ncluster-1-node\\s+Ready\\s+control-plane\\s+\\S+\\s+v1\\.32\\.0\\s+127\\.${env.subnetBase}\\.0\\.1\\s`));
    await kubectl(['label', 'node', 'cluster-1-node', 'topology.kubernetes.io/zone=local-a']);
    assert.equal(await kubectl(['get', 'nodes', '-l', 'topology.kubernetes.io/zone=local-a', '-o', 'name']), 'node/cluster-1-node\n');
    const del = await env.kubectl(CTX, ['delete', 'node', 'cluster-1-node']);
    assert.notEqual(del.code, 0, 'nodes are registered by the cluster, not deleted by users');
  });

  test('get endpoints mirrors the EndpointSlices, read-only', async () => {
    const pod = await waitReady('sample', 'app=helloworld,version=v1');
    const ip = await kubectl(['get', 'pod', '-n', 'sample', pod, '-o', 'jsonpath={.status.podIP}']);
    const table = await until('the Endpoints of helloworld to list the pod', 15_000, async () => {
      const out = await kubectl(['get', 'endpoints', '-n', 'sample', 'helloworld']);
      return out.includes(`${ip}:5000`) ? out : undefined;
    });
    assert.match(table, /^NAME\s+ENDPOINTS\s+AGE\n/);
    const targets = await kubectl(['get', 'ep', '-n', 'sample', 'helloworld', '-o', 'jsonpath={.subsets[*].addresses[*].targetRef.name}']);
    assert.equal(targets, pod);
    const write = await env.kubectl(CTX, ['delete', 'endpoints', '-n', 'sample', 'helloworld']);
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /MethodNotAllowed|not allowed|NotAllowed/i);
  });

  test('get crd lists the Istio, GKE and Meshwork kinds the cluster serves; explain walks nested fields', async () => {
    const names = (await kubectl(['get', 'crd', '-o', 'name'])).trim().split('\n').sort();
    assert.deepEqual(names, [
      'customresourcedefinition.apiextensions.k8s.io/authorizationpolicies.security.istio.io',
      'customresourcedefinition.apiextensions.k8s.io/backendconfigs.cloud.google.com',
      'customresourcedefinition.apiextensions.k8s.io/canaries.rollouts.meshwork.io',
      'customresourcedefinition.apiextensions.k8s.io/destinationrules.networking.istio.io',
      'customresourcedefinition.apiextensions.k8s.io/gateways.networking.istio.io',
      'customresourcedefinition.apiextensions.k8s.io/multiclusteringresses.networking.gke.io',
      'customresourcedefinition.apiextensions.k8s.io/multiclusterservices.networking.gke.io',
      'customresourcedefinition.apiextensions.k8s.io/peerauthentications.security.istio.io',
      'customresourcedefinition.apiextensions.k8s.io/serviceentries.networking.istio.io',
      'customresourcedefinition.apiextensions.k8s.io/sidecars.networking.istio.io',
      'customresourcedefinition.apiextensions.k8s.io/virtualservices.networking.istio.io',
    ]);
    assert.match(await kubectl(['get', 'crd']), /^NAME\s+CREATED AT\n/);
    const versions = await kubectl(['get', 'crd', 'virtualservices.networking.istio.io', '-o', 'jsonpath={.spec.versions[*].name} {.status.conditions[?(@.type=="Established")].status}']);
    assert.equal(versions, 'v1 v1beta1 v1alpha3 True');
    const explained = await kubectl(['explain', 'virtualservice.spec.http.route']);
    assert.match(explained, /FIELD: route <\[\]Object>/);
    assert.match(explained, /\n {2}destination\t<Object>/);
    assert.match(explained, /\n {2}weight\t<integer>/);
  });

  test('auth can-i and auth whoami answer for the admin token', async () => {
    assert.equal((await kubectl(['auth', 'can-i', 'create', 'deployments', '-n', 'sample'])).trim(), 'yes');
    assert.equal((await kubectl(['auth', 'can-i', 'patch', 'virtualservices.networking.istio.io'])).trim(), 'yes');
    // A verb the server does not serve for the resource is a no, with the reason.
    const del = await env.kubectl(CTX, ['auth', 'can-i', 'delete', 'nodes']);
    assert.equal(del.code, 1);
    assert.match(del.stdout, /^no - nodes on this server supports only get, list, watch, patch, update/);
    assert.match(await kubectl(['auth', 'can-i', '--list']), /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/);
    // Impersonated, bob is answered from the bindings: he has none.
    const asBob = await env.kubectl(CTX, ['auth', 'can-i', 'get', 'pods', '--as=bob']);
    assert.equal(asBob.code, 1);
    assert.equal(asBob.stdout.trim(), 'no');
    const whoami = await kubectl(['auth', 'whoami', '-o', 'json']);
    assert.deepEqual((JSON.parse(whoami) as { status: object }).status, { userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] } });
  });

  test('get events prints the full event table', async () => {
    const table = await kubectl(['get', 'events', '-n', 'sample']);
    assert.match(table, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);
    assert.match(table, /\n\S+\s+Normal\s+Started\s+pod\/helloworld-v1-\S+\s+Started container helloworld\n/);
    const wide = await kubectl(['get', 'events', '-n', 'sample', '-o', 'wide']);
    assert.match(wide, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+SUBOBJECT\s+SOURCE\s+MESSAGE\s+FIRST SEEN\s+COUNT\s+NAME\n/);
    assert.match(wide, /spec\.containers\{helloworld\}\s+kubelet, cluster-1-node\s+Started container helloworld/);
  });

  // kubectl's typed commands below send protobuf bodies (read with Kubernetes' own definitions).
  const HELLO_V1 = 'docker.io/istio/examples-helloworld-v1';

  /** name phase podIP of each pod of `selector` in `namespace`, once there are `count` and all run. */
  function runningPods(namespace: string, selector: string, count: number): Promise<Array<{ name: string; ip: string }>> {
    return until(`${count} running pods ${selector} in ${namespace}`, 60_000, async () => {
      const out = await kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.status.podIP}{"\\n"}{end}']);
      const pods = out.trim().split('\n').filter(Boolean).map((l) => l.split(' '));
      return pods.length === count && pods.every((p) => p[1] === 'Running' && p[2]) ? pods.map(([name, , ip]) => ({ name, ip })) : undefined;
    });
  }

  test('kubectl create deployment and service: two Running pods behind a ClusterIP with endpoints', async () => {
    await kubectl(['create', 'namespace', 'typed']);
    assert.match(await kubectl(['create', 'deployment', 'web', '-n', 'typed', `--image=${HELLO_V1}`, '--replicas=2', '--port=5000']), /deployment.apps\/web created/);
    assert.match(await kubectl(['create', 'service', 'clusterip', 'web', '-n', 'typed', '--tcp=5000:5000']), /service\/web created/);
    const pods = await runningPods('typed', 'app=web', 2);
    const podIps = pods.map((p) => p.ip).sort();
    await until('the endpoints of service web to list both pods', 20_000, async () => {
      const ips = (await kubectl(['get', 'endpoints', 'web', '-n', 'typed', '-o', 'jsonpath={.subsets[*].addresses[*].ip}'])).trim().split(' ').sort();
      return ips.join() === podIps.join() ? true : undefined;
    });
    const clusterIp = (await kubectl(['get', 'service', 'web', '-n', 'typed', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const answer = await until('the ClusterIP to answer', 20_000, async () => {
      const res = await run('curl', ['-sS', '--max-time', '5', `http://${clusterIp}:5000/hello`]);
      return res.code === 0 ? res.stdout : undefined;
    });
    const instance = /^Hello version: v1, instance: (\S+)/.exec(answer)?.[1];
    assert.ok(instance && pods.some((p) => p.name === instance), `answered by ${instance}, not one of ${pods.map((p) => p.name).join(', ')}`);
  });

  test('kubectl debug --copy-to: the copy runs with the debug container; --set-image=*= swaps every image', async () => {
    const [source] = await runningPods('typed', 'app=web', 2);
    const debug = await env.kubectl(CTX, ['debug', source.name, '-n', 'typed', '--copy-to=web-debug', '--image=busybox', '--container=debugger', '--share-processes', '--', 'sleep', '3600']);
    assert.equal(debug.code, 0, debug.stderr);
    const statuses = await until('both containers of web-debug to run', 30_000, async () => {
      const out = await kubectl(['get', 'pod', 'web-debug', '-n', 'typed', '-o', 'jsonpath={range .status.containerStatuses[*]}{.name}={.imageID} {end}']);
      const running = await kubectl(['get', 'pod', 'web-debug', '-n', 'typed', '-o', 'jsonpath={.status.containerStatuses[*].state.running.startedAt}']);
      return running.trim().split(' ').filter(Boolean).length === 2 ? out.trim() : undefined;
    });
    // The app container is the built-in helloworld; the debug container runs its command on this machine.
    assert.match(statuses, /^examples-helloworld-v1=meshwork-builtin:\/\/helloworld debugger=meshwork-host:\/\/\S*\/sleep$/);
    const spec = JSON.parse(await kubectl(['get', 'pod', 'web-debug', '-n', 'typed', '-o', 'json'])) as { metadata: { labels?: object }; spec: { shareProcessNamespace?: boolean; containers: Array<{ name: string; image: string; command?: string[] }> } };
    assert.equal(spec.spec.shareProcessNamespace, true);
    assert.deepEqual(spec.spec.containers.map((c) => [c.name, c.image, c.command]), [['examples-helloworld-v1', HELLO_V1, undefined], ['debugger', 'busybox', ['sleep', '3600']]]);
    // The copy has no labels: neither the ReplicaSet nor the Service take it.
    assert.equal(spec.metadata.labels, undefined);

    // --set-image keeps labels (as kubectl does), so it copies a pod no controller selects: web-debug.
    const swap = await env.kubectl(CTX, ['debug', 'web-debug', '-n', 'typed', '--copy-to=web-v2', '--set-image=*=docker.io/istio/examples-helloworld-v2']);
    assert.equal(swap.code, 0, swap.stderr);
    const ip = await until('web-v2 to run', 30_000, async () => {
      const out = (await kubectl(['get', 'pod', 'web-v2', '-n', 'typed', '-o', 'jsonpath={.status.phase} {.status.podIP}'])).trim().split(' ');
      return out[0] === 'Running' && out[1] ? out[1] : undefined;
    });
    const hello = await until('the v2 app of web-v2 to answer', 20_000, async () => {
      const res = await run('curl', ['-sS', '--max-time', '5', `http://${ip}:5000/hello`]);
      return res.code === 0 ? res.stdout : undefined;
    });
    assert.match(hello, /^Hello version: v2, instance: web-v2/);
  });
});
