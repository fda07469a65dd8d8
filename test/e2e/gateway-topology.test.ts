// How many proxies a gateway trusts, as an Istio operator says it: meshConfig.defaultConfig (ConfigMap
// istio-<revision>, key mesh) for every gateway, the pod annotation proxy.istio.io/config for one.
// Through the real chain: injector (PROXY_CONFIG) -> agent (node metadata PROXY_CONFIG) -> control
// plane -> the listeners the gateway's data plane holds. An annotation that does not parse leaves the
// pod running with the mesh default, and the agent's log and analyze (IST0125) say so.
// (What the data planes do with xff_num_trusted_hops is the conformance table's: src/conformance.)
// One local cluster on loopback octet 190, which the chaos suite also uses: the runner runs suites one
// after another.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { E2E_DATA_PLANE, MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { until } from '../helpers/until.js';

const CTX = 'cluster-1';
const NS = 'istio-gateway';
const MESH_CONFIG = `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio-asm-managed-stable
  namespace: istio-system
data:
  mesh: |
    defaultConfig:
      gatewayTopology:
        numTrustedProxies: 1
`;

describe(`gateway topology from meshConfig and proxy.istio.io/config (${E2E_DATA_PLANE} data plane)`, { timeout: 180_000 }, () => {
  const env = new MeshworkEnv(190);

  /** The scenario's gateway Deployment, renamed, with the pod annotation (the Service and selector labels kept). */
  const gatewayDeployment = (name: string, annotation?: string): string => {
    const docs = parseAllDocuments(readFileSync(join(scenarioDir(), 'istio-ingressgateway', 'deployment.yaml'), 'utf8')).map((d) => d.toJSON() as Record<string, any>);
    const deployment = docs.find((d) => d?.kind === 'Deployment')!;
    deployment.metadata.name = name;
    deployment.spec.selector.matchLabels.gateway = name;
    deployment.spec.template.metadata.labels.gateway = name;
    if (annotation !== undefined) deployment.spec.template.metadata.annotations['proxy.istio.io/config'] = annotation;
    return JSON.stringify(deployment);
  };
  const podOf = async (gateway: string): Promise<string> =>
    (await env.kubectlOk(CTX, ['get', 'pods', '-n', NS, '-l', `gateway=${gateway}`, '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  /** xff_num_trusted_hops and forward_client_cert_details of the HTTP listeners the gateway's proxy holds. */
  const heldTopology = async (pod: string): Promise<Array<{ hops: number; fccd: string }>> => {
    const res = await env.meshwork(['proxy-config', pod, '-n', NS, '--context', CTX, '--type', 'listeners', '-o', 'json']);
    if (res.code !== 0) throw new Error(`proxy-config ${pod}: ${res.stderr}`);
    if (!/from its proxy/.test(res.stderr)) throw new Error(`proxy-config ${pod} did not read the proxy: ${res.stderr}`);
    const out: Array<{ hops: number; fccd: string }> = [];
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(visit);
      if (typeof v !== 'object' || v === null) return;
      const o = v as Record<string, unknown>;
      if (typeof o.stat_prefix === 'string' && 'use_remote_address' in o) out.push({ hops: Number(o.xff_num_trusted_hops ?? 0), fccd: String(o.forward_client_cert_details ?? '') });
      else Object.values(o).forEach(visit);
    };
    visit(JSON.parse(res.stdout));
    return out;
  };

  before(async () => {
    const up = await env.up(1);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const install = await env.meshwork(['install', '--context', CTX, '--timeout', '90', '--data-plane', E2E_DATA_PLANE], 120_000);
    assert.equal(install.code, 0, install.stderr + install.stdout);
    await env.kubectlOk(CTX, ['apply', '-f', '-'], MESH_CONFIG);
    await env.kubectlOk(CTX, ['create', 'namespace', NS]);
    await env.kubectlOk(CTX, ['label', 'namespace', NS, 'istio.io/rev=asm-managed-stable']);
    await env.kubectlOk(CTX, ['create', 'namespace', 'sample']);
    await env.kubectlOk(CTX, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld.yaml'), '-l', 'service=helloworld']);
    await env.kubectlOk(CTX, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-gateway.yaml')]);
    // The injector reads the mesh config from a watch: a server-side dry run shows when it has it.
    const probePod = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe', annotations: { 'inject.istio.io/templates': 'gateway' } }, spec: { containers: [{ name: 'istio-proxy', image: 'auto' }] } });
    await until('the injector to have the mesh config', 20_000, async () => {
      const pod = JSON.parse(await env.kubectlOk(CTX, ['create', '-n', NS, '--dry-run=server', '-o', 'json', '-f', '-'], probePod)) as { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } };
      const value = pod.spec.containers[0]?.env?.find((e) => e.name === 'PROXY_CONFIG')?.value;
      return value === '{"gatewayTopology":{"numTrustedProxies":1}}' ? true : undefined;
    });
    // The gateway pods run as the scenario's gateway service account: without it admission refuses them.
    await env.kubectlOk(CTX, ['create', 'serviceaccount', '-n', NS, 'istio-ingressgateway']);
    await env.kubectlOk(CTX, ['apply', '-n', NS, '-f', '-'], gatewayDeployment('gw-default'));
    await env.kubectlOk(CTX, ['apply', '-n', NS, '-f', '-'], gatewayDeployment('gw-annotated', '{"gatewayTopology":{"numTrustedProxies":2,"forwardClientCertDetails":"ALWAYS_FORWARD_ONLY"}}'));
    await env.kubectlOk(CTX, ['apply', '-n', NS, '-f', '-'], gatewayDeployment('gw-invalid', '{"gatewayTopology":{"numTrustedProxies":2}'));
    for (const name of ['gw-default', 'gw-annotated', 'gw-invalid']) await env.kubectlOk(CTX, ['rollout', 'status', '-n', NS, `deployment/${name}`, '--timeout=60s']);
  });

  after(() => env.cleanup());

  test('the mesh default (numTrustedProxies 1) reaches a gateway without the annotation; the annotation wins for its pod', async () => {
    const expectations = { 'gw-default': { hops: 1, fccd: 'SANITIZE_SET' }, 'gw-annotated': { hops: 2, fccd: 'ALWAYS_FORWARD_ONLY' } } as const;
    for (const [gateway, want] of Object.entries(expectations)) {
      const pod = await podOf(gateway);
      const held = await until(`${gateway}'s listeners`, 20_000, async () => {
        const listeners = await heldTopology(pod);
        return listeners.length > 0 ? listeners : undefined;
      });
      assert.deepEqual(held, held.map(() => want), `${gateway} (${pod}): ${JSON.stringify(held)}`);
    }
  });

  test('an annotation that does not parse: the pod runs with the mesh default; the agent log and analyze say why', async () => {
    const pod = await podOf('gw-invalid');
    assert.deepEqual([...new Set((await heldTopology(pod)).map((l) => l.hops))], [1], 'the mesh default');
    const logs = await env.kubectlOk(CTX, ['logs', '-n', NS, pod, '-c', 'istio-proxy']);
    assert.match(logs, /warning: annotation proxy\.istio\.io\/config is invalid: not YAML or JSON: .*the pod runs with the mesh's default proxy config/);
    const analyze = await env.meshwork(['analyze', '--context', CTX, '-n', NS]);
    assert.match(analyze.stdout, new RegExp(`Warning \\[IST0125\\] \\(Pod ${NS}/${pod}\\) Invalid annotation proxy\\.istio\\.io/config`), analyze.stdout + analyze.stderr);
    assert.doesNotMatch(analyze.stdout, /gw-annotated|gw-default/, 'valid annotations are not findings');
  });

  test('every gateway runs the chosen data plane and none NACKed', async () => {
    await env.assertDataPlaneAcceptedEverything([CTX]);
  });
});
