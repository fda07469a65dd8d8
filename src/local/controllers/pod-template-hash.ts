// The `pod-template-hash` that names a Deployment's ReplicaSets, computed the way
// kube-controller-manager does: FNV-1a (32 bit) over the pod template, plus the collision count when
// set, and the decimal hash rendered in the vowel-free alphabet of apimachinery's SafeEncodeString.
// Kubernetes hashes a Go-specific dump of the struct; we hash the template's canonical JSON instead,
// which is as stable (same template -> same hash) though the values differ from a real cluster's.
import { canonicalJson } from './read.js';

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

export function fnv1a32(bytes: Uint8Array, seed = FNV32_OFFSET): number {
  let hash = seed;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, FNV32_PRIME) >>> 0;
  }
  return hash >>> 0;
}

/** Maps every character to the safe alphabet, as apimachinery's rand.SafeEncodeString. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

export function computePodTemplateHash(template: unknown, collisionCount?: number): string {
  let hash = fnv1a32(new TextEncoder().encode(canonicalJson(template)));
  if (collisionCount !== undefined) {
    // Eight little-endian bytes holding the uint32 count, as controller.ComputeHash writes it.
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setUint32(0, collisionCount >>> 0, true);
    hash = fnv1a32(bytes, hash);
  }
  return safeEncodeString(String(hash));
}
