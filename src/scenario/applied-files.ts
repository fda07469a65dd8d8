// What the demo applied, cluster by cluster, as files: the walkthrough's expected splits are derived
// from them (mesh-cli/intent), not from what the mesh made of them. Workloads become placeholder
// endpoints (as `meshwork analyze -f` makes them), so the intent speaks for versions and member
// clusters, not for pod names.

import type { KubeObject } from '../k8s/object.js';
import type { Manifest } from '../k8s/client/manifests.js';
import { offlineSnapshot } from '../mesh-cli/analyze-offline.js';
import type { Shares } from '../mesh-cli/expected-split.js';
import { deriveIntent } from '../mesh-cli/intent/derive.js';
import type { DerivedIntent, Intent, IntentRequest, IntentSource, KnownService } from '../mesh-cli/intent/model.js';

export class AppliedFiles {
  readonly #byCluster = new Map<string, KubeObject[]>();

  /** As `kubectl apply -n namespace`: objects that name no namespace get it (kind Namespace excepted). */
  record(cluster: string, manifests: readonly Manifest[], namespace?: string): void {
    const objects = this.#byCluster.get(cluster) ?? [];
    for (const { object } of manifests) {
      const placed = namespace && object.kind !== 'Namespace' && !object.metadata.namespace ? { ...object, metadata: { ...object.metadata, namespace } } : object;
      objects.push(placed);
    }
    this.#byCluster.set(cluster, objects);
  }

  forget(cluster: string, kind: string, namespace: string, name: string): void {
    const objects = this.#byCluster.get(cluster) ?? [];
    this.#byCluster.set(cluster, objects.filter((o) => !(o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name)));
  }

  /** The pod template labels of a Deployment applied to `cluster`. */
  podLabels(cluster: string, namespace: string, deployment: string): Record<string, string> {
    const object = (this.#byCluster.get(cluster) ?? []).findLast((o) => o.kind === 'Deployment' && o.metadata.namespace === namespace && o.metadata.name === deployment);
    const template = (object?.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template;
    if (!template) throw new Error(`the demo applied no Deployment ${namespace}/${deployment} to ${cluster}`);
    return template.metadata?.labels ?? {};
  }

  /** The split a request from a pod of `cluster` should get: that cluster's Istio config, every cluster's workloads. */
  intent(cluster: string, source: IntentSource, request: IntentRequest): Intent {
    const snapshots = [...this.#byCluster].map(([id, objects]) => ({
      id,
      snapshot: offlineSnapshot(objects.map((object) => ({ object, source: `applied to ${id}` })), 'default').snapshot,
    }));
    const own = snapshots.find((s) => s.id === cluster)?.snapshot;
    if (!own) throw new Error(`the demo applied nothing to ${cluster}`);
    const services = new Map<string, KnownService>();
    for (const { snapshot } of snapshots) for (const s of snapshot.services) if (!services.has(s.hostname)) services.set(s.hostname, s);
    return deriveIntent({
      config: { virtualServices: own.virtualServices, destinationRules: own.destinationRules, serviceEntries: own.serviceEntries, gateways: own.gateways },
      services: [...services.values()],
      endpoints: snapshots.flatMap(({ id, snapshot }) => snapshot.endpoints.map((e) => ({ ...e, cluster: id }))),
      source,
      request,
    });
  }
}

/** Requests spread evenly over several intents: the edge balances evenly over healthy gateways. */
export function evenlyOver(intents: readonly DerivedIntent[]): Shares {
  return {
    endpoints: intents.flatMap((i) => i.endpoints.map((e) => ({ ...e, share: e.share / intents.length }))),
    failShare: intents.reduce((sum, i) => sum + i.failShare, 0) / intents.length,
  };
}
