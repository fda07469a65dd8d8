// Reading structured LabelSelectors (Deployment and ReplicaSet `spec.selector`) out of objects whose
// fields are `unknown`. Matching and the string form are the store's (k8s/selectors.ts).
import type { LabelSelector, LabelSelectorRequirement } from '../../k8s/selectors.js';
import { MalformedObjectError, isRecord, optArray, optRecord, optString, optStringMap } from './read.js';

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

function isOperator(value: string | undefined): value is LabelSelectorRequirement['operator'] {
  return OPERATORS.some((op) => op === value);
}

export function readLabelSelector(value: unknown, path: string): LabelSelector {
  const obj = optRecord(value, path) ?? {};
  const matchLabels = optStringMap(obj.matchLabels, `${path}.matchLabels`);
  const matchExpressions: LabelSelectorRequirement[] = [];
  for (const [i, raw] of optArray(obj.matchExpressions, `${path}.matchExpressions`).entries()) {
    const at = `${path}.matchExpressions[${i}]`;
    if (!isRecord(raw)) throw new MalformedObjectError(at, 'an object', raw);
    const key = optString(raw.key, `${at}.key`);
    if (!key) throw new MalformedObjectError(`${at}.key`, 'a label key', raw.key);
    const operator = optString(raw.operator, `${at}.operator`);
    if (!isOperator(operator)) throw new MalformedObjectError(`${at}.operator`, 'one of In, NotIn, Exists, DoesNotExist', raw.operator);
    const values = optArray(raw.values, `${at}.values`).map((v, j) => {
      if (typeof v !== 'string') throw new MalformedObjectError(`${at}.values[${j}]`, 'a string', v);
      return v;
    });
    if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
      throw new MalformedObjectError(`${at}.values`, `a non-empty list for operator ${operator}`, raw.values);
    }
    matchExpressions.push({ key, operator, ...(values.length ? { values } : {}) });
  }
  return {
    ...(matchLabels ? { matchLabels } : {}),
    ...(matchExpressions.length ? { matchExpressions } : {}),
  };
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/** Whether labels carry every pair of a plain map selector (a Service's `spec.selector`). */
export function matchesMapSelector(selector: Record<string, string>, labels: Readonly<Record<string, string>> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) {
    if (labels?.[k] !== v) return false;
  }
  return true;
}
