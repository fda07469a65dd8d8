// Service-account identities end to end on a local API server with the real kubectl: `kubectl create
// token`, TokenReview, the ServiceAccount admission of pods, legacy token Secrets, RBAC denials with
// kube-apiserver's messages, `auth whoami` / `auth can-i` as the account, and impersonation.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ObjectStore } from '../store/store.js';
import { serviceAccountAdmission } from '../admission/service-account.js';
import { startServiceAccountControllers, type RunningControllers } from '../controllers/index.js';
import { ServiceAccountTokens } from '../serviceaccount/tokens.js';
import { startTestCluster, type TestCluster } from './test-support.js';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('service accounts, tokens and RBAC on a local API server', () => {
  let c: TestCluster;
  let controllers: RunningControllers;
  let store: ObjectStore | undefined;
  const tokens = new ServiceAccountTokens(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  let sleepToken = '';

  before(async () => {
    c = await startTestCluster({ serviceAccounts: tokens, admission: [(req) => serviceAccountAdmission(store!)(req)] });
    store = c.store;
    controllers = startServiceAccountControllers({ store: c.store, clusterName: 'test', log: () => {}, serviceAccountTokens: { tokens, caPem: c.caPem } });
    for (const ns of ['sample', 'istio-system']) assert.equal((await c.kubectl(['create', 'namespace', ns])).code, 0);
    assert.equal((await c.kubectl(['create', 'serviceaccount', 'sleep', '-n', 'sample'])).code, 0);
  });

  after(async () => {
    controllers.stop();
    await c.close();
  });

  it('every namespace gets a default service account', async () => {
    await until('sample/default', async () => ((await c.kubectl(['get', 'sa', 'default', '-n', 'sample'])).code === 0 ? true : undefined));
  });

  it('kubectl create token issues a bound token with the requested duration; too short is refused as kube-apiserver does', async () => {
    const made = await c.kubectl(['create', 'token', 'sleep', '-n', 'sample', '--duration=10m']);
    assert.equal(made.code, 0, made.stderr);
    sleepToken = made.stdout.trim();
    const claims = claimsOf(sleepToken);
    assert.equal(claims.sub, 'system:serviceaccount:sample:sleep');
    assert.equal(Number(claims.exp) - Number(claims.iat), 600);
    const short = await c.kubectl(['create', 'token', 'sleep', '-n', 'sample', '--duration=1m']);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /spec\.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes/);
    const missing = await c.kubectl(['create', 'token', 'nobody', '-n', 'sample']);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
  });

  it('auth whoami and auth can-i answer truthfully for the token', async () => {
    const who = await c.kubectl(['auth', 'whoami', '-o', 'json'], { token: sleepToken });
    assert.equal(who.code, 0, who.stderr);
    const info = (JSON.parse(who.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
    assert.equal(info.username, 'system:serviceaccount:sample:sleep');
    assert.deepEqual(info.groups, ['system:serviceaccounts', 'system:serviceaccounts:sample', 'system:authenticated']);
    const exec = await c.kubectl(['auth', 'can-i', 'create', 'pods/exec', '-n', 'sample'], { token: sleepToken });
    assert.equal(exec.code, 1);
    assert.equal(exec.stdout.trim(), 'no');
    const list = await c.kubectl(['auth', 'can-i', '--list', '-n', 'sample'], { token: sleepToken });
    assert.match(list.stdout, /selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/);
    assert.doesNotMatch(list.stdout, /\*\.\*/);
  });

  it('the token reads no Secret in istio-system and execs into no pod: 403 with kube-apiserver\'s message', async () => {
    const secrets = await c.kubectl(['get', 'secrets', '-n', 'istio-system'], { token: sleepToken });
    assert.equal(secrets.stderr.trim(), 'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:sample:sleep" cannot list resource "secrets" in API group "" in the namespace "istio-system"');
    const one = await c.kubectl(['get', 'secret', 'istio-remote-secret-cluster-2', '-n', 'istio-system'], { token: sleepToken });
    assert.match(one.stderr, /secrets "istio-remote-secret-cluster-2" is forbidden: User "system:serviceaccount:sample:sleep" cannot get resource "secrets" in API group "" in the namespace "istio-system"/);
    const exec = await c.request('POST', '/api/v1/namespaces/sample/pods/x/exec?command=env', { token: sleepToken });
    assert.equal(exec.status, 403);
    assert.equal((exec.json() as { message: string }).message, 'pods "x" is forbidden: User "system:serviceaccount:sample:sleep" cannot create resource "pods/exec" in API group "" in the namespace "sample"');
    assert.equal((await c.request('GET', '/api/v1/pods', { token: 'not-a-token' })).status, 401);
  });

  it('TokenReview authenticates a token for its audiences', async () => {
    const review = async (token: string, audiences?: string[]) =>
      (
        await c.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } },
        })
      ).json() as { status: { authenticated?: boolean; user: { username?: string; uid?: string }; audiences?: string[]; error?: string } };
    const ok = await review(sleepToken);
    assert.equal(ok.status.authenticated, true);
    assert.equal(ok.status.user.username, 'system:serviceaccount:sample:sleep');
    assert.deepEqual(ok.status.audiences, ['https://kubernetes.default.svc.cluster.local']);
    const wrongAudience = await review(sleepToken, ['istio-ca']);
    assert.equal(wrongAudience.status.authenticated, undefined);
    assert.match(String(wrongAudience.status.error), /invalid for the target audiences \["istio-ca"\]/);
    const forCa = (await c.kubectl(['create', 'token', 'sleep', '-n', 'sample', '--audience=istio-ca'])).stdout.trim();
    assert.deepEqual((await review(forCa, ['istio-ca'])).status.audiences, ['istio-ca']);
    assert.match(String((await review('garbage')).status.error), /invalid bearer token/);
    // Creating a TokenReview is a right of its own (system:auth-delegator).
    const denied = await c.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { token: sleepToken, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: sleepToken } } });
    assert.equal(denied.status, 403);
    // A deleted and recreated account invalidates its tokens.
    await c.kubectl(['delete', 'sa', 'sleep', '-n', 'sample']);
    await c.kubectl(['create', 'sa', 'sleep', '-n', 'sample']);
    assert.match(String((await review(sleepToken)).status.error), /service account UID .* does not match/);
    sleepToken = (await c.kubectl(['create', 'token', 'sleep', '-n', 'sample', '--duration=10m'])).stdout.trim();
  });

  it('pods get the default service account; a pod naming a missing one is refused', async () => {
    const pod = (sa?: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p-${sa ?? 'default'}\nspec:\n${sa ? `  serviceAccountName: ${sa}\n` : ''}  containers:\n  - name: c\n    image: busybox\n`;
    await until('sample/default', async () => ((await c.kubectl(['get', 'sa', 'default', '-n', 'sample'])).code === 0 ? true : undefined));
    assert.equal((await c.kubectl(['apply', '-n', 'sample', '-f', '-'], { input: pod() })).code, 0);
    assert.equal((await c.kubectl(['get', 'pod', 'p-default', '-n', 'sample', '-o', 'jsonpath={.spec.serviceAccountName}'])).stdout, 'default');
    const refused = await c.kubectl(['apply', '-n', 'sample', '-f', '-'], { input: pod('ghost') });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /pods "p-ghost" is forbidden: error looking up service account sample\/ghost: serviceaccount "ghost" not found/);
  });

  it('a legacy token Secret is filled by the token controller and its token authenticates', async () => {
    const secret = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: sleep-token\n  annotations:\n    kubernetes.io/service-account.name: sleep\ntype: kubernetes.io/service-account-token\n';
    assert.equal((await c.kubectl(['apply', '-n', 'sample', '-f', '-'], { input: secret })).code, 0);
    const data = await until('the token', async () => {
      const out = await c.kubectl(['get', 'secret', 'sleep-token', '-n', 'sample', '-o', 'json']);
      const d = (JSON.parse(out.stdout) as { data?: Record<string, string> }).data;
      return d?.token ? d : undefined;
    });
    assert.equal(Buffer.from(data.namespace!, 'base64').toString(), 'sample');
    assert.equal(Buffer.from(data['ca.crt']!, 'base64').toString(), c.caPem);
    const legacy = Buffer.from(data.token!, 'base64').toString();
    const who = await c.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { token: legacy });
    assert.equal(who.stdout, 'system:serviceaccount:sample:sleep');
    await c.kubectl(['delete', 'secret', 'sleep-token', '-n', 'sample']);
    assert.equal((await c.request('GET', '/api', { token: legacy })).status, 401);
  });

  it('the admin impersonates; the account may not', async () => {
    const as = await c.kubectl(['get', 'secrets', '-n', 'istio-system', '--as=system:serviceaccount:sample:sleep']);
    assert.match(as.stderr, /secrets is forbidden: User "system:serviceaccount:sample:sleep" cannot list resource "secrets"/);
    assert.equal((await c.kubectl(['auth', 'can-i', 'list', 'secrets', '-n', 'istio-system', '--as=system:serviceaccount:sample:sleep'])).stdout.trim(), 'no');
    const escalate = await c.kubectl(['get', 'secrets', '-n', 'istio-system', '--as=admin', '--as-group=system:masters'], { token: sleepToken });
    assert.match(escalate.stderr, /users "admin" is forbidden: User "system:serviceaccount:sample:sleep" cannot impersonate resource "users" in API group "" at the cluster scope/);
  });
});
