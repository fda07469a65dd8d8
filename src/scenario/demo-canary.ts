// `meshwork demo --canary`, after the seed's steps: the seed's stated use case. cluster-2 is "upgraded";
// helloworld's traffic, routed 100 % to cluster-1 by DestinationRule subsets per member cluster, is moved
// to cluster-2 by a Canary (the canary controller of `meshwork up` drives the weights and analyses each
// step) 10 -> 25 -> 50 -> 100 %, east-west (the mesh's VirtualService) and at the MCI edge (the gateway's).
// At every step the split is measured from the sleep pod of each cluster and at the VIP, by cluster, and
// judged by chi-square against the step's weights. A bounded steady request stream at the VIP gives the
// controller's analysis its traffic in every interval.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiErrorCode } from '../k8s/client/client.js';
import type { Manifest } from '../k8s/client/manifests.js';
import { measureTraffic } from '../mesh-cli/traffic.js';
import { chiSquareTest } from '../stats/chisquare.js';
import { CanaryClient } from '../canary/cli-client.js';
import { renderStatus, TERMINAL_PHASES } from '../canary/cli-render.js';
import { CANARY_GROUP, CANARY_PLURAL, CANARY_VERSION } from '../config/canary/types.js';
import { statePaths } from '../runtime/state.js';
import { clusterSubsetsRule, helloworldCanary, routedTo } from './canary-objects.js';
import { sendToEdge } from './edge-traffic.js';

export interface CanaryDemoInput {
  stateDir: string;
  requests: number;
  clusters: readonly string[];
  /** Which helloworld version each cluster runs (the scenario: v1 in cluster-1, v2 in cluster-2): the edge's answers name the version. */
  versionOf: Readonly<Record<string, string>>;
  vip: string;
  kc: (context: string) => KubeConfig;
  apply: (context: string, manifests: Manifest[], namespace?: string) => Promise<void>;
  say: (line: string) => void;
}

const MESH_URL = 'http://helloworld.sample:5000/hello';
const STEPS = [10, 25, 50];
/** Long enough for the three measurements of a step (run side by side) to end before the next step. */
const INTERVAL = '30s';
const INTERVAL_MS = 30_000;
/** The steady stream: one request every 100 ms at most, and never more than this many. */
const STREAM_PAUSE_MS = 100;
const STREAM_MAX_REQUESTS = 20_000;

interface StepResult {
  step: string;
  pass: boolean;
}

export async function runCanaryDemo(input: CanaryDemoInput): Promise<StepResult[]> {
  const { say, clusters } = input;
  const [baseline, upgraded] = clusters;
  const config = input.kc(baseline);
  const canaries = new CanaryClient(config);
  const results: StepResult[] = [];

  await deleteCanary(config, 'helloworld');
  for (const ctx of clusters) await input.apply(ctx, [clusterSubsetsRule(clusters), ...routedTo(baseline)], 'sample');
  await sleep(2000);
  results.push(await measureStep(input, 0, 'before the canary: 100 % cluster-1'));

  const canary = helloworldCanary({ baseline, canary: upgraded, interval: INTERVAL, stepWeights: STEPS });
  await canaries.create(canary);
  say(`\n  meshwork canary start helloworld -n sample --context ${baseline} --host helloworld --baseline ${baseline} --canary ${upgraded} ` +
    `--steps ${STEPS.join(',')} --interval ${INTERVAL} --success-rate 99 --virtual-service helloworld --virtual-service helloworld-gateway`);
  say(`  (the controller of \`meshwork up\` drives the copies of both VirtualServices in ${clusters.join(' and ')}; follow it with \`meshwork canary status helloworld -n sample -w\`)`);

  const stream = steadyStream(`http://${input.vip}/hello`);
  const measured = new Set<number>();
  const budgetMs = INTERVAL_MS * (STEPS.length + 3) + 60_000;
  const deadline = Date.now() + budgetMs;
  try {
    for (;;) {
      const status = (await canaries.get('sample', 'helloworld')).status;
      const weight = status?.canaryWeight ?? 0;
      const failed = status && TERMINAL_PHASES.has(status.phase) && status.phase !== 'Succeeded';
      if (failed) {
        results.push({ step: `canary ${status.phase}: ${status.message ?? ''} ${(status.lastAnalysis?.reasons ?? []).join('; ')}`.trim(), pass: false });
        break;
      }
      if (weight > 0 && !measured.has(weight)) {
        measured.add(weight);
        const step = `${status!.currentStep + 1}/${STEPS.length + 1}`;
        // The proxies get the new weights within the control plane's debounce (at most a second).
        await sleep(2000);
        const result = await measureStep(input, weight, `canary step ${step}: cluster-2 at ${weight} %`);
        const after = await canaries.get('sample', 'helloworld');
        if ((after.status?.canaryWeight ?? 0) !== weight) {
          result.pass = false;
          result.step += ` (the controller moved to ${after.status?.canaryWeight} % during the measurement: the counts mix two steps)`;
        }
        results.push(result);
      }
      if (status?.phase === 'Succeeded' && measured.has(100)) break;
      if (Date.now() > deadline) {
        const phase = status?.phase ?? `none: is the canary controller running? (its log: ${statePaths(input.stateDir).dir}/canary-controller.log)`;
        results.push({ step: `the canary did not finish within ${budgetMs / 1000} s; phase ${phase}`, pass: false });
        break;
      }
      await sleep(500);
    }
  } finally {
    const sent = await stream.stop();
    say(`\n  steady stream at http://${input.vip}/hello: ${sent.requests} requests, ${sent.failures} failed`);
  }
  say('');
  for (const line of renderStatus(await canaries.get('sample', 'helloworld'), Date.now()).split('\n')) say(`  ${line}`);
  return results;
}

/** The split by cluster from each sleep pod and at the VIP, side by side, judged against `weight` % on cluster-2. */
async function measureStep(input: CanaryDemoInput, weight: number, what: string): Promise<StepResult> {
  const [baseline, upgraded] = input.clusters;
  const expected = new Map([[baseline, (100 - weight) / 100], [upgraded, weight / 100]]);
  const expect = `${baseline}=${100 - weight},${upgraded}=${weight}`;
  const quiet = { out: () => undefined, err: () => undefined };
  const fromSleep = input.clusters.map(async (context) => {
    const report = await measureTraffic(
      { kubeconfig: statePaths(input.stateDir).kubeconfig, context, namespace: 'sample', from: 'deploy/sleep', url: MESH_URL, requests: input.requests, expect, by: 'cluster', maxFailures: 0, requestTimeout: 10, output: 'table' },
      quiet,
    );
    const counts = new Map(report.verdict.rows.map((r) => [r.name, r.observed]));
    return { source: `sleep (${context})`, counts, failures: report.tally.failed, pValue: report.verdict.chiSquare?.pValue ?? 0, pass: report.verdict.pass };
  });
  const atEdge = (async () => {
    const sent = await sendToEdge(`http://${input.vip}/hello`, input.requests);
    const counts = new Map(input.clusters.map((c) => [c, sent.byVersion.get(input.versionOf[c]) ?? 0]));
    const verdict = chiSquareTest(input.clusters.map((c) => counts.get(c) ?? 0), input.clusters.map((c) => expected.get(c) ?? 0));
    return { source: 'edge (VIP)', counts, failures: sent.failures, pValue: verdict.pValue, pass: verdict.pass && sent.failures === 0 };
  })();
  const lines = await Promise.all([...fromSleep, atEdge]);
  input.say(`\n  ${what}: expected ${expect.replaceAll('=', ' ').replaceAll(',', ' %, ')} %`);
  for (const l of lines) {
    input.say(`  ${l.source.padEnd(18)} ${input.clusters.map((c) => `${c} ${l.counts.get(c) ?? 0}`).join(', ')}; failed ${l.failures}; p-value ${l.pValue.toFixed(4)}: ${l.pass ? 'PASS' : 'FAIL'}`);
  }
  return { step: `${what}, split by cluster from both sleep pods and at the VIP`, pass: lines.every((l) => l.pass) };
}

/** Requests at a steady pace until stopped (at most STREAM_MAX_REQUESTS): the traffic the controller's analysis measures. */
function steadyStream(url: string): { stop(): Promise<{ requests: number; failures: number }> } {
  let stopped = false;
  let requests = 0;
  let failures = 0;
  const loop = (async () => {
    while (!stopped && requests < STREAM_MAX_REQUESTS) {
      requests++;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        await res.text();
        if (!res.ok) failures++;
      } catch {
        failures++;
      }
      await sleep(STREAM_PAUSE_MS);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { requests, failures };
    },
  };
}

/** A Canary a previous run left (its controller would drive the routes this run re-applies). */
async function deleteCanary(kc: KubeConfig, name: string): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const ref = { group: CANARY_GROUP, version: CANARY_VERSION, namespace: 'sample', plural: CANARY_PLURAL, name };
  try {
    await api.deleteNamespacedCustomObject(ref);
  } catch (err) {
    if (apiErrorCode(err) === 404) return;
    throw err;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await api.getNamespacedCustomObject(ref);
    } catch (err) {
      if (apiErrorCode(err) === 404) return;
      throw err;
    }
    if (Date.now() > deadline) throw new Error(`Canary sample/${name} of a previous run is still there 30 s after its deletion`);
    await sleep(250);
  }
}
