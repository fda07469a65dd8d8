// Pods with a sidecar get their own /etc/hosts and /etc/resolv.conf in their app containers (a user +
// mount namespace each, no root), exec and exec probes enter those namespaces, the sidecar learns the
// hosts file's path; without user namespaces the pod runs as before and a Warning event says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Container } from './pod-types.js';
import { createPod, eventsOf, harness, isReady, pidOf, waitForPod, type Harness } from './kubelet-testing.js';
import { dnsUnavailableMessage } from './pod-dns.js';

const SIDECAR: Container = { name: 'istio-proxy', image: 'busybox', command: ['sleep', 'infinity'] };

async function exec(h: Harness, pod: string, container: string, command: string[]): Promise<{ exitCode: number; out: string }> {
  let out = '';
  const stdout = new Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } });
  const { exitCode } = await h.kubelet.exec({ namespace: 'sample', pod, container, command, tty: false, stdout, stderr: stdout, signal: new AbortController().signal });
  return { exitCode, out };
}

test('an app container of a pod with a sidecar sees the pod\'s hosts file and resolv.conf; exec and exec probes enter its namespaces', async (t) => {
  const h = harness(212);
  t.after(() => h.close());
  // Ready only when the probe, run in the container, finds the pod's own hostname line in /etc/hosts.
  const app: Container = { name: 'app', image: 'busybox', command: ['sleep', 'infinity'], readinessProbe: { exec: { command: ['grep', '-q', 'resolver-pod$', '/etc/hosts'] }, periodSeconds: 1 } };
  createPod(h.store, 'resolver-pod', [app, SIDECAR]);
  const pod = await waitForPod(h.store, 'resolver-pod', 'ready', isReady, 20_000);
  const podIp = pod.status?.podIP ?? '';

  const sidecarEnv = await exec(h, 'resolver-pod', 'istio-proxy', ['sh', '-c', 'echo $MESHWORK_POD_HOSTS_FILE']);
  const hostsFile = sidecarEnv.out.trim();
  assert.match(hostsFile, /\/pods\/sample_resolver-pod_[^/]+\/\.dns\/hosts$/, 'the sidecar is told where the pod\'s hosts file is');

  const hosts = await exec(h, 'resolver-pod', 'app', ['cat', '/etc/hosts']);
  assert.equal(hosts.exitCode, 0, hosts.out);
  assert.ok(hosts.out.split('\n').includes(`${podIp}\tresolver-pod`), hosts.out);
  const resolv = await exec(h, 'resolver-pod', 'app', ['cat', '/etc/resolv.conf']);
  assert.match(resolv.out, /^search sample\.svc\.cluster\.local svc\.cluster\.local cluster\.local\b/m);
  assert.match(resolv.out, /^options ndots:5\b/m);

  // What the agent does: rewrite the file in place; the running container sees the change at once.
  writeFileSync(hostsFile, `${readFileSync(hostsFile, 'utf8')}127.213.0.9\thelloworld.sample.svc.cluster.local helloworld.sample helloworld\n`);
  const getent = await exec(h, 'resolver-pod', 'app', ['getent', 'hosts', 'helloworld.sample']);
  assert.equal(getent.exitCode, 0, getent.out);
  assert.match(getent.out, /^127\.213\.0\.9\s+helloworld\.sample\.svc\.cluster\.local/);

  // The container keeps the host's pid namespace: its pid is its process group, in a mount namespace of its own.
  const pid = pidOf(pod, 'app');
  assert.notEqual(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'));
  assert.match(readFileSync(`/proc/${pid}/environ`, 'latin1'), /MESHWORK_POD_UID=/, 'the kubelet can still prove the process is the pod\'s');
  // The sidecar (the agent) stays on the host's files: it writes the pod's.
  assert.equal((await exec(h, 'resolver-pod', 'istio-proxy', ['getent', 'hosts', 'helloworld.sample'])).exitCode, 2);
  assert.equal(readlinkSync(`/proc/${pidOf(pod, 'istio-proxy')}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'));
  assert.deepEqual(eventsOf(h.store, 'resolver-pod').filter((e) => e.reason === 'DNSConfigForming'), []);
});

test('without user namespaces a pod with a sidecar runs on the host\'s files, and a Warning event says why and what to set', async (t) => {
  const h = harness(213, { userNamespaces: { ok: false, reason: 'unshare: unshare failed: Operation not permitted' } });
  t.after(() => h.close());
  createPod(h.store, 'plain', [{ name: 'app', image: 'busybox', command: ['sleep', 'infinity'] }, SIDECAR]);
  const pod = await waitForPod(h.store, 'plain', 'ready', isReady);
  assert.equal(readlinkSync(`/proc/${pidOf(pod, 'app')}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'));
  assert.equal((await exec(h, 'plain', 'istio-proxy', ['sh', '-c', 'echo "[$MESHWORK_POD_HOSTS_FILE]"'])).out, '[]\n');
  const warning = eventsOf(h.store, 'plain').find((e) => e.reason === 'DNSConfigForming');
  assert.equal(warning?.type, 'Warning');
  assert.equal(warning?.message, dnsUnavailableMessage('unshare: unshare failed: Operation not permitted'));
  assert.match(warning?.message ?? '', /user\.max_user_namespaces/);
  // A pod without a sidecar never asks for DNS: no event.
  createPod(h.store, 'nomesh', [{ name: 'app', image: 'busybox', command: ['sleep', 'infinity'] }]);
  await waitForPod(h.store, 'nomesh', 'ready', isReady);
  assert.deepEqual(eventsOf(h.store, 'nomesh').filter((e) => e.reason === 'DNSConfigForming'), []);
});
