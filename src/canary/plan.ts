// The canary planner, pure: (Canary with its status, the live owned routes, now, the analysis and
// webhook outcomes when asked for) -> the one next thing to do and the status to write after it. The
// controller performs the decision: route writes first, then the status, then the events and the audit
// line. Everything the planner reads is in the status and the live routes, so a restarted controller
// decides the same thing; a write the status does not record yet (a kill between the route write and
// the status write) is recognised by its weights (the next step's) and completed, never repeated.
//
// Exports: plan(input) -> Decision; types PlanInput, LiveRoute, WebhookOutcome, Decision, RouteWrite,
// PlannedEvent, AuditRecord; setCondition.
import { compareLive, describeEdit, routeLabel, routeWeights, sameWeights, weightedRoute } from './routes.js';
import { resolveSpec, type ResolvedCanarySpec } from '../config/canary/spec.js';
import type { Canary, CanaryAnalysisResult, CanaryCondition, CanaryPhase, CanaryStatus, RouteRef, RouteSnapshot } from '../config/canary/types.js';

/** One owned route as read now; `route` is undefined when the VirtualService or the route is gone. */
export interface LiveRoute {
  ref: RouteRef;
  route?: unknown[];
}

export interface WebhookOutcome {
  name: string;
  type: 'pre-step' | 'confirm-promotion';
  ok: boolean;
  /** e.g. `HTTP 503`, `timed out after 10s`, `HTTP 200`. */
  message: string;
}

export interface PlanInput {
  canary: Canary;
  /**
   * Before the stable routes are recorded: every owned route found; after: the live route at each
   * status.routes reference.
   */
  live: LiveRoute[];
  /** What makes the target undrivable, found by the controller's reads (missing VirtualService, subset). */
  problems: string[];
  now: number;
  /** Given after an `analyse` decision. */
  analysis?: CanaryAnalysisResult;
  /** Given after a `call-webhooks` decision. */
  webhooks?: WebhookOutcome[];
}

export interface RouteWrite {
  ref: RouteRef;
  /** The route as read: the patch tests it. */
  live: unknown[];
  route: unknown[];
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: 'Initialized' | 'WeightChanged' | 'Promoted' | 'RolledBack' | 'ManualWeightChange' | 'Paused' | 'Resumed' | 'Aborted' | 'Failed' | 'RoutesRestored' | 'AnalysisFailed' | 'AnalysisInconclusive' | 'WaitingForConfirmation';
  message: string;
}

/** One line of the audit log per weight change (and per rollback decision). */
export interface AuditRecord {
  time: string;
  canary: string;
  action: Decision['action'];
  step: number;
  weights: Record<string, number>;
  analysis?: CanaryAnalysisResult;
  verdict?: CanaryAnalysisResult['verdict'];
  message: string;
}

export type Action =
  | 'initialize'
  | 'step'
  | 'promote'
  | 'wait'
  | 'analyse'
  | 'call-webhooks'
  | 'record'
  | 'rollback'
  | 'abort'
  | 'restore'
  | 'pause'
  | 'pause-by-edit'
  | 'resume'
  | 'succeed'
  | 'fail';

export interface Decision {
  action: Action;
  /** Route writes, done first, each a test+replace JSON patch. */
  writes: RouteWrite[];
  /** Written after the route writes (status subresource); none for `wait`, `analyse`, `call-webhooks`. */
  status?: CanaryStatus;
  events: PlannedEvent[];
  audit?: AuditRecord;
  /** When to reconcile again (epoch ms); undefined: only on a change of the Canary. */
  requeueAt?: number;
  /** For `analyse`: the canary weight in force. For `call-webhooks`: which hooks, for which step. */
  request?: { analyse: { canaryWeight: number } } | { webhooks: { types: Array<WebhookOutcome['type']>; step: number; canaryWeight: number } };
}

const ACTIVE: readonly CanaryPhase[] = ['Initializing', 'Progressing', 'Promoting', 'Paused'];

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Conditions with `type` set; lastTransitionTime moves only when the status changes (Kubernetes' rule). */
export function setCondition(conditions: readonly CanaryCondition[], type: CanaryCondition['type'], status: CanaryCondition['status'], reason: string, message: string, now: number): CanaryCondition[] {
  const old = conditions.find((c) => c.type === type);
  const next: CanaryCondition = { type, status, reason, message, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : rfc3339(now) };
  return [...conditions.filter((c) => c.type !== type), next];
}

function conditionTrue(status: CanaryStatus, type: CanaryCondition['type']): boolean {
  return status.conditions.some((c) => c.type === type && c.status === 'True');
}

function weightsFor(spec: ResolvedCanarySpec, canaryWeight: number): Record<string, number> {
  return { [spec.baseline]: 100 - canaryWeight, [spec.canary]: canaryWeight };
}

function refKey(ref: RouteRef): string {
  return `${ref.cluster}/${ref.virtualService}/${ref.routeIndex}`;
}

function liveOf(live: readonly LiveRoute[], ref: RouteRef): unknown[] | undefined {
  return live.find((l) => refKey(l.ref) === refKey(ref))?.route;
}

class Planner {
  private readonly spec: ResolvedCanarySpec;
  private readonly name: string;
  private readonly namespace: string;
  private readonly generation: number | undefined;

  constructor(private readonly input: PlanInput, spec: ResolvedCanarySpec) {
    this.spec = spec;
    this.namespace = input.canary.metadata.namespace;
    this.name = `${this.namespace}/${input.canary.metadata.name}`;
    this.generation = input.canary.metadata.generation;
  }

  private get now(): number {
    return this.input.now;
  }

  private decision(action: Action, fields: Partial<Decision> = {}): Decision {
    return { action, writes: [], events: [], ...fields };
  }

  private status(base: CanaryStatus, patch: Partial<CanaryStatus>): CanaryStatus {
    return { ...base, ...(this.generation !== undefined ? { observedGeneration: this.generation } : {}), ...patch };
  }

  private audit(action: Action, step: number, canaryWeight: number, message: string, analysis?: CanaryAnalysisResult): AuditRecord {
    return { time: rfc3339(this.now), canary: this.name, action, step, weights: weightsFor(this.spec, canaryWeight), ...(analysis ? { analysis, verdict: analysis.verdict } : {}), message };
  }

  run(): Decision {
    const st = this.input.canary.status;
    if (!st?.phase || (st.phase === 'Failed' && st.routes.length === 0)) return this.initialize(st);
    // A Failed canary that had started can still be aborted (its routes restored).
    const abortable = ACTIVE.includes(st.phase) || (st.phase === 'Failed' && st.routes.some((r) => r.applied));
    if (!abortable) return this.terminal(st);
    if (this.spec.abort) {
      const message = 'aborted by spec.abort: restoring the stable routes';
      return this.decision('abort', { status: this.status(st, { phase: 'Aborted', message }), events: [{ type: 'Warning', reason: 'Aborted', message }], requeueAt: this.now });
    }
    if (st.phase === 'Failed') return this.decision('wait');
    if (st.phase === 'Paused') return this.paused(st);
    if (this.spec.paused) {
      const message = `paused by spec.paused at canary weight ${st.canaryWeight}`;
      return this.decision('pause', {
        status: this.status(st, { phase: 'Paused', message, conditions: setCondition(st.conditions, 'Paused', 'True', 'PausedBySpec', message, this.now) }),
        events: [{ type: 'Normal', reason: 'Paused', message }],
      });
    }
    const candidate = this.candidateWeight(st);
    const edit = this.findEdit(st, candidate);
    if (edit) return edit;
    if (candidate !== undefined && this.anyAtCandidate(st, candidate)) return this.completeInterruptedStep(st, candidate);
    if (st.phase === 'Promoting') {
      const message = `promoted: ${this.spec.canary} serves 100 % of ${this.spec.host}`;
      return this.decision('succeed', {
        status: this.status(st, { phase: 'Succeeded', message, conditions: setCondition(st.conditions, 'Promoted', 'True', 'Succeeded', message, this.now) }),
        events: [{ type: 'Normal', reason: 'Promoted', message }],
      });
    }
    if (this.spec.promote) return this.writeStep(st, 'promote', this.spec.steps.length - 1, 'promoted by spec.promote, skipping the remaining steps and analysis');
    if (st.phase === 'Initializing') return this.firstStep(st);
    return this.progressing(st);
  }

  /** Record the stable routes before any change (the status is written before any route is). */
  private initialize(st: CanaryStatus | undefined): Decision {
    const base: CanaryStatus = { phase: 'Initializing', currentStep: -1, canaryWeight: 0, failedChecks: 0, routes: [], conditions: st?.conditions ?? [] };
    const problems = [...this.input.problems];
    const found = this.input.live.filter((l) => l.route);
    if (problems.length === 0 && found.length === 0) {
      problems.push(`no http route of VirtualService ${this.spec.virtualServices.join(', ')} in namespace ${this.namespace} sends all its traffic to ${this.spec.host}${this.spec.clusters ? ` (clusters ${this.spec.clusters.join(', ')})` : ''}`);
    }
    if (problems.length > 0) {
      const message = problems.join('; ');
      const unchanged = st?.phase === 'Failed' && st.message === message;
      return this.decision('fail', {
        status: this.status(base, { phase: 'Failed', message }),
        events: unchanged ? [] : [{ type: 'Warning', reason: 'Failed', message }],
        requeueAt: this.now + this.spec.intervalMs,
      });
    }
    if (this.spec.abort) return this.decision('abort', { status: this.status(base, { phase: 'Aborted', message: 'aborted by spec.abort before any change' }), events: [{ type: 'Warning', reason: 'Aborted', message: 'aborted by spec.abort before any change' }] });
    const routes: RouteSnapshot[] = found.map((l) => ({ ...l.ref, stable: structuredClone(l.route ?? []) }));
    const message = `recorded the stable routes: ${routes.map((r) => routeLabel(r, this.namespace)).join('; ')}`;
    return this.decision('initialize', { status: this.status(base, { routes, message }), events: [{ type: 'Normal', reason: 'Initialized', message }], requeueAt: this.now });
  }

  /** Succeeded, RolledBack, Aborted, Failed: only a restore still owed is done. */
  private terminal(st: CanaryStatus): Decision {
    if ((st.phase !== 'RolledBack' && st.phase !== 'Aborted') || !st.routes.some((r) => r.applied)) return this.decision('wait');
    const writes: RouteWrite[] = [];
    const skipped: string[] = [];
    for (const snapshot of st.routes) {
      if (!snapshot.applied) continue;
      const live = liveOf(this.input.live, snapshot);
      const state = compareLive(live, snapshot);
      if (state === 'applied' && live) writes.push({ ref: refOf(snapshot), live, route: structuredClone(snapshot.stable) });
      else if (state !== 'stable') skipped.push(`${describeEdit(snapshot, this.namespace, live, snapshot)}: left as it is`);
    }
    const routes = st.routes.map(({ applied: _applied, ...rest }) => rest);
    const message = `${st.phase === 'RolledBack' ? 'rolled back' : 'aborted'}: stable routes restored${skipped.length ? `; ${skipped.join('; ')}` : ''}`;
    const events: PlannedEvent[] = [{ type: skipped.length ? 'Warning' : 'Normal', reason: skipped.length ? 'ManualWeightChange' : 'RoutesRestored', message }];
    return this.decision('restore', { writes, status: this.status(st, { routes, canaryWeight: 0, message }), events, audit: this.audit('restore', st.currentStep, 0, message, st.lastAnalysis) });
  }

  /** The weight the next write would set: what an interrupted write left behind. */
  private candidateWeight(st: CanaryStatus): number | undefined {
    if (st.phase === 'Promoting') return undefined;
    if (this.spec.promote) return 100;
    return this.spec.steps[st.currentStep + 1];
  }

  private anyAtCandidate(st: CanaryStatus, candidate: number): boolean {
    const weights = weightsFor(this.spec, candidate);
    return st.routes.some((r) => compareLive(liveOf(this.input.live, r), r, weights) === 'candidate');
  }

  private findEdit(st: CanaryStatus, candidate: number | undefined): Decision | undefined {
    const weights = candidate === undefined ? undefined : weightsFor(this.spec, candidate);
    const edits = st.routes
      .filter((r) => {
        const state = compareLive(liveOf(this.input.live, r), r, weights);
        return state === 'edited' || state === 'stable';
      })
      .map((r) => describeEdit(r, this.namespace, liveOf(this.input.live, r), r));
    if (edits.length === 0) return undefined;
    const message = `${edits.join('; ')}: paused, nothing is written until the Canary is resumed (a change of its spec with paused false, e.g. meshwork canary resume) or aborted`;
    return this.decision('pause-by-edit', {
      status: this.status(st, { phase: 'Paused', message, conditions: setCondition(st.conditions, 'ManualWeightChange', 'True', 'ManualWeightChange', edits.join('; '), this.now) }),
      events: [{ type: 'Warning', reason: 'ManualWeightChange', message: edits.join('; ') }],
    });
  }

  private paused(st: CanaryStatus): Decision {
    if (conditionTrue(st, 'ManualWeightChange')) {
      // A pause by edit ends with a change of the spec (its generation) that leaves paused false.
      const changed = this.generation !== undefined && this.generation > (st.observedGeneration ?? 0);
      if (this.spec.paused || !changed) return this.decision('wait');
      return this.resumeFromLive(st);
    }
    if (this.spec.paused) return this.decision('wait');
    const phase: CanaryPhase = st.currentStep < 0 ? 'Initializing' : st.canaryWeight >= 100 ? 'Promoting' : 'Progressing';
    const message = `resumed at canary weight ${st.canaryWeight}`;
    return this.decision('resume', {
      status: this.status(st, { phase, message, lastStepTime: rfc3339(this.now), conditions: setCondition(st.conditions, 'Paused', 'False', 'Resumed', message, this.now) }),
      events: [{ type: 'Normal', reason: 'Resumed', message }],
      requeueAt: phase === 'Progressing' ? this.now + this.spec.intervalMs : this.now,
    });
  }

  /** After a human edit: adopt the live weights (or start over from the stable routes) and go on from there. */
  private resumeFromLive(st: CanaryStatus): Decision {
    const conditions = setCondition(setCondition(st.conditions, 'ManualWeightChange', 'False', 'Resumed', 'resumed from the live weights', this.now), 'Paused', 'False', 'Resumed', 'resumed', this.now);
    const lives = st.routes.map((r) => ({ snapshot: r, live: liveOf(this.input.live, r) }));
    if (lives.every(({ snapshot, live }) => live && JSON.stringify(live) === JSON.stringify(snapshot.stable))) {
      const routes = st.routes.map(({ applied: _applied, ...rest }) => rest);
      const message = 'resumed: the routes are the stable ones again, starting over';
      return this.decision('resume', { status: this.status(st, { phase: 'Initializing', currentStep: -1, canaryWeight: 0, failedChecks: 0, routes, message, conditions }), events: [{ type: 'Normal', reason: 'Resumed', message }], requeueAt: this.now });
    }
    const unusable: string[] = [];
    const routes: RouteSnapshot[] = [];
    const canaryWeights: number[] = [];
    for (const { snapshot, live } of lives) {
      const weights = live ? routeWeights(live) : undefined;
      const keys = Object.keys(weights ?? {});
      const total = Object.values(weights ?? {}).reduce((a, b) => a + b, 0);
      if (!weights || keys.some((k) => k !== this.spec.baseline && k !== this.spec.canary) || total !== 100) {
        unusable.push(`${describeEdit(snapshot, this.namespace, live, snapshot)}: it must split between subsets ${this.spec.baseline} and ${this.spec.canary} only (summing to 100), or be the stable route`);
        routes.push(snapshot);
        continue;
      }
      const normalized = weightsFor(this.spec, weights[this.spec.canary] ?? 0);
      canaryWeights.push(normalized[this.spec.canary]!);
      routes.push({ ...snapshot, applied: normalized });
    }
    if (unusable.length > 0) {
      const message = `cannot resume: ${unusable.join('; ')}`;
      return this.decision('record', { status: this.status(st, { message }), events: [{ type: 'Warning', reason: 'ManualWeightChange', message }] });
    }
    const canaryWeight = Math.min(...canaryWeights);
    let currentStep = -1;
    this.spec.steps.forEach((w, i) => {
      if (w <= canaryWeight) currentStep = i;
    });
    const phase: CanaryPhase = canaryWeight >= 100 ? 'Promoting' : 'Progressing';
    const message = `resumed from the live weights: canary weight ${canaryWeight} (step ${currentStep + 1} of ${this.spec.steps.length})`;
    return this.decision('resume', {
      status: this.status(st, { phase, currentStep, canaryWeight, failedChecks: 0, routes, lastStepTime: rfc3339(this.now), message, conditions }),
      events: [{ type: 'Normal', reason: 'Resumed', message }],
      requeueAt: phase === 'Promoting' ? this.now : this.now + this.spec.intervalMs,
    });
  }

  /** The status says step k, some routes already carry step k+1's weights: the controller's own write, cut short. */
  private completeInterruptedStep(st: CanaryStatus, candidate: number): Decision {
    const step = this.spec.promote ? this.spec.steps.length - 1 : st.currentStep + 1;
    return this.writeStep(st, this.spec.promote ? 'promote' : 'step', step, 'completing a weight change the status did not record (the controller stopped between writing the routes and the status)', undefined, candidate);
  }

  /** Write step `step`'s weights to every route not already there; the status records the step. */
  private writeStep(st: CanaryStatus, action: 'step' | 'promote', step: number, why: string, analysis?: CanaryAnalysisResult, weightOverride?: number): Decision {
    const canaryWeight = weightOverride ?? this.spec.steps[step]!;
    const weights = weightsFor(this.spec, canaryWeight);
    const writes: RouteWrite[] = [];
    const routes = st.routes.map((snapshot) => {
      const live = liveOf(this.input.live, snapshot);
      if (live && !sameWeights(routeWeights(live), weights)) writes.push({ ref: refOf(snapshot), live, route: weightedRoute(snapshot.stable, this.spec.baseline, this.spec.canary, canaryWeight) });
      return { ...snapshot, applied: weights };
    });
    const promoting = canaryWeight >= 100;
    const message = `canary weight ${st.canaryWeight} -> ${canaryWeight} (step ${step + 1} of ${this.spec.steps.length}): ${why}`;
    return this.decision(action, {
      writes,
      status: this.status(st, {
        phase: promoting ? 'Promoting' : 'Progressing',
        currentStep: step,
        canaryWeight,
        failedChecks: 0,
        routes,
        lastStepTime: rfc3339(this.now),
        message,
        ...(analysis ? { lastAnalysis: analysis } : {}),
      }),
      events: [{ type: 'Normal', reason: 'WeightChanged', message }],
      audit: this.audit(action, step, canaryWeight, message, analysis),
      requeueAt: promoting ? this.now : this.now + this.spec.intervalMs,
    });
  }

  /** Webhooks of these types must answer before the weight changes; undefined when they have (or there are none). */
  private webhookGate(st: CanaryStatus, step: number, analysis?: CanaryAnalysisResult): Decision | undefined {
    const canaryWeight = this.spec.steps[step]!;
    const types: Array<WebhookOutcome['type']> = ['pre-step'];
    if (canaryWeight >= 100) types.push('confirm-promotion');
    const wanted = this.spec.webhooks.filter((w) => types.includes(w.type));
    if (wanted.length === 0) return undefined;
    const outcomes = this.input.webhooks;
    if (!outcomes) return this.decision('call-webhooks', { request: { webhooks: { types: [...new Set(wanted.map((w) => w.type))], step, canaryWeight } } });
    const failedPre = outcomes.filter((o) => o.type === 'pre-step' && !o.ok);
    if (failedPre.length > 0) {
      return this.failedCheck(st, failedPre.map((o) => `pre-step webhook ${o.name}: ${o.message}`), analysis);
    }
    const waiting = outcomes.filter((o) => o.type === 'confirm-promotion' && !o.ok);
    if (waiting.length > 0) {
      const message = `waiting for promotion to be confirmed: ${waiting.map((o) => `webhook ${o.name}: ${o.message}`).join('; ')}`;
      return this.decision('record', {
        status: this.status(st, { message, failedChecks: 0, ...(analysis ? { lastAnalysis: analysis } : {}) }),
        events: [{ type: 'Normal', reason: 'WaitingForConfirmation', message }],
        requeueAt: this.now + this.spec.intervalMs,
      });
    }
    return undefined;
  }

  private firstStep(st: CanaryStatus): Decision {
    return this.webhookGate(st, 0) ?? this.writeStep(st, 'step', 0, 'first step');
  }

  private failedCheck(st: CanaryStatus, reasons: string[], analysis?: CanaryAnalysisResult): Decision {
    const failedChecks = st.failedChecks + 1;
    const what = reasons.join('; ');
    if (failedChecks >= this.spec.threshold) {
      const message = `rolled back after ${failedChecks} failed check${failedChecks === 1 ? '' : 's'} in a row (threshold ${this.spec.threshold}) at canary weight ${st.canaryWeight}: ${what}`;
      return this.decision('rollback', {
        status: this.status(st, { phase: 'RolledBack', failedChecks, message, ...(analysis ? { lastAnalysis: analysis } : {}), conditions: setCondition(st.conditions, 'AnalysisFailed', 'True', 'ThresholdReached', what, this.now) }),
        events: [{ type: 'Warning', reason: 'RolledBack', message }],
        audit: this.audit('rollback', st.currentStep, st.canaryWeight, message, analysis),
        requeueAt: this.now,
      });
    }
    const message = `check failed (${failedChecks} of ${this.spec.threshold}) at canary weight ${st.canaryWeight}: ${what}`;
    return this.decision('record', {
      status: this.status(st, { failedChecks, message, ...(analysis ? { lastAnalysis: analysis } : {}) }),
      events: [{ type: 'Warning', reason: 'AnalysisFailed', message }],
      requeueAt: this.now + this.spec.intervalMs,
    });
  }

  private progressing(st: CanaryStatus): Decision {
    const stepTime = st.lastStepTime ? Date.parse(st.lastStepTime) : 0;
    const analysisTime = st.lastAnalysis ? Date.parse(st.lastAnalysis.time) : 0;
    const due = Math.max(stepTime, analysisTime) + this.spec.intervalMs;
    if (this.now < due) return this.decision('wait', { requeueAt: due });
    const analysis = this.input.analysis;
    if (!analysis) return this.decision('analyse', { request: { analyse: { canaryWeight: st.canaryWeight } } });
    if (analysis.verdict === 'fail') return this.failedCheck(st, analysis.reasons, analysis);
    if (analysis.verdict === 'inconclusive') {
      const message = `check inconclusive at canary weight ${st.canaryWeight}: ${analysis.reasons.join('; ')}`;
      return this.decision('record', { status: this.status(st, { lastAnalysis: analysis, message }), events: [{ type: 'Normal', reason: 'AnalysisInconclusive', message }], requeueAt: this.now + this.spec.intervalMs });
    }
    const next = st.currentStep + 1;
    return this.webhookGate(st, next, analysis) ?? this.writeStep(st, 'step', next, 'analysis passed', analysis);
  }
}

function refOf(r: RouteRef): RouteRef {
  return { cluster: r.cluster, virtualService: r.virtualService, routeIndex: r.routeIndex };
}

/** The next thing to do for `input.canary`. */
export function plan(input: PlanInput): Decision {
  let spec: ResolvedCanarySpec;
  try {
    spec = resolveSpec(input.canary.spec);
  } catch (err) {
    const message = `the spec cannot be read: ${err instanceof Error ? err.message : String(err)}`;
    const st = input.canary.status;
    if (st?.phase === 'Failed' && st.message === message) return { action: 'wait', writes: [], events: [] };
    const base: CanaryStatus = st ?? { phase: 'Failed', currentStep: -1, canaryWeight: 0, failedChecks: 0, routes: [], conditions: [] };
    return { action: 'fail', writes: [], events: [{ type: 'Warning', reason: 'Failed', message }], status: { ...base, phase: 'Failed', message } };
  }
  return new Planner(input, spec).run();
}
