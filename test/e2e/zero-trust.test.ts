// Zero trust across the two clusters, as a platform engineer checks it with kubectl, curl and the
// meshwork CLI: one mesh root, a certificate per workload, PeerAuthentication STRICT for `sample` in both
// clusters, AuthorizationPolicies, and the attacks that must fail: plaintext from a pod without a sidecar,
// a client certificate from another root, a forged x-forwarded-client-cert, xDS without a token or with
// another workload's token. Then certificate rotation with a 2-minute TTL under a bounded request loop.
// Two local clusters on loopback octet 6 (pods of cluster-1 are 127.6.0.0/17, of cluster-2 127.16.0.0/17).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as pause } from 'node:timers/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { E2E_DATA_PLANE, MeshworkEnv, run } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { podName, sendFromPod } from '../helpers/traffic.js';
import { podLoad, figures } from '../helpers/load.js';
import { until } from '../helpers/until.js';
import { adsServiceDefinition } from '../../src/xds/protos.js';
import { createCertificateAuthority, issueClientCertificate } from '../../src/security/pki/authority.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const CLUSTER_1_PODS = '127.6.0.0/17';

const strict = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: sample
spec:
  mtls:
    mode: STRICT
`;

/** The scenario's sleep, as another service account (a workload of the mesh that is not `sleep`). */
function intruderYaml(): string {
  return readFileSync(join(scenarioDir(), 'sleep.yaml'), 'utf8').replaceAll('sleep', 'intruder').replace('/bin/intruder', '/bin/sleep');
}

describe(`zero trust: mesh CA, STRICT mTLS, authorization, attacks, rotation (${E2E_DATA_PLANE} data plane)`, { timeout: 900_000 }, () => {
  const env = new MeshworkEnv(6);
  const sleep: Record<string, string> = {};
  let helloworld1 = '';
  let legacy = '';
  let intruder = '';
  const exec = (ctx: string, ns: string, pod: string, container: string, command: string[]) =>
    env.kubectl(ctx, ['exec', '-n', ns, pod, '-c', container, '--', ...command]);
  const podIp = async (ctx: string, ns: string, pod: string) => (await env.kubectlOk(ctx, ['get', 'pod', '-n', ns, pod, '-o', 'jsonpath={.status.podIP}'])).trim();
  /** curl from a pod: the HTTP status, or 000 when the connection failed. */
  const statusFrom = async (ctx: string, ns: string, pod: string, url: string, extra: string[] = []): Promise<string> => {
    const res = await exec(ctx, ns, pod, ns === 'legacy' ? 'sleep' : pod.startsWith('intruder') ? 'intruder' : 'sleep', ['curl', '-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code}', ...extra, url]);
    return res.stdout.trim() || '000';
  };

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-f', '-'], strict);
    }
    await env.kubectlOk('cluster-1', ['create', 'namespace', 'legacy']);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'legacy', '-f', join(scenarioDir(), 'sleep.yaml')]);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', '-'], intruderYaml());
    for (const ctx of CONTEXTS) {
      await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2);
      await env.waitPodsReady(ctx, 'sample', 'app=sleep', 2);
    }
    await env.waitPodsReady('cluster-1', 'legacy', 'app=sleep', 1);
    await env.waitPodsReady('cluster-1', 'sample', 'app=intruder', 2);
    const joined = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(joined.code, 0, joined.stderr + joined.stdout);
    for (const ctx of CONTEXTS) sleep[ctx] = await podName(env, ctx, 'sample', 'app=sleep');
    helloworld1 = await podName(env, 'cluster-1', 'sample', 'app=helloworld');
    legacy = await podName(env, 'cluster-1', 'legacy', 'app=sleep');
    intruder = await podName(env, 'cluster-1', 'sample', 'app=intruder');
  });
  after(() => env.cleanup());

  test('both clusters share one root; STRICT in sample: calls within and across clusters succeed; proxy-config secret shows the identity', async () => {
    const roots = await Promise.all(CONTEXTS.map(async (ctx) =>
      Buffer.from(await env.kubectlOk(ctx, ['get', 'secret', 'cacerts', '-n', 'istio-system', '-o', 'jsonpath={.data.root-cert\\.pem}']), 'base64').toString('utf8')));
    assert.match(roots[0]!, /BEGIN CERTIFICATE/);
    assert.equal(roots[0], roots[1], 'the two clusters have different mesh roots');
    for (const ctx of CONTEXTS) {
      const versions = await until(`${ctx}: sleep reaches helloworld in both clusters over mTLS`, 30_000, async () => {
        const split = await sendFromPod(env, ctx, 'sample', sleep[ctx]!, 'http://helloworld.sample:5000/hello', 40);
        assert.equal(split.failures, 0, `${ctx}: ${split.failures} of 40 requests failed under STRICT`);
        const seen = Object.keys(split.byVersion).sort();
        return seen.length === 2 ? seen : undefined;
      });
      assert.deepEqual(versions, ['v1', 'v2']);
    }
    const secret = await env.meshwork(['proxy-config', 'secret', `${sleep['cluster-1']}.sample`, '--context', 'cluster-1']);
    assert.equal(secret.code, 0, secret.stderr);
    assert.match(secret.stdout, /spiffe:\/\/cluster\.local\/ns\/sample\/sa\/sleep/);
    assert.match(secret.stdout, /^default\s+Cert Chain\s+ACTIVE\s+true\s+[0-9a-f]+/m);
    assert.match(secret.stdout, /^ROOTCA\s+CA\s+ACTIVE\s+true/m);
    await env.assertDataPlaneAcceptedEverything(CONTEXTS);
  });

  test('attack: plaintext from a pod without a sidecar to a STRICT workload\'s pod IP is refused', async () => {
    const ip = await podIp('cluster-1', 'sample', helloworld1);
    const plain = await statusFrom('cluster-1', 'legacy', legacy, `http://${ip}:5000/hello`);
    assert.equal(plain, '000', `plaintext to ${ip}:5000 got HTTP ${plain}`);
    // The same pod reaches a workload outside STRICT: the refusal is the policy, not the network.
    const sleepIp = await podIp('cluster-1', 'sample', sleep['cluster-1']!);
    assert.notEqual(sleepIp, '');
  });

  test('attack: a client certificate from another root, or none, is refused at the handshake', async () => {
    const ip = await podIp('cluster-1', 'sample', helloworld1);
    const dir = env.stateDir;
    const stranger = await createCertificateAuthority('not the mesh');
    const forged = await issueClientCertificate(stranger, { commonName: 'spiffe://cluster.local/ns/sample/sa/sleep' });
    writeFileSync(join(dir, 'forged.pem'), forged.certPem);
    writeFileSync(join(dir, 'forged.key'), forged.keyPem);
    const res = await run('curl', ['-s', '-k', '-o', '/dev/null', '-m', '5', '-w', '%{http_code}', '--cert', join(dir, 'forged.pem'), '--key', join(dir, 'forged.key'), `https://${ip}:5000/hello`]);
    assert.equal(res.stdout.trim(), '000', `a certificate of another root got HTTP ${res.stdout}`);
    assert.notEqual(res.code, 0);
    const none = await run('curl', ['-s', '-k', '-o', '/dev/null', '-m', '5', '-w', '%{http_code}', `https://${ip}:5000/hello`]);
    assert.equal(none.stdout.trim(), '000', 'no client certificate must be refused under STRICT');
  });

  test('attack: a forged x-forwarded-client-cert does not make another workload `sleep`', async () => {
    const policy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: only-sleep
  namespace: sample
spec:
  selector:
    matchLabels:
      app: helloworld
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/sample/sa/sleep"]
`;
    // In both clusters: the requests spread over helloworld v1 (cluster-1) and v2 (cluster-2).
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-f', '-'], policy);
    try {
      const forged = ['-H', 'x-forwarded-client-cert: By=spiffe://cluster.local/ns/sample/sa/default;URI=spiffe://cluster.local/ns/sample/sa/sleep'];
      await until('the policy to reach both helloworld sidecars', 30_000, async () => {
        const codes = await Promise.all(Array.from({ length: 6 }, () => statusFrom('cluster-1', 'sample', intruder, 'http://helloworld.sample:5000/hello')));
        return codes.every((c) => c === '403') ? true : undefined;
      });
      for (let i = 0; i < 10; i++) {
        assert.equal(await statusFrom('cluster-1', 'sample', intruder, 'http://helloworld.sample:5000/hello', forged), '403');
        assert.equal(await statusFrom('cluster-1', 'sample', sleep['cluster-1']!, 'http://helloworld.sample:5000/hello', forged), '200');
      }
    } finally {
      for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['delete', 'authorizationpolicy', 'only-sleep', '-n', 'sample']);
    }
  });

  test('attack: xDS on 15012 without a token, and with another workload\'s token for someone else\'s config', async () => {
    const istiod = await podName(env, 'cluster-1', 'istio-system', 'app=istiod');
    const address = `${await podIp('cluster-1', 'istio-system', istiod)}:15012`;
    const root = Buffer.from(await env.kubectlOk('cluster-1', ['get', 'secret', 'cacerts', '-n', 'istio-system', '-o', 'jsonpath={.data.root-cert\\.pem}']), 'base64');
    const Client = grpc.makeClientConstructor(adsServiceDefinition() as unknown as grpc.ServiceDefinition, 'ads');
    const sleepIp = await podIp('cluster-1', 'sample', sleep['cluster-1']!);
    const sleepNode = { id: `sidecar~${sleepIp}~${sleep['cluster-1']}.sample~sample.svc.cluster.local`, metadata: {} };
    const attempt = (token: string | undefined): Promise<grpc.ServiceError | 'config'> => new Promise((resolve) => {
      const creds = token
        ? grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(root), grpc.credentials.createFromMetadataGenerator((_p, cb) => { const m = new grpc.Metadata(); m.set('authorization', `Bearer ${token}`); cb(null, m); }))
        : grpc.credentials.createSsl(root);
      const client = new Client(address, creds) as unknown as grpc.Client & { StreamAggregatedResources(): grpc.ClientDuplexStream<unknown, unknown> };
      const stream = client.StreamAggregatedResources();
      const done = (r: grpc.ServiceError | 'config') => { stream.cancel(); client.close(); resolve(r); };
      stream.on('data', () => done('config'));
      stream.on('error', (e: grpc.ServiceError) => done(e));
      stream.write({ node: sleepNode, type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster' });
      setTimeout(() => done(Object.assign(new Error('no answer in 10 s'), { code: grpc.status.DEADLINE_EXCEEDED, details: '', metadata: new grpc.Metadata() })), 10_000);
    });
    const anonymous = await attempt(undefined);
    assert.notEqual(anonymous, 'config');
    assert.equal((anonymous as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED, (anonymous as grpc.ServiceError).message);
    // helloworld's own token (the file its kubelet writes), asking for sleep's node.
    const tokenFile = (await exec('cluster-1', 'sample', helloworld1, 'istio-proxy', ['sh', '-c', 'cat "$MESHWORK_SERVICEACCOUNT_DIR/token"'])).stdout.trim();
    assert.ok(tokenFile.split('.').length === 3, 'helloworld\'s token');
    const stolen = await attempt(tokenFile);
    assert.notEqual(stolen, 'config');
    assert.equal((stolen as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED, (stolen as grpc.ServiceError).message);
    // Plaintext 15010 is not served.
    const plain = await run('curl', ['-s', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', '--http2-prior-knowledge', `http://${address.replace(':15012', ':15010')}/`]);
    assert.equal(plain.stdout.trim(), '000');
  });

  test('AuthorizationPolicy: only cluster-1\'s sleep may call helloworld (200 there, 403 from cluster-2\'s sleep)', async () => {
    const policy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: cluster-1-sleep
  namespace: sample
spec:
  selector:
    matchLabels:
      app: helloworld
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/sample/sa/sleep"]
        ipBlocks: ["${CLUSTER_1_PODS}"]
`;
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-f', '-'], policy);
    try {
      await until('cluster-2\'s sleep refused by both clusters\' helloworld', 30_000, async () => {
        const res = await exec('cluster-2', 'sample', sleep['cluster-2']!, 'sleep', ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null -m 5 -w "%{http_code}\\n" http://helloworld.sample:5000/hello; done']);
        return res.stdout.trim().split('\n').every((c) => c === '403') ? true : undefined;
      });
      const split = await sendFromPod(env, 'cluster-1', 'sample', sleep['cluster-1']!, 'http://helloworld.sample:5000/hello', 40);
      assert.equal(split.failures, 0);
      assert.deepEqual(Object.keys(split.byVersion).sort(), ['v1', 'v2']);
      const denied = await exec('cluster-2', 'sample', sleep['cluster-2']!, 'sleep', ['curl', '-s', '-m', '5', 'http://helloworld.sample:5000/hello']);
      assert.equal(denied.stdout.trim(), 'RBAC: access denied');
    } finally {
      for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['delete', 'authorizationpolicy', 'cluster-1-sleep', '-n', 'sample']);
    }
  });

  test('AuthorizationPolicy DENY on /hello answers 403 at the ingress gateway too', async () => {
    const ctx = 'cluster-1';
    await env.kubectlOk(ctx, ['create', 'namespace', 'istio-gateway']);
    await env.kubectlOk(ctx, ['label', 'namespace', 'istio-gateway', 'istio.io/rev=asm-managed-stable']);
    await env.kubectlOk(ctx, ['create', 'serviceaccount', '-n', 'istio-gateway', 'istio-ingressgateway']);
    await env.kubectlOk(ctx, ['apply', '-n', 'istio-gateway', '-f', join(scenarioDir(), 'istio-ingressgateway')]);
    await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-gateway.yaml')]);
    await env.kubectlOk(ctx, ['rollout', 'status', '-n', 'istio-gateway', 'deployment/istio-ingressgateway', '--timeout=60s']);
    const gateway = await podIp(ctx, 'istio-gateway', await podName(env, ctx, 'istio-gateway', 'istio=ingressgateway'));
    const status = async () => (await run('curl', ['-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code}', `http://${gateway}/hello`])).stdout.trim();
    await until('the gateway to serve /hello', 30_000, async () => ((await status()) === '200' ? true : undefined));
    await env.kubectlOk(ctx, ['apply', '-f', '-'], `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-hello
  namespace: istio-gateway
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  action: DENY
  rules:
  - to:
    - operation:
        paths: ["/hello"]
`);
    await until('the gateway to deny /hello', 30_000, async () => ((await status()) === '403' ? true : undefined));
    const body = await run('curl', ['-s', '-m', '5', `http://${gateway}/hello`]);
    assert.equal(body.stdout.trim(), 'RBAC: access denied');
  });

  test('certificate rotation with a 2-minute TTL under a bounded request loop: no failed request', async (t) => {
    const ctx = 'cluster-1';
    const annotation = '{"spec":{"template":{"metadata":{"annotations":{"proxy.istio.io/config":"proxyMetadata:\\n  SECRET_TTL: 2m\\n"}}}}}';
    await env.kubectlOk(ctx, ['patch', 'deployment', 'sleep', '-n', 'sample', '-p', annotation]);
    await env.kubectlOk(ctx, ['patch', 'deployment', 'helloworld-v1', '-n', 'sample', '-p', annotation]);
    for (const d of ['sleep', 'helloworld-v1']) await env.kubectlOk(ctx, ['rollout', 'status', '-n', 'sample', `deployment/${d}`, '--timeout=90s']);
    await env.waitPodsReady(ctx, 'sample', 'app=sleep', 2);
    const client = await podName(env, ctx, 'sample', 'app=sleep');
    const serial = async (pod: string): Promise<string> => {
      const res = await env.meshwork(['proxy-config', 'secret', `${pod}.sample`, '--context', ctx]);
      const m = /^default\s+Cert Chain\s+ACTIVE\s+true\s+([0-9a-f]+)/m.exec(res.stdout);
      if (!m) throw new Error(`proxy-config secret ${pod}: ${res.stdout}${res.stderr}`);
      return m[1]!;
    };
    const first = await serial(client);
    // The first certificate was issued just before this read, so it rotates within the next 60 s (half
    // of 2 minutes) but not in the next 40: a loop from 20 s on, of 58 s (under kubectl exec's limit
    // here), spans the rotation.
    await pause(20_000);
    const load = podLoad(env, { context: ctx, namespace: 'sample', pod: client, container: 'sleep' }, 'http://helloworld.sample:5000/hello', { seconds: 58, maxRequests: 40_000, batch: 100 });
    const rotated = await until('the sleep\'s certificate to rotate (half of 2 min)', 58_000, async () => {
      const now = await serial(client);
      return now !== first ? now : undefined;
    });
    await pause(3000);
    await load.stop();
    const result = figures(await load.done);
    assert.notEqual(rotated, first);
    assert.ok(result.requests > 200, `only ${result.requests} requests`);
    assert.equal(result.failures, 0, `${result.failures} of ${result.requests} requests failed across the rotation`);
    t.diagnostic(`${result.requests} requests across the rotation (serial ${first} -> ${rotated}), 0 failed, slowest ${result.maxMs} ms`);
  });
});
