// Reads Kubernetes YAML the way `kubectl apply -f` does: files or folders, multi-document, with errors
// that name the file and the document.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../object.js';

export interface Manifest {
  object: KubeObject;
  /** "path/file.yaml, document 2" */
  source: string;
}

const YAML_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export function readManifests(paths: string[]): Manifest[] {
  return paths.flatMap((p) => {
    const stat = statSync(p);
    if (stat.isDirectory()) {
      return readdirSync(p)
        .filter((name) => YAML_EXTENSIONS.has(extname(name)))
        .sort()
        .flatMap((name) => parseManifests(readFileSync(join(p, name), 'utf8'), join(p, name)));
    }
    return parseManifests(readFileSync(p, 'utf8'), p);
  });
}

export function parseManifests(text: string, file: string): Manifest[] {
  const out: Manifest[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const source = `${file}, document ${i + 1}`;
    if (doc.errors.length > 0) throw new Error(`${source}: invalid YAML: ${doc.errors[0].message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: expected a Kubernetes object (a mapping with apiVersion, kind, metadata)`);
    const obj = value as Record<string, unknown>;
    if (obj.kind === 'List' && Array.isArray(obj.items)) {
      (obj.items as unknown[]).forEach((item, j) => out.push({ object: checkObject(item, `${source}, item ${j + 1}`), source: `${source}, item ${j + 1}` }));
      return;
    }
    out.push({ object: checkObject(obj, source), source });
  });
  return out;
}

function checkObject(value: unknown, source: string): KubeObject {
  const obj = value as Partial<KubeObject> | null;
  const missing = ['apiVersion', 'kind'].filter((f) => typeof obj?.[f as 'kind'] !== 'string' || !obj[f as 'kind']);
  if (!obj || missing.length > 0) throw new Error(`${source}: missing ${missing.join(' and ')}: every object needs apiVersion and kind`);
  if (!obj.metadata || typeof obj.metadata !== 'object' || typeof obj.metadata.name !== 'string') {
    throw new Error(`${source}: ${obj.kind} has no metadata.name`);
  }
  return obj as KubeObject;
}
