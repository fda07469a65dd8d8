// Least privilege for workloads, as a user checks it: two local clusters with the control plane
// installed and joined, the scenario's helloworld and sleep deployed. From inside the helloworld app's
// container there is no admin token, in its environment or its files; its own service-account token
// reads no Secret in istio-system and execs into no pod (403 with kube-apiserver's message); `kubectl
// create token` and TokenReview agree; the control plane, the remote secrets and kube-proxy run as
// their own least-privilege accounts, and the mesh still works across the clusters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { E2E_DATA_PLANE, MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { podName, sendFromPod } from '../helpers/traffic.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;

interface Kubeconfig {
  clusters: Array<{ name: string; cluster: { server: string } }>;
  users: Array<{ name: string; user: { token?: string; tokenFile?: string } }>;
}

describe(`least privilege for workloads (${E2E_DATA_PLANE} data plane)`, { timeout: 600_000 }, () => {
  const env = new MeshworkEnv(24);
  const adminTokens: string[] = [];
  let helloworld = '';
  let sleepPod = '';
  /** Runs a command in the helloworld app's container of cluster-1: what the app itself can do. */
  const inApp = (command: string[]) => env.kubectl('cluster-1', ['exec', '-n', 'sample', helloworld, '-c', 'helloworld', '--', ...command]);

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
    }
    for (const ctx of CONTEXTS) {
      await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2);
      await env.waitPodsReady(ctx, 'sample', 'app=sleep', 2);
    }
    const joined = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(joined.code, 0, joined.stderr + joined.stdout);
    helloworld = await podName(env, 'cluster-1', 'sample', 'app=helloworld');
    sleepPod = await podName(env, 'cluster-1', 'sample', 'app=sleep');
    const kubeconfig = parse(readFileSync(env.kubeconfig, 'utf8')) as Kubeconfig;
    for (const u of kubeconfig.users) if (u.user.token) adminTokens.push(u.user.token);
    assert.equal(adminTokens.length, 2);
  });
  after(() => env.cleanup());

  test('the app\'s container holds no admin token: its environment, its kubeconfig, its token, every file of its pod', async () => {
    const environment = await inApp(['env']);
    assert.equal(environment.code, 0, environment.stderr);
    const kubeconfigPath = /^KUBECONFIG=(.*)$/m.exec(environment.stdout)?.[1];
    assert.ok(kubeconfigPath, environment.stdout);
    const files = await inApp(['sh', '-c', 'cat "$KUBECONFIG"; echo; find "$HOME" -type f -exec cat {} +']);
    assert.equal(files.code, 0, files.stderr);
    const kubeconfig = parse((await inApp(['cat', kubeconfigPath])).stdout) as Kubeconfig;
    assert.equal(kubeconfig.users[0]?.user.token, undefined, 'the pod kubeconfig reads its token from a file');
    const tokenFile = kubeconfig.users[0]?.user.tokenFile ?? '';
    const token = (await inApp(['cat', tokenFile])).stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string; exp: number; iat: number; 'kubernetes.io': { pod: { name: string } } };
    assert.equal(claims.sub, 'system:serviceaccount:sample:default');
    assert.equal(claims['kubernetes.io'].pod.name, helloworld);
    assert.equal(claims.exp - claims.iat, 3600);
    for (const admin of adminTokens) {
      assert.ok(!environment.stdout.includes(admin), 'an admin token in the app\'s environment');
      assert.ok(!files.stdout.includes(admin), 'an admin token in the app\'s files');
    }
    for (const ctx of CONTEXTS) assert.ok(!existsSync(join(env.stateDir, 'clusters', ctx, 'pod-kubeconfig')), 'the old shared pod kubeconfig is gone');
  });

  test('the app\'s own token reads no Secret in istio-system, execs into no pod, and is nobody on the other cluster', async () => {
    const who = await inApp(['kubectl', 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(who.stdout, 'system:serviceaccount:sample:default', who.stderr);
    const secrets = await inApp(['kubectl', 'get', 'secrets', '-n', 'istio-system']);
    assert.notEqual(secrets.code, 0);
    assert.match(secrets.stderr, /Error from server \(Forbidden\): secrets is forbidden: User "system:serviceaccount:sample:default" cannot list resource "secrets" in API group "" in the namespace "istio-system"/);
    const remote = await inApp(['kubectl', 'get', 'secret', 'istio-remote-secret-cluster-2', '-n', 'istio-system', '-o', 'yaml']);
    assert.match(remote.stderr, /secrets "istio-remote-secret-cluster-2" is forbidden: User "system:serviceaccount:sample:default" cannot get resource "secrets"/);
    // kubectl exec reads the pod first: already that is refused.
    const exec = await inApp(['kubectl', 'exec', '-n', 'sample', sleepPod, '-c', 'sleep', '--', 'true']);
    assert.notEqual(exec.code, 0);
    assert.match(exec.stderr, new RegExp(`pods "${sleepPod}" is forbidden: User "system:serviceaccount:sample:default" cannot get resource "pods" in API group "" in the namespace "sample"`));
    // The exec subresource itself, asked for directly.
    const raw = await inApp(['kubectl', 'create', '--raw', `/api/v1/namespaces/sample/pods/${sleepPod}/exec?command=true&stdout=true`, '-f', '/dev/null']);
    assert.notEqual(raw.code, 0);
    assert.match(raw.stderr, new RegExp(`pods "${sleepPod}" is forbidden: User "system:serviceaccount:sample:default" cannot create resource "pods/exec" in API group "" in the namespace "sample"`));
    const canI = await inApp(['kubectl', 'auth', 'can-i', 'get', 'secrets', '-n', 'istio-system']);
    assert.equal(canI.stdout.trim(), 'no');
    // cluster-2 does not know cluster-1's service-account tokens.
    const server2 = (parse(readFileSync(env.kubeconfig, 'utf8')) as Kubeconfig).clusters.find((c) => c.name === 'cluster-2')!.cluster.server;
    const other = await inApp(['kubectl', '--server', server2, '--insecure-skip-tls-verify', 'get', 'pods', '-A']);
    assert.match(other.stderr, /error: You must be logged in to the server/);
  });

  test('kubectl create token and TokenReview: the round trip', async () => {
    const token = (await env.kubectlOk('cluster-1', ['create', 'token', 'sleep', '-n', 'sample', '--audience', 'istio-ca', '--duration', '15m'])).trim();
    const review = (aud: string) => `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"${token}","audiences":["${aud}"]}}`;
    const ok = JSON.parse(await env.kubectlOk('cluster-1', ['create', '-o', 'json', '-f', '-'], review('istio-ca'))) as { status: { authenticated: boolean; user: { username: string; groups: string[] }; audiences: string[] } };
    assert.equal(ok.status.authenticated, true);
    assert.equal(ok.status.user.username, 'system:serviceaccount:sample:sleep');
    assert.deepEqual(ok.status.audiences, ['istio-ca']);
    const wrong = JSON.parse(await env.kubectlOk('cluster-1', ['create', '-o', 'json', '-f', '-'], review('kubernetes'))) as { status: { authenticated?: boolean; error: string } };
    assert.notEqual(wrong.status.authenticated, true);
    assert.match(wrong.status.error, /invalid for the target audiences/);
    // The other cluster's API server does not vouch for it.
    const elsewhere = JSON.parse(await env.kubectlOk('cluster-2', ['create', '-o', 'json', '-f', '-'], review('istio-ca'))) as { status: { authenticated?: boolean } };
    assert.notEqual(elsewhere.status.authenticated, true);
  });

  test('the control plane, the remote secrets and kube-proxy run as their own accounts', async () => {
    const istiod = await podName(env, 'cluster-1', 'istio-system', 'app=istiod');
    const cp = await env.kubectlOk('cluster-1', ['exec', '-n', 'istio-system', istiod, '--', 'kubectl', 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(cp, 'system:serviceaccount:istio-system:istiod-asm-managed-stable');
    // It reads Secrets everywhere (gateways' credentialName, as Istio's istiod) but writes none outside istio-system.
    assert.equal((await env.kubectl('cluster-1', ['exec', '-n', 'istio-system', istiod, '--', 'kubectl', 'auth', 'can-i', 'create', 'secrets', '-n', 'sample'])).stdout.trim(), 'no');
    assert.equal((await env.kubectl('cluster-1', ['exec', '-n', 'istio-system', istiod, '--', 'kubectl', 'auth', 'can-i', 'delete', 'pods', '-n', 'sample'])).stdout.trim(), 'no');
    assert.equal((await env.kubectl('cluster-1', ['exec', '-n', 'istio-system', istiod, '--', 'kubectl', 'auth', 'can-i', 'watch', 'secrets', '-n', 'istio-system'])).stdout.trim(), 'yes');
    // The remote secret of cluster-2 in cluster-1 authenticates as cluster-2's read-only reader.
    const secret = JSON.parse(await env.kubectlOk('cluster-1', ['get', 'secret', 'istio-remote-secret-cluster-2', '-n', 'istio-system', '-o', 'json'])) as { data?: Record<string, string>; stringData?: Record<string, string> };
    const remoteText = secret.data?.['cluster-2'] ? Buffer.from(secret.data['cluster-2'], 'base64').toString('utf8') : (secret.stringData?.['cluster-2'] ?? '');
    const remote = parse(remoteText) as Kubeconfig;
    const readerToken = remote.users[0]?.user.token ?? '';
    assert.ok(readerToken && !adminTokens.includes(readerToken));
    const asReader = (args: string[]) => env.kubectl('cluster-2', ['--token', readerToken, ...args]);
    assert.equal((await asReader(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).stdout, 'system:serviceaccount:istio-system:istio-reader-service-account');
    assert.equal((await asReader(['get', 'pods', '-A', '-o', 'name'])).code, 0);
    assert.match((await asReader(['get', 'secrets', '-n', 'istio-system'])).stderr, /secrets is forbidden: User "system:serviceaccount:istio-system:istio-reader-service-account"/);
    assert.match((await asReader(['delete', 'pod', sleepPod, '-n', 'sample'])).stderr, /is forbidden/);
    const proxy = await env.kubectlOk('cluster-1', ['exec', '-n', 'kube-system', 'kube-proxy-cluster-1-node', '--', 'kubectl', 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(proxy, 'system:serviceaccount:kube-system:kube-proxy');
  });

  test('the mesh still works: sleep on cluster-1 reaches helloworld on both clusters', async () => {
    const deadline = Date.now() + 20_000;
    let versions: string[] = [];
    while (versions.length < 2) {
      const split = await sendFromPod(env, 'cluster-1', 'sample', sleepPod, 'http://helloworld.sample:5000/hello', 40);
      assert.equal(split.failures, 0, `${split.failures} failed requests`);
      versions = Object.keys(split.byVersion).sort();
      if (versions.length < 2) {
        assert.ok(Date.now() < deadline, `cluster-2's endpoints never arrived: ${JSON.stringify(split.byVersion)}`);
        await sleep(250);
      }
    }
    assert.deepEqual(versions, ['v1', 'v2']);
    await env.assertDataPlaneAcceptedEverything(CONTEXTS);
  });
});
