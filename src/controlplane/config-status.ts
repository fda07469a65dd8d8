// An Istio config object's analysis findings as its `status`, in Istio's IstioStatus shape (istio/api
// meta/v1alpha1/status.proto), as istiod writes it with analysis in status enabled:
//   validationMessages: [{type: {code, name}, level, documentationUrl}]   one per finding
//   observedGeneration: the generation the findings are about
// Istio's AnalysisMessageBase has no field for the text (its codes are meant to be static) and its
// CRD prunes unknown fields inside a message, so the text goes where the schema has free text: the
// `message` of one condition, `AnalysisMessages`, one line per finding with its field path.
// Pure: what the object's status should be; the caller writes it (status-reporter.ts).

import { isDeepStrictEqual } from 'node:util';
import { rfc3339 } from '../k8s/time-format.js';
import type { Problem } from '../config/problems.js';
import { documentationUrl, messageType } from './analysis-messages.js';

/** The condition that carries the findings' text; present only while there are findings. */
export const ANALYSIS_CONDITION = 'AnalysisMessages';

export interface AnalysisMessageBase {
  type: { name: string; code: string };
  level: 'ERROR' | 'WARNING' | 'INFO';
  documentationUrl?: string;
}

export interface IstioCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
  [field: string]: unknown;
}

export type StatusUpdate =
  | { changed: false }
  /** status undefined: the object has no status left. */
  | { changed: true; status: Record<string, unknown> | undefined };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function validationMessage(p: Problem): AnalysisMessageBase {
  const type = messageType(p.code);
  const url = documentationUrl(type);
  return { type: { name: type.name, code: type.code }, level: p.severity === 'error' ? 'ERROR' : p.severity === 'warning' ? 'WARNING' : 'INFO', ...(url ? { documentationUrl: url } : {}) };
}

/** `Error [IST0101] subset "v3" ... (at spec.http[0].route[1].destination.subset)` */
function findingLine(p: Problem): string {
  return `${p.severity === 'error' ? 'Error' : p.severity === 'warning' ? 'Warning' : 'Info'} [${messageType(p.code).code}] ${p.message}${p.field ? ` (at ${p.field})` : ''}`;
}

function analysisCondition(findings: readonly Problem[], previous: IstioCondition | undefined, now: Date): IstioCondition {
  const first = findings.find((p) => p.severity === 'error') ?? findings[0];
  return {
    type: ANALYSIS_CONDITION,
    status: 'True',
    // The condition's status never changes while it exists: it transitioned when it appeared.
    lastTransitionTime: previous?.status === 'True' && typeof previous.lastTransitionTime === 'string' ? previous.lastTransitionTime : rfc3339(now.getTime()),
    reason: messageType(first.code).name,
    message: findings.map(findingLine).join('\n'),
  };
}

/**
 * The status `current` should have with `findings` (this object's problems, in order) at
 * `generation`. Everything else in the status (other controllers' conditions) is kept; without
 * findings, the messages, the condition and (when no other condition refers to it) observedGeneration
 * go away, so an object whose findings were fixed looks as if it never had any.
 */
export function analysisStatus(current: unknown, findings: readonly Problem[], generation: number | undefined, now: Date): StatusUpdate {
  const { conditions, validationMessages: messages, observedGeneration, ...rest } = isObject(current) ? current : {};
  const conditionList = Array.isArray(conditions) ? conditions.filter(isObject) : [];
  const previous = conditionList.find((c): c is IstioCondition => c.type === ANALYSIS_CONDITION);
  const others = conditionList.filter((c) => c.type !== ANALYSIS_CONDITION);
  let next: Record<string, unknown>;
  if (findings.length > 0) {
    next = {
      conditions: [...others, analysisCondition(findings, previous, now)],
      validationMessages: findings.map(validationMessage),
      ...(generation !== undefined ? { observedGeneration: generation } : observedGeneration !== undefined ? { observedGeneration } : {}),
      ...rest,
    };
  } else {
    // Nothing of ours to take away: the status is someone else's business.
    if (!previous && messages === undefined) return { changed: false };
    next = {
      ...(others.length > 0 ? { conditions: others, ...(observedGeneration !== undefined ? { observedGeneration } : {}) } : {}),
      ...rest,
    };
  }
  const nextStatus = Object.keys(next).length > 0 ? next : undefined;
  const currentStatus = isObject(current) && Object.keys(current).length > 0 ? current : undefined;
  return isDeepStrictEqual(currentStatus, nextStatus) ? { changed: false } : { changed: true, status: nextStatus };
}
