// Fields of an Istio object that its schema does not declare (`wieght:` for `weight:`): the apiserver
// refuses them under strict field validation, and a lenient one drops them silently, so the config
// would not do what it says. Each is a finding naming the field and the declared name nearest to it.

import type { FieldShape } from '../config/schemas/field-shape.js';

export interface MisspeltField {
  /** spec.http[0].route[0].wieght */
  field: string;
  /** The declared field nearest to it, when one is close enough to be what was meant. */
  suggestion?: string;
}

/** Levenshtein distance, case-insensitive (`Weight` for `weight` is one slip, not six). */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[y.length];
}

/** The declared name nearest to `name`, if within a third of its length (at least 2 edits allowed). */
export function nearestName(name: string, declared: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of declared) {
    const distance = editDistance(name, candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function misspeltFields(value: unknown, shape: FieldShape, path: string): MisspeltField[] {
  switch (shape.kind) {
    case 'open':
      return [];
    case 'array':
      return Array.isArray(value) ? value.flatMap((item, i) => misspeltFields(item, shape.items, `${path}[${i}]`)) : [];
    case 'map':
      return isPlainObject(value) ? Object.entries(value).flatMap(([key, item]) => misspeltFields(item, shape.values, `${path}[${key}]`)) : [];
    case 'object': {
      if (!isPlainObject(value)) return [];
      const fields = shape.fields();
      return Object.entries(value).flatMap(([key, item]) => {
        const fieldPath = path ? `${path}.${key}` : key;
        const fieldShape = fields.get(key) ?? shape.rest;
        if (fieldShape) return misspeltFields(item, fieldShape, fieldPath);
        const suggestion = nearestName(key, fields.keys());
        return [{ field: fieldPath, ...(suggestion ? { suggestion } : {}) }];
      });
    }
  }
}
