// `apply -f` through @kubernetes/client-node: create, or three-way merge patch against the last applied
// configuration (kept in the same annotation kubectl uses, so kubectl and meshwork can take turns).
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { findByApiVersionKind, parseApiVersion } from '../kinds.js';
import type { KubeObject } from '../object.js';
import { apiErrorCode, apiErrorMessage } from './client.js';
import type { Manifest } from './manifests.js';
import { threeWayMergePatch } from './merge-patch.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  /** kubectl's name for it: `deployment.apps/helloworld-v1`. */
  ref: string;
  outcome: ApplyOutcome;
}

export function objectRef(obj: KubeObject): string {
  const { group } = parseApiVersion(obj.apiVersion);
  return `${obj.kind.toLowerCase()}${group ? `.${group}` : ''}/${obj.metadata.name}`;
}

export async function applyObjects(kc: KubeConfig, manifests: Manifest[], opts: { namespace?: string } = {}): Promise<ApplyResult[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const results: ApplyResult[] = [];
  for (const { object, source } of manifests) {
    const desired = withNamespace(object, opts.namespace);
    const lastApplied = JSON.stringify(desired);
    const annotated: KubeObject = {
      ...desired,
      metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, [LAST_APPLIED]: lastApplied + '\n' } },
    };
    try {
      const live = await readOrUndefined(api, desired);
      if (!live) {
        await api.create(annotated as KubernetesObject);
        results.push({ ref: objectRef(desired), outcome: 'created' });
        continue;
      }
      const previous = parseLastApplied(live.metadata?.annotations?.[LAST_APPLIED]);
      const patch = threeWayMergePatch(previous, annotated, live);
      if (patch === undefined) {
        results.push({ ref: objectRef(desired), outcome: 'unchanged' });
        continue;
      }
      const body = { ...(patch as Record<string, unknown>), apiVersion: desired.apiVersion, kind: desired.kind, metadata: { ...((patch as { metadata?: object }).metadata ?? {}), name: desired.metadata.name, namespace: desired.metadata.namespace } };
      await api.patch(body as KubernetesObject, undefined, undefined, 'meshwork', undefined, PatchStrategy.MergePatch);
      results.push({ ref: objectRef(desired), outcome: 'configured' });
    } catch (err) {
      throw new Error(`${source}: ${objectRef(desired)}: ${apiErrorMessage(err)}`);
    }
  }
  return results;
}

function withNamespace(obj: KubeObject, namespace: string | undefined): KubeObject {
  if (!namespace || obj.metadata.namespace || findByApiVersionKind(obj.apiVersion, obj.kind)?.namespaced === false) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace } };
}

async function readOrUndefined(api: KubernetesObjectApi, obj: KubeObject): Promise<KubernetesObject | undefined> {
  try {
    return await api.read({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name ?? '', namespace: obj.metadata.namespace } });
  } catch (err) {
    if (apiErrorCode(err) === 404) return undefined;
    throw err;
  }
}

function parseLastApplied(text: string | undefined): unknown {
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    // kubectl treats an unreadable annotation as absent too: the next apply rewrites it.
    return {};
  }
}
