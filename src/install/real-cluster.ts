// What `meshwork install` asks a cluster before and after applying CRDs. A real kube-apiserver lets an
// administrator create CustomResourceDefinitions; the local API servers register theirs at start and
// serve them read-only (config/kinds.ts), so discovery's verbs tell the two apart without guessing
// from names. After applying, the CRDs must be Established before the control plane lists them.
//
// CRDs are applied here with server-side apply over plain HTTPS rather than through client-node's
// typed objects: its serializer knows JSONSchemaProps by property names (xKubernetesIntOrString, _ref)
// and silently drops the `x-kubernetes-*` keys of a schema written as JSON, which the API server then
// refuses ("type: Required value") or, worse, accepts without them.
//
// Exports: clusterCreatesCrds(kc), applyCrds(kc, crds), waitForCrdsEstablished(kc, names, timeoutMs, clock, out).
import { ApiextensionsV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import type { ApplyResult } from '../k8s/client/apply.js';
import { apiErrorMessage } from '../k8s/client/client.js';
import { rawRequest } from '../k8s/client/raw-request.js';

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
export const FIELD_MANAGER = 'meshwork-install';

function statusMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: string };
    return parsed.message ?? text;
  } catch {
    return text;
  }
}

/** Server-side applies each CRD (force: install owns them); created, configured or unchanged by resourceVersion. */
export async function applyCrds(kc: KubeConfig, crds: readonly KubeObject[]): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  for (const crd of crds) {
    const name = crd.metadata.name ?? '';
    const ref = `customresourcedefinition.apiextensions.k8s.io/${name}`;
    const before = await rawRequest(kc, 'GET', `${CRD_PATH}/${name}`);
    if (before.status !== 200 && before.status !== 404) throw new Error(`meshwork install: ${ref}: ${statusMessage(before.text)}`);
    const applied = await rawRequest(kc, 'PATCH', `${CRD_PATH}/${name}?fieldManager=${FIELD_MANAGER}&force=true`, { body: { contentType: 'application/apply-patch+yaml', text: JSON.stringify(crd) } });
    if (applied.status !== 200 && applied.status !== 201) throw new Error(`meshwork install: ${ref}: ${statusMessage(applied.text)}`);
    const version = (text: string) => (JSON.parse(text) as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    results.push({ ref, outcome: before.status === 404 ? 'created' : version(before.text) === version(applied.text) ? 'unchanged' : 'configured' });
  }
  return results;
}

/** True when the API server offers `create` on customresourcedefinitions (a real cluster). */
export async function clusterCreatesCrds(kc: KubeConfig): Promise<boolean> {
  let resources;
  try {
    resources = await kc.makeApiClient(ApiextensionsV1Api).getAPIResources();
  } catch (err) {
    throw new Error(`reading the API server's apiextensions.k8s.io/v1 resources: ${apiErrorMessage(err)}`);
  }
  const crd = resources.resources.find((r) => r.name === 'customresourcedefinitions');
  return crd?.verbs.includes('create') ?? false;
}

export async function waitForCrdsEstablished(
  kc: KubeConfig,
  names: readonly string[],
  timeoutMs: number,
  clock: { now(): number; sleep(ms: number): Promise<void> },
  out: (line: string) => void,
): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = clock.now() + timeoutMs;
  let pending = [...names];
  for (;;) {
    const still: string[] = [];
    for (const name of pending) {
      let established = false;
      try {
        const crd = await api.readCustomResourceDefinition({ name });
        established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      } catch (err) {
        throw new Error(`reading customresourcedefinition ${name}: ${apiErrorMessage(err)}`);
      }
      if (!established) still.push(name);
    }
    pending = still;
    if (pending.length === 0) {
      out(`  ${names.length} CustomResourceDefinitions established`);
      return;
    }
    if (clock.now() >= deadline) {
      throw new Error(`CustomResourceDefinitions not established within ${Math.round(timeoutMs / 1000)}s: ${pending.join(', ')}; see \`kubectl get crd ${pending[0]} -o yaml\` (status.conditions)`);
    }
    await clock.sleep(250);
  }
}
