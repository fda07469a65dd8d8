// `meshwork demo` (the README's main command): the whole multi-cluster helloworld scenario (steps 1-8) on local
// clusters, step by step as the original walkthrough, but every split measured with 1000 requests and
// judged by a chi-square test against the split the scenario's files declare (mesh-cli/intent, read from
// the YAML the demo applied), and every sending proxy's config checked against the same declaration. It
// leaves the mesh running and says how to use and stop it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { runCreateMesh, runInstall } from '../install/commands.js';
import type { DataPlaneKind } from '../agent/data-plane.js';
import { applyObjects } from '../k8s/client/apply.js';
import { apiErrorCode, loadKubeConfig } from '../k8s/client/client.js';
import { readManifests, type Manifest } from '../k8s/client/manifests.js';
import { compileLabelSelector } from '../k8s/selectors.js';
import { execInPod } from '../mesh-cli/exec.js';
import { groupShares, type SplitDimension } from '../mesh-cli/expected-split.js';
import { formatShares } from '../mesh-cli/intent/agreement.js';
import { declaredBy, type DerivedIntent, type Intent } from '../mesh-cli/intent/model.js';
import { splitHostHeader } from '../mesh-cli/intent/names.js';
import { intentRequest, measureTraffic, proxyView, readRegistry } from '../mesh-cli/traffic.js';
import { agreementOf } from '../mesh-cli/traffic-judgement.js';
import { chiSquareTest } from '../stats/chisquare.js';
import { startDetached } from '../runtime/detach.js';
import { clusterNames } from '../runtime/up.js';
import { runningState, statePaths } from '../runtime/state.js';
import { AppliedFiles, evenlyOver } from './applied-files.js';
import { runCanaryDemo } from './demo-canary.js';
import { sendToEdge } from './edge-traffic.js';

export interface DemoOptions {
  stateDir: string;
  subnetBase: number;
  /** The scenario's YAML folder (examples/multicluster-helloworld). */
  scenarioDir: string;
  requests: number;
  /** After the seed's steps, the seed's use case: a Canary moves helloworld's traffic to the "upgraded" cluster-2. */
  canary?: boolean;
  /** The pods' data plane (default: Envoy when installed, as `meshwork install` decides). */
  dataPlane?: DataPlaneKind;
  say: (line: string) => void;
}

const CLUSTERS = clusterNames(2);
const VERSION_OF: Record<string, string> = { 'cluster-1': 'v1', 'cluster-2': 'v2' };
const URL = 'http://helloworld.sample:5000/hello';
/** The files give placeholder pods: the intent speaks for versions and member clusters. */
const COMPARED: SplitDimension[] = ['version', 'cluster'];
const INTENT_FROM = 'the scenario files the demo applied';

export async function runDemo(opts: DemoOptions): Promise<boolean> {
  const { say } = opts;
  const started = Date.now();
  const paths = statePaths(opts.stateDir);
  const file = (name: string) => join(opts.scenarioDir, name);
  const results: Array<{ step: string; pass: boolean }> = [];
  const heading = (text: string) => say(`\n== ${text} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

  heading('Clusters: two local Kubernetes clusters on loopback');
  if (runningState(paths)?.ready) {
    say(`reusing the clusters running from ${paths.dir}`);
  } else {
    const state = await startDetached({
      stateDir: opts.stateDir,
      upArgs: ['--clusters', '2', '--state-dir', paths.dir, '--subnet-base', String(opts.subnetBase)],
      timeoutMs: 60_000,
    });
    for (const c of state.clusters) say(`${c.name}: API server ${c.server}`);
  }
  const kc = (context: string) => loadKubeConfig({ kubeconfig: paths.kubeconfig, context });
  const applied = new AppliedFiles();
  const applyTo = async (context: string, manifests: Manifest[], namespace?: string): Promise<void> => {
    await apply(kc(context), say, context, manifests, namespace);
    applied.record(context, manifests, namespace);
  };

  heading('Steps 2-3: install the mesh (revision asm-managed-stable) and join the clusters');
  for (const ctx of CLUSTERS) await runInstall({ kubeconfig: paths.kubeconfig, context: ctx, out: (l) => say(`  ${l}`), ...(opts.dataPlane ? { dataPlane: opts.dataPlane } : {}) });
  await runCreateMesh(CLUSTERS, { kubeconfig: paths.kubeconfig, out: (l) => say(`  ${l}`) });

  heading('Step 4: helloworld v1 in cluster-1, v2 in cluster-2, sleep in both (namespace sample, in the mesh)');
  const helloworld = readManifests([file('helloworld.yaml')]);
  for (const ctx of CLUSTERS) {
    await applyTo(ctx, [namespaceManifest('sample', { 'istio.io/rev': 'asm-managed-stable' })]);
    await applyTo(ctx, select(helloworld, 'service=helloworld'), 'sample');
    await applyTo(ctx, select(helloworld, `version=${VERSION_OF[ctx]}`), 'sample');
    await applyTo(ctx, readManifests([file('sleep.yaml')]), 'sample');
    // The walkthrough's step 4 has no routing rule: take away one a previous run left.
    await deleteVirtualService(kc(ctx), 'sample', 'helloworld');
    applied.forget(ctx, 'VirtualService', 'sample', 'helloworld');
  }
  for (const ctx of CLUSTERS) await waitPodsReady(kc(ctx), 'sample', 2, say, ctx);
  // The walkthrough's clusters discover each other's endpoints within seconds: measure once they have.
  for (const ctx of CLUSTERS) await waitForBothVersions(kc(ctx), ctx, say);
  for (const ctx of CLUSTERS) results.push(await traffic(opts, ctx, applied, `step 4, from ${ctx}: no rules`));

  heading('Step 5: DestinationRule (subsets v1, v2) and VirtualService 80/20, applied to both clusters');
  for (const ctx of CLUSTERS) await applyTo(ctx, readManifests([file('helloworld-destinationrule.yaml'), file('helloworld-virtualservice.yaml')]), 'sample');
  await new Promise((r) => setTimeout(r, 2000));
  for (const ctx of CLUSTERS) results.push(await traffic(opts, ctx, applied, `step 5, from ${ctx}: VirtualService`));

  heading('Zero trust: PeerAuthentication STRICT for namespace sample in both clusters (mutual TLS on every hop, identities from the mesh CA)');
  for (const ctx of CLUSTERS) await apply(kc(ctx), say, ctx, [STRICT_MTLS]);
  await new Promise((r) => setTimeout(r, 2000));
  for (const ctx of CLUSTERS) results.push(await traffic(opts, ctx, applied, `step 5 under STRICT mTLS, from ${ctx}`));

  heading('Step 6: an ingress gateway per cluster (namespace istio-gateway) and the helloworld Gateway + VirtualService');
  for (const ctx of CLUSTERS) {
    await applyTo(ctx, [namespaceManifest('istio-gateway', { 'istio.io/rev': 'asm-managed-stable' })]);
    // As the walkthrough: the gateway's own Service is replaced by the MultiClusterService of step 7.
    await applyTo(ctx, readManifests([file('istio-ingressgateway/deployment.yaml')]), 'istio-gateway');
    await applyTo(ctx, readManifests([file('helloworld-gateway.yaml')]), 'sample');
  }
  for (const ctx of CLUSTERS) await waitPodsReady(kc(ctx), 'istio-gateway', 1, say, ctx);

  heading('Step 7: MultiClusterService, BackendConfig and MultiClusterIngress in the config cluster (cluster-1)');
  await applyTo('cluster-1', readManifests([file('backendconfig.yaml'), file('multiclusterservice.yaml'), file('multiclusteringress.yaml')]), 'istio-gateway');
  const vip = await waitForVip(kc('cluster-1'), 'istio-gateway', 'istio-ingressgateway');
  say(`  status.VIP = ${vip}   (kubectl get MultiClusterIngress -n istio-gateway -o custom-columns=VIP:status.VIP)`);
  await waitForGateways(`http://${vip}/hello`, CLUSTERS.length);
  results.push(await edgeTraffic(opts, kc, applied, `http://${vip}/hello`, 'step 7, curl http://$VIP/hello through the gateways of both clusters'));

  heading('Step 8: the canary at the edge (helloworld-gateway-canary.yaml: 20% v1, 80% v2) on both clusters');
  for (const ctx of CLUSTERS) await applyTo(ctx, readManifests([file('helloworld-gateway-canary.yaml')]), 'sample');
  await new Promise((r) => setTimeout(r, 2000));
  results.push(await edgeTraffic(opts, kc, applied, `http://${vip}/hello`, 'step 8, curl http://$VIP/hello, the canary at the gateways'));

  if (opts.canary) {
    heading('Canary: cluster-2 "upgraded"; a Canary moves helloworld to it 10 -> 25 -> 50 -> 100 %, east-west and at the edge');
    results.push(...(await runCanaryDemo({ stateDir: opts.stateDir, requests: opts.requests, clusters: CLUSTERS, versionOf: VERSION_OF, vip, kc, apply: applyTo, say })));
  }

  heading('Summary');
  for (const r of results) say(`  ${r.pass ? 'PASS' : 'FAIL'}  ${r.step}`);
  say(`  (${((Date.now() - started) / 1000).toFixed(1)} s in all)`);
  say('\nThe mesh keeps running. Try it:');
  say(`  export KUBECONFIG=${paths.kubeconfig}`);
  say('  kubectl --context cluster-1 get pods -n sample -o wide');
  say('  kubectl --context cluster-1 exec -n sample deploy/sleep -c sleep -- curl -sS helloworld.sample:5000/hello');
  say('  node bin/meshwork.js proxy-status');
  say(`  node bin/meshwork.js traffic --context cluster-2 -n sample --from deploy/sleep --url ${URL} --requests 1000`);
  say('  VIP=$(kubectl --context cluster-1 get MultiClusterIngress -n istio-gateway -o custom-columns=VIP:status.VIP --no-headers)');
  say('  curl http://$VIP/hello');
  if (opts.canary) say('  node bin/meshwork.js canary status helloworld -n sample --context cluster-1');
  say(`Stop it with: node bin/meshwork.js down${paths.dir.endsWith('/.meshwork') ? '' : ` --state-dir ${paths.dir}`}`);
  return results.every((r) => r.pass);
}

/** Until the sleep pod of `context` gets answers from both versions (its sidecar has both clusters' endpoints). */
async function waitForBothVersions(kc: KubeConfig, context: string, say: (l: string) => void): Promise<void> {
  const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'sample', labelSelector: 'app=sleep' });
  const pod = pods.items[0]?.metadata?.name;
  if (!pod) throw new Error(`${context}: no sleep pod in namespace sample`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    let out = '';
    await execInPod(kc, { namespace: 'sample', pod, container: 'sleep', command: ['sh', '-c', `curl -s -m 5 -w '\\n' ${Array(20).fill(URL).join(' ')}`], onStdout: (c) => (out += c), timeoutMs: 30_000 });
    if (/version: v1,/.test(out) && /version: v2,/.test(out)) return;
    if (Date.now() > deadline) throw new Error(`${context}: after 30 s the sleep pod still does not reach both versions: ${out.slice(0, 300)}`);
    say(`  ${context}: waiting for the other cluster's endpoints ...`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function waitForVip(kc: KubeConfig, namespace: string, name: string): Promise<string> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const mci = (await api.getNamespacedCustomObject({ group: 'networking.gke.io', version: 'v1beta1', namespace, plural: 'multiclusteringresses', name })) as { status?: { VIP?: string; conditions?: Array<{ message?: string }> } };
    if (mci.status?.VIP) return mci.status.VIP;
    if (Date.now() > deadline) throw new Error(`MultiClusterIngress ${namespace}/${name} has no VIP after 60 s: ${mci.status?.conditions?.[0]?.message ?? 'no status'}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Until the edge has served from the gateways of every cluster (they pass healthyThreshold checks first). */
async function waitForGateways(url: string, clusters: number): Promise<void> {
  const seen = new Set<string>();
  const deadline = Date.now() + 60_000;
  while (seen.size < clusters) {
    if (Date.now() > deadline) throw new Error(`the edge served from ${seen.size} of ${clusters} clusters' gateways after 60 s`);
    try {
      const res = await fetch(url);
      await res.text();
      const backend = res.headers.get('x-meshwork-edge-backend');
      if (res.ok && backend) seen.add(backend.split('/')[0]);
    } catch {
      // The edge may not listen yet: try again below.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const versionShares = (intent: Intent): string => (intent.derived ? formatShares(groupShares(intent, 'version')) : 'not derived');

/**
 * N requests from this machine to the edge (4 at a time, keep-alive), judged like `meshwork traffic`:
 * against the split the scenario's files declare for each cluster's gateway (the edge spreads evenly
 * over them), with each gateway's own config checked against its declaration.
 */
async function edgeTraffic(opts: DemoOptions, kc: (context: string) => KubeConfig, applied: AppliedFiles, url: string, what: string): Promise<{ step: string; pass: boolean }> {
  const request = intentRequest(url);
  const intents: DerivedIntent[] = [];
  for (const ctx of CLUSTERS) {
    const intent = applied.intent(ctx, { namespace: 'istio-gateway', labels: applied.podLabels(ctx, 'istio-gateway', 'istio-ingressgateway'), gateway: true }, request);
    if (!intent.derived) {
      opts.say(`\n  the scenario's files give no expected split for the gateway of ${ctx}: ${intent.reason}`);
      return { step: `${what}: no expected split`, pass: false };
    }
    intents.push(intent);
  }
  const expected = groupShares(evenlyOver(intents), 'version');
  opts.say(`\n  expected from the scenario's files: ${formatShares(expected)}, declared by ${declaredBy(intents[0])}, evenly over the gateways of ${CLUSTERS.join(' and ')}`);

  let agreeing = true;
  for (const [i, ctx] of CLUSTERS.entries()) {
    const line = await gatewayAgreement(kc(ctx), ctx, intents[i], request);
    agreeing &&= line.agrees;
    opts.say(`  ${line.text}`);
  }

  const { byVersion, byGateway, failures } = await sendToEdge(url, opts.requests);
  const versions = [...expected.keys()].sort();
  const verdict = chiSquareTest(versions.map((v) => byVersion.get(v) ?? 0), versions.map((v) => expected.get(v) ?? 0));
  const splitOk = verdict.pass && failures === 0 && [...byVersion.keys()].every((v) => versions.includes(v));
  opts.say(`  ${opts.requests} x curl ${url}`);
  for (const v of versions) opts.say(`  ${v}: ${byVersion.get(v) ?? 0} (expected ${((expected.get(v) ?? 0) * 100).toFixed(1)}%)`);
  opts.say(`  by gateway: ${[...byGateway].map(([g, n]) => `${g} ${n}`).join(', ')}; failed requests: ${failures}`);
  opts.say(`  chi-square ${verdict.statistic.toFixed(3)}, p-value ${verdict.pValue.toFixed(4)}: ${splitOk && agreeing ? 'PASS' : 'FAIL'}`);
  return { step: `${what}: expected ${formatShares(expected)}, ${agreeing ? 'gateways agree' : 'a gateway DISAGREES'}`, pass: splitOk && agreeing };
}

/** Whether the gateway pod of `context` is configured to give requests the split the files declare for it. */
async function gatewayAgreement(kc: KubeConfig, context: string, intent: DerivedIntent, request: { host: string; path: string }): Promise<{ agrees: boolean; text: string }> {
  const quiet = { out: () => undefined, err: () => undefined };
  const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'istio-gateway', labelSelector: 'istio=ingressgateway' });
  const pod = pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
  if (!pod) return { agrees: false, text: `${context}: no running gateway pod to check` };
  const registry = await readRegistry(kc, undefined, quiet);
  const directory = typeof registry === 'string' ? undefined : registry.directory;
  // The edge keeps the client's Host: the gateway's listener is the port of the VIP.
  const view = await proxyView(kc, pod, { ...request, listenerPort: splitHostHeader(request.host).port }, directory, undefined, quiet);
  const agreement = agreementOf({ intent, from: INTENT_FROM, compareBy: COMPARED }, view);
  const name = `gateway ${pod.metadata?.name ?? '?'} (${context})`;
  if (!agreement) return { agrees: false, text: `${name}: not compared` };
  return agreement.agrees
    ? { agrees: true, text: `${name}: proxy config agrees with the scenario's files (${formatShares(groupShares(intent, 'version'))})` }
    : { agrees: false, text: `${name}: ${agreement.finding ?? 'proxy config disagrees'}` };
}

/** Istio's namespace-wide STRICT policy: plaintext to the namespace's workloads is refused from here on. */
const STRICT_MTLS: Manifest = {
  object: { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'sample' }, spec: { mtls: { mode: 'STRICT' } } },
  source: 'PeerAuthentication sample/default (STRICT)',
};

function namespaceManifest(name: string, labels: Record<string, string>): Manifest {
  return { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }, source: `namespace ${name}` };
}

function select(manifests: Manifest[], selector: string): Manifest[] {
  const matches = compileLabelSelector(selector);
  return manifests.filter((m) => matches(m.object.metadata.labels ?? {}));
}

async function apply(kc: KubeConfig, say: (l: string) => void, context: string, manifests: Manifest[], namespace?: string): Promise<void> {
  for (const r of await applyObjects(kc, manifests, namespace ? { namespace } : {})) say(`  ${context}: ${r.ref} ${r.outcome}`);
}

async function deleteVirtualService(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', namespace, plural: 'virtualservices', name });
  } catch (err) {
    if (apiErrorCode(err) !== 404) throw err;
  }
}

async function waitPodsReady(kc: KubeConfig, namespace: string, expected: number, say: (l: string) => void, context: string): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + 90_000;
  for (;;) {
    const pods = (await api.listNamespacedPod({ namespace })).items.filter((p) => !p.metadata?.deletionTimestamp);
    const ready = pods.filter((p) => (p.status?.containerStatuses ?? []).length > 0 && p.status!.containerStatuses!.every((c) => c.ready));
    if (ready.length >= expected && ready.length === pods.length) {
      say(`  ${context}: ${ready.map((p) => `${p.metadata?.name} (${p.status?.podIP}, ${p.spec?.containers.map((c) => c.name).join('+')})`).join(', ')} ready`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${context}: pods in ${namespace} not ready after 90 s: ${pods.map((p) => `${p.metadata?.name}=${p.status?.phase}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `meshwork traffic` from the sleep pod of `context`, judged against what the scenario's files declare. */
async function traffic(opts: DemoOptions, context: string, applied: AppliedFiles, what: string): Promise<{ step: string; pass: boolean }> {
  const intent = applied.intent(context, { namespace: 'sample', labels: applied.podLabels(context, 'sample', 'sleep') }, intentRequest(URL));
  opts.say(`\n  expected from the scenario's files: ${intent.derived ? `${versionShares(intent)}, declared by ${declaredBy(intent)}` : `not derived: ${intent.reason}`}`);
  opts.say(`  meshwork traffic --context ${context} -n sample --from deploy/sleep --url ${URL} --requests ${opts.requests}`);
  const report = await measureTraffic(
    {
      kubeconfig: statePaths(opts.stateDir).kubeconfig,
      context,
      namespace: 'sample',
      from: 'deploy/sleep',
      url: URL,
      requests: opts.requests,
      by: 'version',
      maxFailures: 0,
      requestTimeout: 10,
      output: 'table',
      intent: { intent, from: INTENT_FROM, compareBy: COMPARED },
    },
    { out: (l) => opts.say(`  ${l}`), err: () => undefined },
  );
  const agreement = report.agreement ? (report.agreement.agrees ? 'proxy agrees' : 'proxy DISAGREES') : 'proxy not compared';
  return { step: `${what}: expected ${versionShares(intent)}, ${agreement}`, pass: report.verdict.pass };
}

export function defaultScenarioDir(repoRoot: string): string {
  const dir = join(repoRoot, 'examples', 'multicluster-helloworld');
  if (!existsSync(dir)) throw new Error(`the scenario's YAML is missing: ${dir}`);
  return dir;
}
