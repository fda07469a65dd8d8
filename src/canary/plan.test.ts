import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plan, type Decision, type LiveRoute, type PlanInput, type WebhookOutcome } from './plan.js';
import { routeWeights, weightedRoute } from './routes.js';
import type { Canary, CanaryAnalysisResult, CanarySpec, CanaryStatus } from '../config/canary/types.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const INTERVAL = 30_000;
const stable = [{ destination: { host: 'helloworld', port: { number: 5000 } } }];
const refs = [
  { cluster: 'cluster-1', virtualService: 'helloworld', routeIndex: 0 },
  { cluster: 'cluster-2', virtualService: 'helloworld', routeIndex: 1 },
];

function spec(extra: Partial<CanarySpec['analysis']> = {}, top: Partial<CanarySpec> = {}): CanarySpec {
  return { host: 'helloworld', baseline: { subset: 'v1' }, canary: { subset: 'v2' }, analysis: { interval: '30s', stepWeights: [10, 50], metrics: [], ...extra }, ...top };
}

/** A tiny world: the Canary and the live routes of two clusters, changed only by applying decisions. */
class World {
  canary: Canary;
  live = new Map<string, unknown[]>(refs.map((r) => [JSON.stringify(r), structuredClone(stable)]));
  constructor(s: CanarySpec) {
    this.canary = { apiVersion: 'rollouts.meshwork.io/v1alpha1', kind: 'Canary', metadata: { name: 'helloworld', namespace: 'sample', generation: 1 }, spec: s };
  }
  input(now: number, extra: Partial<PlanInput> = {}): PlanInput {
    return { canary: structuredClone(this.canary), live: refs.map((ref): LiveRoute => ({ ref, route: structuredClone(this.live.get(JSON.stringify(ref))) })), problems: [], now, ...extra };
  }
  /** Performs the decision as the controller does: route writes (checking the tested value), then the status. */
  apply(d: Decision, opts: { routesOnly?: boolean } = {}): void {
    for (const w of d.writes) {
      const key = JSON.stringify(w.ref);
      assert.deepEqual(this.live.get(key), w.live, 'the test op must hold');
      this.live.set(key, structuredClone(w.route));
    }
    if (d.status && !opts.routesOnly) this.canary = { ...this.canary, status: structuredClone(d.status) };
  }
  weights(i = 0): Record<string, number> | undefined {
    return routeWeights(this.live.get(JSON.stringify(refs[i]))!);
  }
  editSpec(patch: Partial<CanarySpec>): void {
    this.canary = { ...this.canary, metadata: { ...this.canary.metadata, generation: (this.canary.metadata.generation ?? 1) + 1 }, spec: { ...this.canary.spec, ...patch } };
  }
}

function result(verdict: CanaryAnalysisResult['verdict'], reasons: string[] = [], weight = 10): CanaryAnalysisResult {
  return { time: new Date(T0).toISOString(), canaryWeight: weight, source: 'proxies', canary: { requests: 100, successRate: 100 }, baseline: { requests: 100, successRate: 100 }, verdict, reasons };
}

/** Runs one reconcile with an analysis that answers `verdict` when asked; returns the final decision. */
function reconcile(w: World, now: number, verdict: CanaryAnalysisResult['verdict'] = 'pass', hooks?: WebhookOutcome[]): Decision {
  let d = plan(w.input(now));
  const analysis = d.action === 'analyse' ? { ...result(verdict, verdict === 'fail' ? ['request-success-rate 79.2 % < min 99 %'] : []), time: new Date(now).toISOString() } : undefined;
  if (analysis) d = plan(w.input(now, { analysis }));
  if (d.action === 'call-webhooks') d = plan(w.input(now, { ...(analysis ? { analysis } : {}), webhooks: hooks ?? [] }));
  w.apply(d);
  return d;
}

test('a canary steps 10 -> 50 -> 100 in both clusters and succeeds; each step after an interval and a passed check', () => {
  const w = new World(spec());
  const actions: string[] = [];
  let now = T0;
  actions.push(reconcile(w, now).action); // initialize
  assert.deepEqual(w.canary.status?.routes.map((r) => r.stable), [stable, stable]);
  assert.deepEqual(w.weights(), { '(none)': 100 }, 'initialize writes no route');
  actions.push(reconcile(w, now).action); // step 0
  assert.deepEqual([w.weights(0), w.weights(1)], [{ v1: 90, v2: 10 }, { v1: 90, v2: 10 }]);
  actions.push(reconcile(w, now + 1000).action); // too early
  now += INTERVAL;
  actions.push(reconcile(w, now).action); // analyse + step 1
  assert.deepEqual(w.weights(1), { v1: 50, v2: 50 });
  now += INTERVAL;
  const promote = reconcile(w, now);
  actions.push(promote.action);
  assert.equal(w.canary.status?.phase, 'Promoting');
  assert.deepEqual(w.weights(0), { v1: 0, v2: 100 });
  assert.equal(promote.audit?.weights.v2, 100);
  const done = reconcile(w, now);
  actions.push(done.action);
  assert.equal(w.canary.status?.phase, 'Succeeded');
  assert.deepEqual(done.events.map((e) => `${e.type} ${e.reason}`), ['Normal Promoted']);
  assert.deepEqual(actions, ['initialize', 'step', 'wait', 'step', 'step', 'succeed']);
  assert.equal(plan(w.input(now + INTERVAL)).action, 'wait');
});

test('threshold failed checks in a row roll back: a Warning naming metric, value and threshold, then the stable routes restored exactly', () => {
  const w = new World(spec({ threshold: 2 }));
  reconcile(w, T0);
  reconcile(w, T0);
  const first = reconcile(w, T0 + INTERVAL, 'fail');
  assert.equal(first.action, 'record');
  assert.equal(w.canary.status?.failedChecks, 1);
  assert.equal(reconcile(w, T0 + INTERVAL + 5, 'fail').action, 'wait', 'the next check waits an interval after the last one');
  const rollback = reconcile(w, T0 + 2 * INTERVAL, 'fail');
  assert.equal(rollback.action, 'rollback');
  assert.equal(rollback.events[0]?.type, 'Warning');
  assert.equal(rollback.events[0]?.reason, 'RolledBack');
  assert.match(rollback.events[0]!.message, /request-success-rate 79\.2 % < min 99 %/);
  assert.equal(w.canary.status?.phase, 'RolledBack');
  const restore = reconcile(w, T0 + 2 * INTERVAL);
  assert.equal(restore.action, 'restore');
  assert.deepEqual([w.live.get(JSON.stringify(refs[0])), w.live.get(JSON.stringify(refs[1]))], [stable, stable]);
  assert.equal(plan(w.input(T0 + 3 * INTERVAL)).action, 'wait');
});

test('a passed check between failures resets the count; inconclusive neither advances nor counts', () => {
  const w = new World(spec({ threshold: 2, stepWeights: [10, 20, 30] }));
  reconcile(w, T0);
  reconcile(w, T0);
  reconcile(w, T0 + INTERVAL, 'fail');
  assert.equal(reconcile(w, T0 + 2 * INTERVAL, 'inconclusive').action, 'record');
  assert.deepEqual([w.canary.status?.failedChecks, w.canary.status?.canaryWeight], [1, 10]);
  reconcile(w, T0 + 3 * INTERVAL, 'pass');
  assert.deepEqual([w.canary.status?.failedChecks, w.canary.status?.canaryWeight], [0, 20]);
  reconcile(w, T0 + 4 * INTERVAL, 'fail');
  assert.equal(w.canary.status?.phase, 'Progressing');
});

test('a human edit pauses (no write) with a message naming cluster, VS, route and both values; a spec change resumes from the live weights', () => {
  const w = new World(spec({ stepWeights: [10, 25, 50] }));
  reconcile(w, T0);
  reconcile(w, T0);
  w.live.set(JSON.stringify(refs[1]), weightedRoute(stable, 'v1', 'v2', 30));
  const d = reconcile(w, T0 + INTERVAL);
  assert.equal(d.action, 'pause-by-edit');
  assert.deepEqual(d.writes, []);
  const cond = w.canary.status?.conditions.find((c) => c.type === 'ManualWeightChange');
  assert.equal(cond?.status, 'True');
  assert.equal(cond?.message, 'cluster-2 VirtualService sample/helloworld http[1] has weights v1=70, v2=30, the controller wrote v1=90, v2=10');
  assert.equal(reconcile(w, T0 + 5 * INTERVAL).action, 'wait', 'nothing happens until the spec changes');
  w.editSpec({ paused: true });
  assert.equal(reconcile(w, T0 + 5 * INTERVAL).action, 'wait');
  w.editSpec({ paused: false });
  const resume = reconcile(w, T0 + 6 * INTERVAL);
  assert.equal(resume.action, 'resume');
  // Cluster-1 at 10, cluster-2 at 30: the smaller weight decides the step (10 = step 1), each route keeps its live weights.
  assert.deepEqual([w.canary.status?.phase, w.canary.status?.currentStep, w.canary.status?.canaryWeight], ['Progressing', 0, 10]);
  reconcile(w, T0 + 7 * INTERVAL);
  assert.deepEqual([w.weights(0), w.weights(1)], [{ v1: 75, v2: 25 }, { v1: 75, v2: 25 }]);
});

test('pause and resume by spec.paused keep the step; abort restores the stable routes', () => {
  const w = new World(spec());
  reconcile(w, T0);
  reconcile(w, T0);
  w.editSpec({ paused: true });
  assert.equal(reconcile(w, T0 + INTERVAL).action, 'pause');
  assert.equal(reconcile(w, T0 + 9 * INTERVAL).action, 'wait');
  assert.deepEqual(w.weights(), { v1: 90, v2: 10 });
  w.editSpec({ paused: false });
  assert.equal(reconcile(w, T0 + 10 * INTERVAL).action, 'resume');
  assert.equal(w.canary.status?.phase, 'Progressing');
  assert.equal(reconcile(w, T0 + 10 * INTERVAL + 1).action, 'wait', 'a full interval is observed after a resume');
  w.editSpec({ abort: true });
  assert.equal(reconcile(w, T0 + 11 * INTERVAL).action, 'abort');
  assert.equal(reconcile(w, T0 + 11 * INTERVAL).action, 'restore');
  assert.deepEqual(w.live.get(JSON.stringify(refs[1])), stable);
  assert.equal(w.canary.status?.phase, 'Aborted');
});

test('spec.promote goes to 100 at once, without analysis', () => {
  const w = new World(spec({ stepWeights: [10, 20, 30] }));
  reconcile(w, T0);
  reconcile(w, T0);
  w.editSpec({ promote: true });
  const d = plan(w.input(T0 + 1));
  assert.equal(d.action, 'promote');
  w.apply(d);
  assert.deepEqual(w.weights(1), { v1: 0, v2: 100 });
  assert.equal(reconcile(w, T0 + 1).action, 'succeed');
});

test('a restarted controller given the same status decides the same thing: no step repeated or skipped', () => {
  const w = new World(spec({ stepWeights: [10, 25, 50] }));
  reconcile(w, T0);
  reconcile(w, T0);
  const now = T0 + INTERVAL;
  const analysis = { ...result('pass'), time: new Date(now).toISOString() };
  // Two controller instances (the planner holds no state): same input, same decision.
  assert.deepEqual(plan(w.input(now, { analysis })), plan(w.input(now, { analysis })));
  // Killed after the route writes, before the status write: one route moved to 25, the other not yet.
  const step = plan(w.input(now, { analysis }));
  assert.equal(step.action, 'step');
  w.apply({ ...step, writes: step.writes.slice(0, 1) }, { routesOnly: true });
  assert.equal(w.canary.status?.canaryWeight, 10);
  // The restarted controller completes that step (no new analysis, no skip to 50), writing the other route only.
  const resumed = plan(w.input(now + 2000));
  assert.equal(resumed.action, 'step');
  assert.equal(resumed.writes.length, 1);
  assert.deepEqual(resumed.writes[0]?.ref, refs[1]);
  w.apply(resumed);
  assert.deepEqual([w.canary.status?.currentStep, w.canary.status?.canaryWeight, w.weights(0), w.weights(1)], [1, 25, { v1: 75, v2: 25 }, { v1: 75, v2: 25 }]);
  // And it waits a full interval at 25 before the next check.
  assert.equal(plan(w.input(now + 3000)).action, 'wait');
  // Killed after every route write: the same.
  const w2 = new World(spec({ stepWeights: [10, 25, 50] }));
  reconcile(w2, T0);
  reconcile(w2, T0);
  w2.apply(plan(w2.input(now, { analysis })), { routesOnly: true });
  const after = plan(w2.input(now + 1));
  assert.deepEqual([after.action, after.writes.length, after.status?.currentStep], ['step', 0, 1]);
  // Killed after the status write: nothing to redo.
  w2.apply(after);
  assert.equal(plan(w2.input(now + 2)).action, 'wait');
});

test('webhooks: pre-step failure counts as a failed check; confirm-promotion failure waits at the last step', () => {
  const hooks = [
    { name: 'load', type: 'pre-step' as const, url: 'http://127.0.0.1:1/' },
    { name: 'gate', type: 'confirm-promotion' as const, url: 'http://127.0.0.1:1/' },
  ];
  const w = new World(spec({ stepWeights: [10], webhooks: hooks, threshold: 3 }));
  reconcile(w, T0);
  const ask = plan(w.input(T0));
  assert.deepEqual(ask.request, { webhooks: { types: ['pre-step'], step: 0, canaryWeight: 10 } });
  const refused = reconcile(w, T0, 'pass', [{ name: 'load', type: 'pre-step', ok: false, message: 'HTTP 500' }]);
  assert.equal(refused.action, 'record');
  assert.match(w.canary.status!.message!, /pre-step webhook load: HTTP 500/);
  reconcile(w, T0 + 1, 'pass', [{ name: 'load', type: 'pre-step', ok: true, message: 'HTTP 200' }]);
  assert.equal(w.canary.status?.canaryWeight, 10);
  const wait = reconcile(w, T0 + INTERVAL, 'pass', [
    { name: 'load', type: 'pre-step', ok: true, message: 'HTTP 200' },
    { name: 'gate', type: 'confirm-promotion', ok: false, message: 'HTTP 403' },
  ]);
  assert.equal(wait.action, 'record');
  assert.deepEqual(w.weights(), { v1: 90, v2: 10 });
  reconcile(w, T0 + 2 * INTERVAL, 'pass', [
    { name: 'load', type: 'pre-step', ok: true, message: 'HTTP 200' },
    { name: 'gate', type: 'confirm-promotion', ok: true, message: 'HTTP 200' },
  ]);
  assert.deepEqual(w.weights(), { v1: 0, v2: 100 });
});

test('an undrivable target fails before anything is written, and is retried', () => {
  const w = new World(spec());
  const d = plan({ ...w.input(T0), live: [], problems: [] });
  assert.equal(d.action, 'fail');
  assert.match(d.status!.message!, /no http route of VirtualService helloworld in namespace sample sends all its traffic to helloworld/);
  w.apply(d);
  assert.equal(plan({ ...w.input(T0), problems: ['DestinationRule sample/helloworld in cluster-2 has no subset v2'] }).action, 'fail');
  assert.equal(plan(w.input(T0 + INTERVAL)).action, 'initialize');
});

test('plan is a function of its input: every status of a run, planned twice, gives the same decision', () => {
  const w = new World(spec({ stepWeights: undefined, stepWeight: 20, maxWeight: 40 }));
  let now = T0;
  const seen: CanaryStatus[] = [];
  for (let i = 0; i < 8; i++) {
    const input = w.input(now, { analysis: { ...result('pass'), time: new Date(now).toISOString() } });
    assert.deepEqual(plan(input), plan(structuredClone(input)));
    reconcile(w, now);
    seen.push(w.canary.status!);
    now += INTERVAL;
  }
  assert.deepEqual(seen.map((s) => s.canaryWeight), [0, 20, 40, 100, 100, 100, 100, 100]);
  assert.equal(seen[seen.length - 1]?.phase, 'Succeeded');
});

test('a canary Failed mid-way (a write refused) waits, and spec.abort still restores its routes', () => {
  const w = new World(spec());
  reconcile(w, T0);
  reconcile(w, T0);
  w.canary = { ...w.canary, status: { ...w.canary.status!, phase: 'Failed', message: 'write refused: forbidden' } };
  assert.equal(plan(w.input(T0 + 5 * INTERVAL)).action, 'wait');
  w.editSpec({ abort: true });
  assert.equal(reconcile(w, T0 + 6 * INTERVAL).action, 'abort');
  assert.equal(reconcile(w, T0 + 6 * INTERVAL).action, 'restore');
  assert.deepEqual(w.live.get(JSON.stringify(refs[0])), stable);
});
