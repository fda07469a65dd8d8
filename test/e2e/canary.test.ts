// The automated canary as a platform engineer runs it: `meshwork up` runs the canary controller as its own
// process, `meshwork canary start|status|resume|abort` drive it, and the mesh's own metrics judge each step.
// The seed's infrastructure canary (cluster-2 "upgraded", DestinationRule subsets per member cluster,
// the mesh's VirtualService and the gateway's driven together) promoted step by step with every step's
// split checked by chi-square east-west (from both sleep pods) and at the MCI edge; a bad canary
// (helloworld answering 500 for half its requests, ERROR_RATE) rolled back after `threshold` failed
// checks with the routes restored exactly; the controller killed with SIGKILL mid-canary and restarted
// by `up`, neither repeating nor skipping a step; a human edit of the weights pausing the canary, resume
// from the live weights, abort restoring the stable routes; a version canary v1 -> v2 inside one cluster
// with the same resource. Intervals are seconds so the suite stays in a few minutes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';
import { clusterSubsetsRule, routedTo } from '../../src/scenario/canary-objects.js';
import { sendToEdge } from '../../src/scenario/edge-traffic.js';
import type { Manifest } from '../../src/k8s/client/manifests.js';
import type { AuditRecord } from '../../src/canary/plan.js';
import type { Canary } from '../../src/config/canary/types.js';
import { E2E_DATA_PLANE, LOCAL_VERSION, MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { podName, sendFromPod } from '../helpers/traffic.js';
import { until } from '../helpers/until.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const NS = 'istio-gateway';
/** Requests per measured split and source (three sources side by side, well inside an interval). */
const N = 300;
const MESH_URL = 'http://helloworld.sample:5000/hello';
const CANARY = 'canaries.rollouts.meshwork.io';

/**
 * The promoted canary's interval: three measurements of N requests side by side must end before the next
 * step; the meshwork proxy (TypeScript, one core shared with everything else) needs longer for them.
 */
const MEASURED_INTERVAL = E2E_DATA_PLANE === 'meshwork' ? '16s' : '12s';

const yamlOf = (manifests: Manifest[]): string => manifests.map((m) => stringify(m.object)).join('---\n');

describe(`automated canary: promote, rollback, controller restart, human edit, version canary (${E2E_DATA_PLANE} data plane)`, { timeout: 1_200_000 }, () => {
  const env = new MeshworkEnv(E2E_DATA_PLANE === 'meshwork' ? 44 : 28);
  const sleepPod: Record<string, string> = {};
  let vip = '';
  let streaming = true;
  let stream: Promise<void> = Promise.resolve();

  const canary = async (name: string): Promise<Canary> => JSON.parse(await env.kubectlOk('cluster-1', ['get', CANARY, name, '-n', 'sample', '-o', 'json'])) as Canary;
  const vsSpecs = async (): Promise<Record<string, unknown>> => {
    const out: Record<string, unknown> = {};
    for (const ctx of CONTEXTS) {
      for (const vs of ['helloworld', 'helloworld-gateway']) out[`${ctx}/${vs}`] = JSON.parse(await env.kubectlOk(ctx, ['get', 'virtualservice', vs, '-n', 'sample', '-o', 'jsonpath={.spec}']));
    }
    return out;
  };
  const auditOf = (name: string): AuditRecord[] => {
    const file = join(env.stateDir, 'canary-audit.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord).filter((r) => r.canary === `sample/${name}`);
  };
  const eventsOf = async (name: string): Promise<Array<{ type: string; reason: string; message: string; count?: number }>> =>
    (JSON.parse(await env.kubectlOk('cluster-1', ['get', 'events', '-n', 'sample', '--field-selector', `involvedObject.name=${name}`, '-o', 'json'])) as { items: Array<{ type: string; reason: string; message: string; count?: number }> }).items;
  const controllerPids = (): number[] => {
    const dir = join(env.stateDir, 'controller-pids');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => Number(f.slice(0, -4))) : [];
  };
  /** `meshwork canary start`; the Canary is deleted when the test ends, passed or not, so it drives nothing afterwards. */
  const start = async (t: { after(fn: () => Promise<unknown>): void }, name: string, args: string[]): Promise<void> => {
    t.after(() => env.kubectl('cluster-1', ['delete', CANARY, name, '-n', 'sample', '--ignore-not-found']));
    const res = await env.meshwork(['canary', 'start', name, '-n', 'sample', '--context', 'cluster-1', '--host', 'helloworld', '--min-requests', '5', ...args]);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.equal(res.stdout.trim(), `canary.rollouts.meshwork.io/${name} created`);
  };
  const waitPhase = (name: string, phases: string[], timeoutMs: number): Promise<Canary> =>
    until(`canary ${name} in phase ${phases.join(' or ')}`, timeoutMs, async () => {
      const c = await canary(name);
      if (c.status && ['Failed', 'RolledBack', 'Aborted', 'Succeeded'].includes(c.status.phase) && !phases.includes(c.status.phase)) {
        throw new Error(`canary ${name} ended ${c.status.phase}: ${c.status.message}`);
      }
      return c.status && phases.includes(c.status.phase) ? c : undefined;
    });
  /** Both VirtualServices routed 100 % to `subset` in both clusters (the stable routes of the next canary). */
  const resetRoutes = async (subset: string): Promise<void> => {
    for (const ctx of CONTEXTS) await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', '-'], yamlOf(routedTo(subset)));
    await sleep(1500);
  };
  /** The split by cluster from both sleep pods and at the VIP, each judged against `weight` % on cluster-2. */
  const assertClusterSplit = async (weight: number, what: string): Promise<string> => {
    const weights = [100 - weight, weight];
    const [s1, s2, edge] = await Promise.all([
      sendFromPod(env, 'cluster-1', 'sample', sleepPod['cluster-1'], MESH_URL, N),
      sendFromPod(env, 'cluster-2', 'sample', sleepPod['cluster-2'], MESH_URL, N),
      sendToEdge(`http://${vip}/hello`, N),
    ]);
    const sources = [
      { name: 'sleep cluster-1', failures: s1.failures, counts: CONTEXTS.map((c) => s1.byVersion[LOCAL_VERSION[c]] ?? 0) },
      { name: 'sleep cluster-2', failures: s2.failures, counts: CONTEXTS.map((c) => s2.byVersion[LOCAL_VERSION[c]] ?? 0) },
      { name: 'edge', failures: edge.failures, counts: CONTEXTS.map((c) => edge.byVersion.get(LOCAL_VERSION[c]) ?? 0) },
    ];
    for (const s of sources) {
      assert.equal(s.failures, 0, `${what}, ${s.name}: ${s.failures} failed requests`);
      const verdict = chiSquareTest(s.counts, weights, SUITE_ALPHA);
      assert.ok(verdict.pass, `${what}, ${s.name}: ${s.counts.join('/')} is not ${weights.join('/')} (p=${verdict.pValue.toExponential(2)})`);
    }
    return sources.map((s) => `${s.name} ${s.counts.join('/')}`).join(', ');
  };

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    const mesh = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(mesh.code, 0, mesh.stderr + mesh.stdout);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx, [NS]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-n', NS, '-f', join(scenarioDir(), 'istio-ingressgateway')]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-gateway.yaml')]);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', '-'], yamlOf([clusterSubsetsRule(CONTEXTS), ...routedTo('cluster-1')]));
    }
    for (const ctx of CONTEXTS) {
      await env.kubectlOk(ctx, ['rollout', 'status', '-n', NS, 'deployment/istio-ingressgateway', '--timeout=90s']);
      await env.kubectlOk(ctx, ['rollout', 'status', '-n', 'sample', `deployment/helloworld-${LOCAL_VERSION[ctx]}`, 'deployment/sleep', '--timeout=90s']);
      sleepPod[ctx] = await podName(env, ctx, 'sample', 'app=sleep');
    }
    const file = (name: string) => join(scenarioDir(), name);
    for (const f of ['multiclusterservice.yaml', 'backendconfig.yaml', 'multiclusteringress.yaml']) await env.kubectlOk('cluster-1', ['apply', '-n', NS, '-f', file(f)]);
    vip = await until('status.VIP', 60_000, async () => {
      const out = (await env.kubectlOk('cluster-1', ['get', 'MultiClusterIngress', '-n', NS, '-o', 'custom-columns=VIP:status.VIP', '--no-headers'])).trim();
      return out && out !== '<none>' ? out : undefined;
    });
    await until('the edge serving through both clusters\' gateways', 60_000, async () => {
      const sent = await sendToEdge(`http://${vip}/hello`, 40);
      return sent.failures === 0 && sent.byGateway.size === 2 ? true : undefined;
    });
    // cluster-2's sleep reaches cluster-1's helloworld once the remote endpoints are in.
    await until('both sleep pods reaching cluster-1', 60_000, async () => {
      const splits = await Promise.all(CONTEXTS.map((c) => sendFromPod(env, c, 'sample', sleepPod[c], MESH_URL, 10)));
      return splits.every((s) => s.failures === 0 && s.byVersion.v1 === 10) ? true : undefined;
    });
    // A steady stream at the VIP (bounded): the traffic each interval's analysis measures.
    stream = (async () => {
      for (let i = 0; streaming && i < 50_000; i++) {
        await fetch(`http://${vip}/hello`, { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).catch(() => undefined);
        await sleep(50);
      }
    })();
  });

  after(async () => {
    streaming = false;
    await stream;
    await env.cleanup();
  });

  test('`meshwork up` runs the controller as its own process, recorded by pid', () => {
    const pids = controllerPids();
    assert.equal(pids.length, 1, `controller-pids: ${pids.join(', ')}`);
    const cmdline = readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8').split('\0');
    assert.deepEqual(cmdline.slice(cmdline.indexOf('canary')), ['canary', 'controller', '--kubeconfig', env.kubeconfig, '--context', 'cluster-1', '--audit-log', join(env.stateDir, 'canary-audit.log'), '']);
  });

  test('infrastructure canary across clusters: 10 -> 25 -> 50 -> 100 %, every step\'s split passes chi-square east-west and at the edge', async (t) => {
    t.diagnostic(`before: ${await assertClusterSplit(0, 'before the canary')}`);
    await start(t, 'infra', ['--baseline', 'cluster-1', '--canary', 'cluster-2', '--steps', '10,25,50', '--interval', MEASURED_INTERVAL, '--success-rate', '95', '--virtual-service', 'helloworld', '--virtual-service', 'helloworld-gateway']);
    const measured: number[] = [];
    const deadline = Date.now() + 150_000;
    for (;;) {
      const c = await canary('infra');
      const st = c.status;
      if (st && ['Failed', 'RolledBack', 'Aborted'].includes(st.phase)) assert.fail(`canary ended ${st.phase}: ${st.message} ${JSON.stringify(st.lastAnalysis)}`);
      if (st && st.canaryWeight > 0 && !measured.includes(st.canaryWeight)) {
        const stepTime = st.lastStepTime;
        await sleep(1500);
        t.diagnostic(`${st.canaryWeight} %: ${await assertClusterSplit(st.canaryWeight, `step to ${st.canaryWeight} %`)}`);
        const after = (await canary('infra')).status;
        assert.equal(after?.lastStepTime, stepTime, `the controller stepped on during the measurement at ${st.canaryWeight} % (interval too short for this machine?)`);
        measured.push(st.canaryWeight);
      }
      if (st?.phase === 'Succeeded' && measured.includes(100)) break;
      assert.ok(Date.now() < deadline, `not promoted in 150 s: ${JSON.stringify(st)}`);
      await sleep(200);
    }
    assert.deepEqual(measured, [10, 25, 50, 100]);
    const status = await env.meshwork(['canary', 'status', 'infra', '-n', 'sample', '--context', 'cluster-1']);
    assert.match(status.stdout, /^Succeeded\s+4\/4\s+0\/100\s/m);
    assert.match(status.stdout, /^Promoted\s+True\s/m);
    const weights = auditOf('infra').filter((r) => r.action !== 'restore' && r.action !== 'rollback').map((r) => r.weights['cluster-2']);
    assert.deepEqual(weights, [10, 25, 50, 100], 'one audit line per weight change');
  });

  test('bad canary (ERROR_RATE on the canary side): rolled back after `threshold` failed checks, routes restored exactly, a Warning Event names metric, value and threshold', async (t) => {
    await resetRoutes('cluster-1');
    await env.kubectlOk('cluster-2', ['set', 'env', 'deployment/helloworld-v2', '-n', 'sample', 'ERROR_RATE=0.5']);
    await env.kubectlOk('cluster-2', ['rollout', 'status', '-n', 'sample', 'deployment/helloworld-v2', '--timeout=90s']);
    // The next cases need a healthy cluster-2, whatever happens here.
    t.after(async () => {
      await env.kubectlOk('cluster-2', ['set', 'env', 'deployment/helloworld-v2', '-n', 'sample', 'ERROR_RATE-']);
      await env.kubectlOk('cluster-2', ['rollout', 'status', '-n', 'sample', 'deployment/helloworld-v2', '--timeout=90s']);
    });
    const before = await vsSpecs();
    await start(t, 'bad', ['--baseline', 'cluster-1', '--canary', 'cluster-2', '--steps', '10,25,50', '--interval', '5s', '--success-rate', '99', '--threshold', '2', '--virtual-service', 'helloworld', '--virtual-service', 'helloworld-gateway']);
    await waitPhase('bad', ['RolledBack'], 90_000);
    // The decision is recorded first, then the routes are restored and the status says so.
    const rolledBack = await until('the stable routes restored (status)', 30_000, async () => {
      const c = await canary('bad');
      return c.status?.canaryWeight === 0 && /restored/.test(c.status.message ?? '') ? c : undefined;
    });
    t.diagnostic(`RolledBack: ${rolledBack.status?.message}`);
    assert.equal(rolledBack.status?.phase, 'RolledBack');
    assert.equal(rolledBack.status?.failedChecks, 2);
    await until('the stable routes restored in every copy', 20_000, async () => (JSON.stringify(await vsSpecs()) === JSON.stringify(before) ? true : undefined));
    assert.deepEqual(await vsSpecs(), before, 'no other field of the VirtualServices changed');
    const warning = (await eventsOf('bad')).find((e) => e.type === 'Warning' && e.reason === 'RolledBack');
    assert.ok(warning, `a Warning RolledBack event: ${JSON.stringify(await eventsOf('bad'))}`);
    t.diagnostic(`Warning ${warning.reason}: ${warning.message}`);
    assert.match(warning.message, /request-success-rate [\d.]+ ?%? < min 99/);
    // Within the configured failures: the canary never got past its first step.
    const weights = auditOf('bad').map((r) => [r.action, r.weights['cluster-2']]);
    assert.deepEqual(weights.filter(([a]) => a !== 'rollback' && a !== 'restore').map(([, w]) => w), [10], JSON.stringify(weights));
    t.diagnostic(`after the rollback: ${await assertClusterSplit(0, 'after the rollback')}`);
  });

  test('controller killed (SIGKILL) mid-canary: restarted by up, resumes without repeating or skipping a step', async (t) => {
    await resetRoutes('cluster-1');
    // The healthy helloworld-v2 that replaced the bad one is in every proxy's endpoints within a push.
    await sleep(3000);
    await start(t, 'restart', ['--baseline', 'cluster-1', '--canary', 'cluster-2', '--steps', '10,25,50', '--interval', '5s', '--virtual-service', 'helloworld', '--virtual-service', 'helloworld-gateway']);
    // Killed between steps, once step 2 is fully recorded (a kill between the controller's own writes of a
    // step is canary-core's integration test; here the audit line of 25 % would be the one lost).
    await until('step 2 (25 %) recorded', 60_000, async () => ((await canary('restart')).status?.canaryWeight === 25 && auditOf('restart').some((r) => r.weights['cluster-2'] === 25) ? true : undefined));
    const [pid] = controllerPids();
    assert.ok(pid, 'a recorded controller');
    process.kill(pid, 'SIGKILL');
    const restarted = await until('a new controller', 30_000, async () => {
      const pids = controllerPids();
      return pids.length === 1 && pids[0] !== pid ? pids[0] : undefined;
    });
    t.diagnostic(`controller ${pid} killed, ${restarted} running`);
    await waitPhase('restart', ['Succeeded'], 90_000);
    const steps = auditOf('restart').map((r) => r.weights['cluster-2']);
    assert.deepEqual(steps, [10, 25, 50, 100], `audit log: ${JSON.stringify(auditOf('restart').map((r) => [r.action, r.step, r.weights]))}`);
    const changes = (await eventsOf('restart')).filter((e) => e.reason === 'WeightChanged');
    for (const w of [10, 25, 50]) {
      const matching = changes.filter((e) => new RegExp(`-> ${w} `).test(e.message));
      assert.equal(matching.length, 1, `one WeightChanged event to ${w}: ${JSON.stringify(changes)}`);
      assert.equal(matching[0].count ?? 1, 1, `WeightChanged to ${w} happened once`);
    }
    assert.match(readFileSync(join(env.stateDir, 'meshwork.log'), 'utf8'), new RegExp(`canary controller exited \\(SIGKILL\\); restarting in \\d+ ms`));
  });

  test('a human edit of the weights pauses the canary (ManualWeightChange); resume goes on from the live weights; abort restores the stable routes', async (t) => {
    await resetRoutes('cluster-1');
    const stable = await vsSpecs();
    // A longer interval: the abort must land while the canary still progresses.
    await start(t, 'edit', ['--baseline', 'cluster-1', '--canary', 'cluster-2', '--steps', '10,25,50', '--interval', '20s', '--virtual-service', 'helloworld', '--virtual-service', 'helloworld-gateway']);
    await until('step 1 (10 %)', 60_000, async () => ((await canary('edit')).status?.canaryWeight === 10 ? true : undefined));
    // kubectl edit's equivalent: 70/30 in cluster-2's mesh VirtualService.
    await env.kubectlOk('cluster-2', ['patch', 'virtualservice', 'helloworld', '-n', 'sample', '--type', 'json', '-p', JSON.stringify([
      { op: 'replace', path: '/spec/http/0/route/0/weight', value: 70 },
      { op: 'replace', path: '/spec/http/0/route/1/weight', value: 30 },
    ])]);
    const paused = await waitPhase('edit', ['Paused'], 30_000);
    const condition = paused.status?.conditions.find((c) => c.type === 'ManualWeightChange');
    t.diagnostic(`paused: ${condition?.message}`);
    assert.equal(condition?.status, 'True');
    assert.match(condition?.message ?? '', /cluster-2/);
    assert.match(condition?.message ?? '', /helloworld/);
    assert.match(condition?.message ?? '', /30/);
    const editedSpec = await vsSpecs();
    await sleep(8000);
    assert.deepEqual(await vsSpecs(), editedSpec, 'nothing is written while paused by an edit');

    const resume = await env.meshwork(['canary', 'resume', 'edit', '-n', 'sample', '--context', 'cluster-1']);
    assert.equal(resume.code, 0, resume.stderr);
    const resumed = await until('progressing from the live weights', 30_000, async () => {
      const st = (await canary('edit')).status;
      return st?.phase === 'Progressing' && st.conditions.some((c) => c.type === 'ManualWeightChange' && c.status === 'False') ? st : undefined;
    });
    t.diagnostic(`resumed: ${resumed.message}`);
    assert.match(resumed.message ?? '', /resumed from the live weights/);
    // status -w follows until the terminal phase the abort brings.
    const watch = env.meshwork(['canary', 'status', 'edit', '-n', 'sample', '--context', 'cluster-1', '-w'], 60_000);
    await sleep(1000);
    const abort = await env.meshwork(['canary', 'abort', 'edit', '-n', 'sample', '--context', 'cluster-1']);
    assert.equal(abort.stdout.trim(), 'canary.rollouts.meshwork.io/edit aborted', abort.stderr);
    const watched = await watch;
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /^Progressing\s/m, 'status -w shows the canary before the abort');
    assert.match(watched.stdout, /^Aborted\s/m);
    await until('the stable routes restored', 30_000, async () => (JSON.stringify(await vsSpecs()) === JSON.stringify(stable) ? true : undefined));
    assert.deepEqual(await vsSpecs(), stable);
  });

  test('version canary v1 -> v2 inside cluster-1 with the same resource: split by version at every step; cluster-2\'s copy untouched', async (t) => {
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld.yaml'), '-l', 'version=v2']);
    await env.kubectlOk('cluster-1', ['rollout', 'status', '-n', 'sample', 'deployment/helloworld-v2', '--timeout=90s']);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', '-'], yamlOf([routedTo('v1')[0]]));
    await sleep(1500);
    const cluster2 = JSON.stringify((await vsSpecs())['cluster-2/helloworld']);
    await start(t, 'version', ['--baseline', 'v1', '--canary', 'v2', '--steps', '20,50', '--interval', MEASURED_INTERVAL, '--cluster', 'cluster-1', '--virtual-service', 'helloworld']);
    const measured: number[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const st = (await canary('version')).status;
      if (st && ['Failed', 'RolledBack', 'Aborted'].includes(st.phase)) assert.fail(`canary ended ${st.phase}: ${st.message}`);
      if (st && st.canaryWeight > 0 && !measured.includes(st.canaryWeight)) {
        await sleep(1500);
        const split = await sendFromPod(env, 'cluster-1', 'sample', sleepPod['cluster-1'], MESH_URL, N);
        assert.equal(split.failures, 0);
        const verdict = chiSquareTest([split.byVersion.v1 ?? 0, split.byVersion.v2 ?? 0], [100 - st.canaryWeight, st.canaryWeight], SUITE_ALPHA);
        assert.ok(verdict.pass, `${st.canaryWeight} %: ${JSON.stringify(split.byVersion)} (p=${verdict.pValue.toExponential(2)})`);
        t.diagnostic(`${st.canaryWeight} %: ${JSON.stringify(split.byVersion)}`);
        measured.push(st.canaryWeight);
      }
      if (st?.phase === 'Succeeded' && measured.includes(100)) break;
      assert.ok(Date.now() < deadline, `not promoted in 120 s: ${JSON.stringify(st)}`);
      await sleep(200);
    }
    assert.deepEqual(measured, [20, 50, 100]);
    assert.equal(JSON.stringify((await vsSpecs())['cluster-2/helloworld']), cluster2, 'cluster-2\'s copy is not driven');
  });
});
