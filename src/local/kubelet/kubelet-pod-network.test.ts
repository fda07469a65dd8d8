// The kubelet with pod network namespaces (root, real kernel): a captured pod gets an address of its
// cluster's block and a namespace on the bridge mw-br84 (10.84.0.0/16, base 84); its init container runs
// first as root, each container as its securityContext user inside the namespace, with the pod's hosts
// file from /etc/netns; its readiness probe runs inside the namespace; exec enters it; the namespace, its
// veth and its /etc/netns folder go when the pod is deleted and when the kubelet stops.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { clusterNetworkBlocks, meshNetworkPlan } from '../pod-network-addresses.js';
import { POD_TYPE } from './events.js';
import { curl, harness, isReady, waitFor, waitForPod } from './kubelet-testing.js';
import { podNetworkNames, podNetworkUnsupported } from './pod-network.js';
import { PodNetworkHost, POD_NETWORK_RECORD } from './pod-network-host.js';
import type { Container } from './pod-types.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = 84;
const REDIRECT = { 'sidecar.istio.io/interceptionMode': 'REDIRECT' };

function netnsList(): string {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
}

describe('the kubelet runs captured pods in network namespaces of their own', { skip: podNetworkUnsupported() ?? false }, () => {
  it('init first as root, containers as their users inside the namespace, probes inside, cleanup on delete and stop', async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'kubelet-netns-'));
    chmodSync(stateDir, 0o755);
    const host = PodNetworkHost.open(stateDir, meshNetworkPlan(BASE), () => undefined);
    t.after(() => {
      host.tearDown();
      rmSync(stateDir, { recursive: true, force: true });
    });
    const h = harness(BASE, { stateDir: join(stateDir, 'kubelet'), podNetwork: host.forCluster(clusterNetworkBlocks(BASE, BASE).pods) });
    let closed = false;
    t.after(async () => { if (!closed) await h.close(); });

    const containers: Container[] = [
      { name: 'helloworld', image: 'docker.io/istio/examples-helloworld-v1', ports: [{ containerPort: 5000 }], readinessProbe: { httpGet: { path: '/hello', port: 5000 }, periodSeconds: 1 } },
      { name: 'proxy', image: 'busybox', command: ['sleep', '1000'], securityContext: { runAsUser: 1337, runAsGroup: 1337 } } as Container,
    ];
    const init = { name: 'init', image: 'busybox', command: ['sh', '-c', 'echo "$(id -u) $(ip -4 -o addr show dev eth0 | wc -l)" > init.out'], securityContext: { runAsUser: 0 } } as Container;
    const pod = h.store.create(POD_TYPE, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'netpod', namespace: 'sample', annotations: REDIRECT }, spec: { containers, initContainers: [init] } });
    const ready = await waitForPod(h.store, 'netpod', 'Ready (the probe answered from inside the namespace)', isReady, 30_000);
    const ip = ready.status?.podIP ?? '';
    assert.match(ip, /^10\.84\.0\.\d+$/);
    const { netns, hostVeth } = podNetworkNames(pod.metadata.uid);
    assert.match(netnsList(), new RegExp(`^${netns}\\b`, 'm'));
    assert.ok(JSON.parse(readFileSync(join(stateDir, POD_NETWORK_RECORD), 'utf8')).netns.includes(netns));
    // The init container ran as root in the namespace (it saw eth0).
    const workDir = join(stateDir, 'kubelet', 'pods', `sample_netpod_${pod.metadata.uid}`);
    assert.equal(readFileSync(join(workDir, 'init.out'), 'utf8').trim(), '0 1');
    // From the host, through the bridge (no capture rules in this pod).
    const r = await curl(`http://${ip}:5000/hello`);
    assert.match(r.stdout, /Hello version: v1/);

    const run = async (container: string, command: string[]): Promise<string> => {
      let out = '';
      const res = await h.kubelet.exec({
        namespace: 'sample', pod: 'netpod', container, command, tty: false,
        stdout: new Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } }),
        stderr: process.stderr, signal: new AbortController().signal,
      });
      assert.equal(res.exitCode, 0, out);
      return out;
    };
    assert.equal((await run('proxy', ['id', '-u'])).trim(), '1337');
    assert.equal((await run('helloworld', ['id', '-u'])).trim(), '0');
    assert.match(await run('proxy', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']), new RegExp(`inet ${ip.replaceAll('.', '\\.')}/16`));
    assert.match(await run('proxy', ['cat', '/etc/hosts']), new RegExp(`^${ip.replaceAll('.', '\\.')}\\s+netpod$`, 'm'));
    assert.equal(readFileSync(`/etc/netns/${netns}/resolv.conf`, 'utf8').includes('search sample.svc.cluster.local'), true);

    // Deleted: processes, namespace, veth and /etc/netns files go.
    h.store.delete(POD_TYPE, 'sample', 'netpod');
    await waitFor('the namespace removed', () => !new RegExp(`^${netns}\\b`, 'm').test(netnsList()), 15_000);
    assert.ok(!existsSync(`/etc/netns/${netns}`));
    assert.notEqual(spawnSync('ip', ['link', 'show', hostVeth]).status, 0);

    // Another pod; the kubelet stops: its namespace goes too.
    const second = h.store.create(POD_TYPE, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'second', namespace: 'sample', annotations: REDIRECT }, spec: { containers: [containers[1]!] } });
    await waitForPod(h.store, 'second', 'Running', (p) => p.status?.phase === 'Running', 15_000);
    const secondNs = podNetworkNames(second.metadata.uid).netns;
    assert.match(netnsList(), new RegExp(`^${secondNs}\\b`, 'm'));
    await h.close();
    closed = true;
    assert.doesNotMatch(netnsList(), new RegExp(`^${secondNs}\\b`, 'm'));
    host.tearDown();
    assert.notEqual(spawnSync('ip', ['link', 'show', `mw-br${BASE}`]).status, 0, 'the bridge removed');
    assert.ok(!existsSync(join(stateDir, POD_NETWORK_RECORD)));
  });
});
