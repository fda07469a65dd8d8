// What `meshwork install` asks a cluster before and after applying CRDs. A real kube-apiserver lets an
// administrator create CustomResourceDefinitions; the local API servers register theirs at start and
// serve them read-only (config/kinds.ts), so discovery's verbs tell the two apart without guessing
// from names. After applying, the CRDs must be Established before the control plane lists them.
//
// Exports: clusterCreatesCrds(kc), waitForCrdsEstablished(kc, names, timeoutMs, clock, out).
import { ApiextensionsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { apiErrorMessage } from '../kubeapi/client.js';

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
