// The parts of a core/v1 Pod the injector reads and writes. Everything else in the pod is carried
// through untouched (the index signatures), since the injector answers with a patch, not a new pod.

import type { ContainerPort, EnvVar } from '../config/core-v1.js';

export type { EnvVar };

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: Array<ContainerPort & { [field: string]: unknown }>;
  readinessProbe?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface PodMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; controller?: boolean }>;
  [field: string]: unknown;
}

export interface Pod {
  apiVersion: string;
  kind: string;
  metadata: PodMeta;
  spec: { containers: Container[]; initContainers?: Container[]; hostNetwork?: boolean; [field: string]: unknown };
  [field: string]: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringMap(value: unknown, path: string): void {
  if (value === undefined) return;
  if (!isRecord(value)) throw new Error(`${path} must be a map of strings`);
  for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') throw new Error(`${path}.${k} must be a string, got ${typeof v}`);
}

/** Checks the fields the injector relies on and returns the pod typed; throws naming the bad field. */
export function readPod(value: unknown): Pod {
  if (!isRecord(value)) throw new Error('the object is not a JSON object');
  if (value.kind !== undefined && value.kind !== 'Pod') throw new Error(`expected a Pod, got kind ${String(value.kind)}`);
  const metadata = value.metadata ?? {};
  if (!isRecord(metadata)) throw new Error('metadata must be an object');
  stringMap(metadata.labels, 'metadata.labels');
  stringMap(metadata.annotations, 'metadata.annotations');
  const spec = value.spec;
  if (!isRecord(spec)) throw new Error('spec must be an object');
  for (const field of ['containers', 'initContainers'] as const) {
    const list = spec[field];
    if (list === undefined && field === 'initContainers') continue;
    if (!Array.isArray(list)) throw new Error(`spec.${field} must be a list`);
    list.forEach((c, i) => {
      if (!isRecord(c) || typeof c.name !== 'string') throw new Error(`spec.${field}[${i}] must be an object with a name`);
      if (c.env !== undefined && !Array.isArray(c.env)) throw new Error(`spec.${field}[${i}].env must be a list`);
      if (c.ports !== undefined && !Array.isArray(c.ports)) throw new Error(`spec.${field}[${i}].ports must be a list`);
      if (c.args !== undefined && !Array.isArray(c.args)) throw new Error(`spec.${field}[${i}].args must be a list`);
    });
  }
  // The checks above are what these fields' types promise.
  return structuredClone(value) as Pod;
}
