// DNS inside pods on the two-cluster scenario: from the sleep pod of cluster-1, glibc (getent, curl
// without its proxy, bash's /dev/tcp) resolves helloworld.sample, its FQDN and a Service that exists
// only in cluster-2, through the pod's own /etc/hosts and /etc/resolv.conf; the sidecar's DNS server
// answers the same names on POD_IP:15053 (asked by Node's c-ares resolver, UDP); a pod whose containers
// were adopted after a crash of the host still resolves, and exec still enters its namespaces.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processRunning } from '../../src/os/proc.js';
import { E2E_DATA_PLANE, MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { podName } from '../helpers/traffic.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;

/** A Service only cluster-2 has: in front of its helloworld-v2. */
const REMOTE_ONLY = `apiVersion: v1
kind: Service
metadata:
  name: hello-remote
spec:
  ports:
  - port: 5000
    name: http
  selector:
    app: helloworld
`;

describe(`DNS inside pods (${E2E_DATA_PLANE} data plane)`, { timeout: 600_000 }, () => {
  const env = new MeshworkEnv(150);
  const file = (name: string) => join(scenarioDir(), name);
  let sleepPod = '';
  let sleepIp = '';

  /** A command in cluster-1's sleep container, as `kubectl exec` runs it. */
  const inSleep = (command: string[]) => env.kubectlOk('cluster-1', ['exec', sleepPod, '-n', 'sample', '-c', 'sleep', '--', ...command]);
  const clusterIp = async (ctx: string, name: string) => (await env.kubectlOk(ctx, ['get', 'service', name, '-n', 'sample', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  const resolver = () => {
    const r = new Resolver({ timeout: 2000, tries: 2 });
    r.setServers([`${sleepIp}:15053`]);
    return r;
  };
  /** Retries `check` until it passes: the name table reaches the pod a push after the change. */
  const eventually = async (what: string, check: () => Promise<void>, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await check();
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
        await sleep(250);
      }
    }
  };

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx);
    }
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', file('sleep.yaml')]);
    await env.kubectlOk('cluster-2', ['apply', '-n', 'sample', '-f', '-'], REMOTE_ONLY);
    const mesh = await env.meshwork(['create-mesh', 'cluster-1', 'cluster-2']);
    assert.equal(mesh.code, 0, mesh.stderr + mesh.stdout);
    for (const ctx of CONTEXTS) await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2);
    await env.waitPodsReady('cluster-1', 'sample', 'app=sleep', 2);
    sleepPod = await podName(env, 'cluster-1', 'sample', 'app=sleep');
    sleepIp = (await env.kubectlOk('cluster-1', ['get', 'pod', sleepPod, '-n', 'sample', '-o', 'jsonpath={.status.podIP}'])).trim();
  });
  after(() => env.cleanup());

  test('the pod\'s resolv.conf: its namespace\'s search list, ndots:5; the pod gets no DNS warning', async () => {
    const resolv = await inSleep(['cat', '/etc/resolv.conf']);
    assert.match(resolv, /^search sample\.svc\.cluster\.local svc\.cluster\.local cluster\.local\b/m);
    assert.match(resolv, /^options ndots:5\b/m);
    const events = await env.kubectlOk('cluster-1', ['get', 'events', '-n', 'sample', '--field-selector', `involvedObject.name=${sleepPod}`, '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}']);
    assert.doesNotMatch(events, /DNSConfigForming/);
  });

  test('getent resolves helloworld.sample and its FQDN to cluster-1\'s ClusterIP, and a cluster-2-only Service to cluster-2\'s', async () => {
    const local = await clusterIp('cluster-1', 'helloworld');
    const remote = await clusterIp('cluster-2', 'hello-remote');
    assert.match(remote, /^127\.161\./, 'cluster-2\'s ClusterIP range (octet 160 + 1)');
    await eventually('mesh names in /etc/hosts', async () => {
      assert.match(await inSleep(['getent', 'hosts', 'helloworld.sample']), new RegExp(`^${local.replace(/\./g, '\\.')}\\s+helloworld\\.sample\\.svc\\.cluster\\.local\\b`));
      assert.match(await inSleep(['getent', 'hosts', 'helloworld.sample.svc.cluster.local']), new RegExp(`^${local.replace(/\./g, '\\.')}\\s`));
      assert.match(await inSleep(['getent', 'hosts', 'helloworld']), new RegExp(`^${local.replace(/\./g, '\\.')}\\s`), 'the bare name in the pod\'s own namespace');
      assert.match(await inSleep(['getent', 'hosts', 'hello-remote.sample']), new RegExp(`^${remote.replace(/\./g, '\\.')}\\s+hello-remote\\.sample\\.svc\\.cluster\\.local\\b`));
    });
  });

  test('clients without the sidecar\'s HTTP proxy reach the Services by name: curl --noproxy, bash /dev/tcp, across clusters', async () => {
    const hello = await inSleep(['curl', '-sS', '-m', '5', '--noproxy', '*', 'http://helloworld.sample:5000/hello']);
    assert.match(hello, /^Hello version: v1, instance: helloworld-v1-/, 'cluster-1\'s ClusterIP leads to cluster-1\'s endpoints');
    const remote = await inSleep(['curl', '-sS', '-m', '5', '--noproxy', '*', 'http://hello-remote.sample:5000/hello']);
    assert.match(remote, /^Hello version: v2, instance: helloworld-v2-/, 'the cluster-2-only Service answers from cluster-2');
    const raw = await inSleep(['bash', '-c', 'exec 3<>/dev/tcp/helloworld.sample.svc.cluster.local/5000 && printf "GET /hello HTTP/1.1\\r\\nHost: helloworld\\r\\nConnection: close\\r\\n\\r\\n" >&3 && cat <&3']);
    assert.match(raw, /^HTTP\/1\.[01] 200/);
    assert.match(raw, /Hello version: v1/);
  });

  test('the sidecar answers DNS on POD_IP:15053 (UDP) from the same table; other names are NXDOMAIN', async () => {
    const local = await clusterIp('cluster-1', 'helloworld');
    const remote = await clusterIp('cluster-2', 'hello-remote');
    assert.deepEqual(await resolver().resolve4('helloworld.sample'), [local]);
    assert.deepEqual(await resolver().resolve4('helloworld.sample.svc.cluster.local'), [local]);
    assert.deepEqual(await resolver().resolve4('hello-remote.sample.svc.cluster.local'), [remote]);
    await assert.rejects(resolver().resolve4('www.example.com'), { code: 'ENOTFOUND' });
  });

  test('a Service created later resolves in the running pod once the mesh knows it (the hosts file is rewritten in place)', async () => {
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata:\n  name: late\nspec:\n  ports:\n  - port: 7000\n');
    const ip = await clusterIp('cluster-1', 'late');
    await eventually('the new Service in the pod', async () => {
      assert.match(await inSleep(['getent', 'hosts', 'late']), new RegExp(`^${ip.replace(/\./g, '\\.')}\\s+late\\.sample\\.svc\\.cluster\\.local\\b`));
    });
    await env.kubectlOk('cluster-1', ['delete', 'service', 'late', '-n', 'sample']);
    await eventually('the deleted Service gone from the pod', async () => {
      const res = await env.kubectl('cluster-1', ['exec', sleepPod, '-n', 'sample', '-c', 'sleep', '--', 'getent', 'hosts', 'late.sample']);
      assert.notEqual(res.code, 0, res.stdout);
    });
  });

  test('after kill -9 of the host, up -d adopts the pod: exec still enters its namespaces and resolves; down stops it', async () => {
    const pgid = env.containerProcessGroup('cluster-1', 'sample', sleepPod, 'sleep');
    process.kill(env.hostPid(), 'SIGKILL');
    await sleep(500);
    assert.ok(processRunning(pgid), 'the container outlives its kubelet');
    const up = await env.up(2);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.equal(env.containerProcessGroup('cluster-1', 'sample', sleepPod, 'sleep'), pgid, 'adopted, not restarted');
    assert.match(await inSleep(['getent', 'hosts', 'helloworld.sample']), /^127\.\d+\.\d+\.\d+\s+helloworld\.sample\.svc\.cluster\.local\b/);
    const down = await env.meshwork(['down']);
    assert.equal(down.code, 0, down.stderr + down.stdout);
    const deadline = Date.now() + 10_000;
    while (processRunning(pgid)) {
      assert.ok(Date.now() < deadline, `the sleep container (pid ${pgid}) outlived meshwork down`);
      await sleep(100);
    }
  });
});
