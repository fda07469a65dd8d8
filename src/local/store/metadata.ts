// The metadata the store owns: names from generateName, timestamps, generation.
import { randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../../k8s/object.js';

// The apiserver's alphabet for generated names: no vowels (no words), no look-alike characters.
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const NAME_SUFFIX_LENGTH = 5;
const MAX_GENERATED_NAME_LENGTH = 63;

/** generateName + 5 random characters; the prefix is cut so the name stays within 63 characters. */
export function generatedName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < NAME_SUFFIX_LENGTH; i++) suffix += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return prefix.slice(0, MAX_GENERATED_NAME_LENGTH - NAME_SUFFIX_LENGTH) + suffix;
}

/** RFC 3339 in UTC without fractional seconds, as metav1.Time serializes: 2026-11-25T10:00:00Z. */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

function withoutMetadataAndStatus(obj: KubeObject): Record<string, unknown> {
  const { metadata: _metadata, status: _status, ...rest } = obj;
  return rest;
}

/** Whether anything outside metadata and status differs: the apiserver's rule for bumping generation. */
export function specChanged(before: KubeObject, after: KubeObject): boolean {
  return !isDeepStrictEqual(withoutMetadataAndStatus(before), withoutMetadataAndStatus(after));
}

// The order the apiserver prints metadata fields in, so stored objects read the same in `-o yaml`.
const METADATA_ORDER = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers'];

/** A copy of `meta` with the well-known fields first, in apiserver order; undefined values dropped. */
export function orderedMetadata<T extends Record<string, unknown>>(meta: T): T {
  const out: Record<string, unknown> = {};
  for (const key of METADATA_ORDER) if (meta[key] !== undefined) out[key] = meta[key];
  for (const [key, value] of Object.entries(meta)) if (!(key in out) && value !== undefined) out[key] = value;
  return out as T;
}
