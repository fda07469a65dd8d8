// Proxyless gRPC: the real, unmodified @grpc/grpc-js-xds client in this test process, bootstrapped at
// cluster-1's control plane, calls a gRPC service whose v1 runs in cluster-1 and v2 in cluster-2, with
// no sidecar anywhere. The DestinationRule + VirtualService split (80/20, then 50/50) must hold for it
// as for sidecars, judged by a chi-square test.
// grpc-js-xds reads its bootstrap once per process (GRPC_XDS_BOOTSTRAP), so this test has its own file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { register as registerXds } from '@grpc/grpc-js-xds';
import { sayHello } from '../../src/local/apps/grpc-greeter.js';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';
import { MeshworkEnv, run } from '../helpers/meshwork.js';
import { MESHWORK_BIN, REPO_ROOT } from '../helpers/paths.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const LOCAL_VERSION = { 'cluster-1': 'v1', 'cluster-2': 'v2' } as const;
const NS = 'grpc-demo';
const TARGET = `xds:///greeter.${NS}.svc.cluster.local:7070`;
const EXAMPLE = join(REPO_ROOT, 'examples', 'grpc-greeter');
const N = 1000;
const ANSWER = /^Hello proxyless from version: (v\d+), instance: (\S+)$/;

interface Split {
  byVersion: Record<string, number>;
  byInstance: Record<string, number>;
  failures: string[];
}

const VS_50_50 = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: greeter
spec:
  hosts:
  - greeter
  http:
  - route:
    - destination:
        host: greeter
        subset: v1
      weight: 50
    - destination:
        host: greeter
        subset: v2
      weight: 50
`;

/** Chi-square of the v1/v2 counts against `weights` ([v1, v2]). */
function fits(split: Split, weights: [number, number]): { pass: boolean; pValue: number } {
  return chiSquareTest([split.byVersion.v1 ?? 0, split.byVersion.v2 ?? 0], weights, SUITE_ALPHA);
}

describe('a proxyless gRPC client (grpc-js-xds) gets the mesh\'s traffic split', { timeout: 300_000 }, () => {
  const env = new MeshworkEnv(70);
  const podOf: Record<string, string> = {};
  let client: grpc.Client | undefined;

  async function meshworkOk(args: string[], timeoutMs = 120_000): Promise<void> {
    const res = await run(process.execPath, [MESHWORK_BIN, ...args, '--kubeconfig', env.kubeconfig], { timeoutMs });
    assert.equal(res.code, 0, `meshwork ${args.join(' ')}: ${res.stderr}${res.stdout}`);
  }

  async function waitReady(context: string, selector: string): Promise<string> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const out = await env.kubectlOk(context, ['get', 'pods', '-n', NS, '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
      const pods = out.split('\n').filter(Boolean);
      if (pods.length === 1 && pods[0].endsWith('=True')) return pods[0].split('=')[0];
      if (Date.now() > deadline) throw new Error(`${context}: pods ${selector} in ${NS} not ready: ${out}`);
      await sleep(200);
    }
  }

  async function send(count: number): Promise<Split> {
    if (!client) throw new Error('no xDS client: before() failed');
    const split: Split = { byVersion: {}, byInstance: {}, failures: [] };
    for (let i = 0; i < count; i++) {
      try {
        const { message } = await sayHello(client, 'proxyless');
        const m = ANSWER.exec(message);
        if (!m) {
          split.failures.push(`unexpected answer ${JSON.stringify(message)}`);
          continue;
        }
        split.byVersion[m[1]] = (split.byVersion[m[1]] ?? 0) + 1;
        split.byInstance[m[2]] = (split.byInstance[m[2]] ?? 0) + 1;
      } catch (err) {
        split.failures.push((err as Error).message);
      }
    }
    return split;
  }

  before(async () => {
    // The bootstrap below speaks plaintext xDS (insecure channel creds): the control plane serves it on request.
    await env.upWithControlPlanes(CONTEXTS, ['--plaintext-xds-port', '15010']);
    await meshworkOk(['create-mesh', ...CONTEXTS]);
    for (const ctx of CONTEXTS) {
      // Not labelled for injection: a proxyless client talks to the pods themselves.
      await env.kubectlOk(ctx, ['create', 'namespace', NS]);
      await env.kubectlOk(ctx, ['apply', '-n', NS, '-f', join(EXAMPLE, 'greeter.yaml'), '-l', 'service=greeter']);
      await env.kubectlOk(ctx, ['apply', '-n', NS, '-f', join(EXAMPLE, 'greeter.yaml'), '-l', `version=${LOCAL_VERSION[ctx]}`]);
    }
    await env.kubectlOk('cluster-1', ['apply', '-n', NS, '-f', join(EXAMPLE, 'greeter-destinationrule-virtualservice.yaml')]);
    for (const ctx of CONTEXTS) podOf[ctx] = await waitReady(ctx, `app=greeter,version=${LOCAL_VERSION[ctx]}`);

    const istiodIp = (await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'istio-system', '-l', 'app=istiod', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    assert.match(istiodIp, /^127\.70\.\d+\.\d+$/);
    // The bootstrap Istio's agent writes for proxyless gRPC: a sidecar-shaped node id, GENERATOR=grpc.
    const bootstrap = join(env.stateDir, 'grpc-bootstrap.json');
    writeFileSync(bootstrap, JSON.stringify({
      xds_servers: [{ server_uri: `${istiodIp}:15010`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: {
        id: `sidecar~127.0.0.1~greeter-client.${NS}~${NS}.svc.cluster.local`,
        metadata: { NAMESPACE: NS, CLUSTER_ID: 'cluster-1', GENERATOR: 'grpc' },
        locality: {},
      },
    }, null, 2));
    process.env.GRPC_XDS_BOOTSTRAP = bootstrap;
    registerXds();
    client = new grpc.Client(TARGET, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await env.cleanup();
  });

  test('the client resolves the service through xDS and reaches both clusters\' pods', async () => {
    // Cluster-2's endpoints reach cluster-1's control plane through the remote secret: wait for them.
    const deadline = Date.now() + 30_000;
    let seen: Split;
    do {
      seen = await send(50);
      if ((seen.byVersion.v1 ?? 0) > 0 && (seen.byVersion.v2 ?? 0) > 0) break;
      await sleep(200);
    } while (Date.now() < deadline);
    assert.ok(seen.byVersion.v1 && seen.byVersion.v2, `not both versions: ${JSON.stringify(seen.byVersion)}; failures: ${seen.failures.slice(0, 3).join('; ')}`);
  });

  test(`${N} calls follow the VirtualService's 80/20, v1 from cluster-1 and v2 from cluster-2`, async (t) => {
    const split = await send(N);
    t.diagnostic(`80/20: ${JSON.stringify(split.byInstance)}`);
    assert.deepEqual(split.failures, []);
    assert.deepEqual(Object.keys(split.byVersion).sort(), ['v1', 'v2']);
    assert.deepEqual(Object.keys(split.byInstance).sort(), [podOf['cluster-1'], podOf['cluster-2']].sort());
    assert.equal(split.byInstance[podOf['cluster-1']], split.byVersion.v1);
    assert.equal(split.byInstance[podOf['cluster-2']], split.byVersion.v2);
    const r = fits(split, [80, 20]);
    assert.ok(r.pass, `${JSON.stringify(split.byVersion)} is not 80/20 (p=${r.pValue.toExponential(2)})`);
  });

  test('a 50/50 VirtualService reaches the client within seconds and the split follows it', async (t) => {
    const applied = Date.now();
    await env.kubectlOk('cluster-1', ['apply', '-n', NS, '-f', '-'], VS_50_50);
    // Small batches until one is clearly no longer 80/20 (100 calls at 50/50: p around 1e-13 against 80/20).
    let batch: Split;
    do {
      batch = await send(100);
      assert.deepEqual(batch.failures, []);
      if (!fits(batch, [80, 20]).pass) break;
    } while (Date.now() - applied < 10_000);
    const tookMs = Date.now() - applied;
    assert.ok(tookMs < 10_000, `the split still looked like 80/20 ${tookMs} ms after the apply: ${JSON.stringify(batch.byVersion)}`);

    const split = await send(N);
    t.diagnostic(`50/50 seen ${tookMs} ms after the apply; then ${JSON.stringify(split.byVersion)}`);
    assert.deepEqual(split.failures, []);
    const even = fits(split, [50, 50]);
    const old = fits(split, [80, 20]);
    assert.ok(even.pass, `${JSON.stringify(split.byVersion)} is not 50/50 (p=${even.pValue.toExponential(2)})`);
    assert.ok(!old.pass, `${JSON.stringify(split.byVersion)} still fits 80/20 (p=${old.pValue.toExponential(2)})`);
  });

  test('no client of either control plane ever NACKed', async () => {
    await env.assertDataPlaneAcceptedEverything(CONTEXTS, { proxylessOnly: true });
  });
});
