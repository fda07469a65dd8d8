// The controller's reads and writes through @kubernetes/client-node: VirtualServices (read, JSON patch
// of owned paths), DestinationRules, Services and Pods (read), the Canary's status (JSON patch on the
// status subresource) and core/v1 Events. Every write names the field manager `meshwork-canary`.
//
// Exports: KubeIo (one cluster's access), canaryEvent (the Event object, pure).
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { apiErrorCode } from '../k8s/client/client.js';
import type { PlannedEvent } from './plan.js';
import type { JsonPatchOp } from './routes.js';
import { CANARY_API_VERSION, CANARY_FIELD_MANAGER, CANARY_GROUP, CANARY_KIND, CANARY_PLURAL, CANARY_VERSION, type Canary, type CanaryStatus } from '../config/canary/types.js';

const ISTIO_GROUP = 'networking.istio.io';
const ISTIO_VERSION = 'v1';
const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

export interface KubeObjectLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: unknown;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The core/v1 Event for one planned event on the Canary (`reportingController` meshwork-canary). */
export function canaryEvent(canary: Canary, event: PlannedEvent, now: number, suffix: string): Record<string, unknown> {
  const at = rfc3339(now);
  return {
    metadata: { name: `${canary.metadata.name}.${suffix}`, namespace: canary.metadata.namespace },
    involvedObject: { apiVersion: CANARY_API_VERSION, kind: CANARY_KIND, name: canary.metadata.name, namespace: canary.metadata.namespace, ...(canary.metadata.uid ? { uid: canary.metadata.uid } : {}) },
    type: event.type,
    reason: event.reason,
    message: event.message,
    source: { component: CANARY_FIELD_MANAGER },
    reportingComponent: CANARY_FIELD_MANAGER,
    reportingInstance: CANARY_FIELD_MANAGER,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

export class KubeIo {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(readonly cluster: string, readonly kubeConfig: KubeConfig) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async getVirtualService(namespace: string, name: string): Promise<KubeObjectLike | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: ISTIO_GROUP, version: ISTIO_VERSION, namespace, plural: 'virtualservices', name })) as KubeObjectLike;
    } catch (err) {
      if (apiErrorCode(err) === 404) return undefined;
      throw err;
    }
  }

  async patchVirtualService(namespace: string, name: string, ops: JsonPatchOp[]): Promise<void> {
    await this.custom.patchNamespacedCustomObject({ group: ISTIO_GROUP, version: ISTIO_VERSION, namespace, plural: 'virtualservices', name, body: ops, fieldManager: CANARY_FIELD_MANAGER }, JSON_PATCH);
  }

  async listDestinationRules(namespace: string): Promise<KubeObjectLike[]> {
    const list = (await this.custom.listNamespacedCustomObject({ group: ISTIO_GROUP, version: ISTIO_VERSION, namespace, plural: 'destinationrules' })) as { items?: KubeObjectLike[] };
    return list.items ?? [];
  }

  /** The Service's selector, or undefined when the cluster has no such Service. */
  async serviceSelector(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      return (await this.core.readNamespacedService({ namespace, name })).spec?.selector ?? {};
    } catch (err) {
      if (apiErrorCode(err) === 404) return undefined;
      throw err;
    }
  }

  async listPods(namespace: string, selector: Record<string, string>): Promise<V1Pod[]> {
    const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
    return (await this.core.listNamespacedPod({ namespace, ...(labelSelector ? { labelSelector } : {}) })).items;
  }

  async getCanary(namespace: string, name: string): Promise<Canary | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: CANARY_GROUP, version: CANARY_VERSION, namespace, plural: CANARY_PLURAL, name })) as Canary;
    } catch (err) {
      if (apiErrorCode(err) === 404) return undefined;
      throw err;
    }
  }

  async listCanaries(): Promise<Canary[]> {
    const list = (await this.custom.listClusterCustomObject({ group: CANARY_GROUP, version: CANARY_VERSION, plural: CANARY_PLURAL })) as { items?: Canary[] };
    return list.items ?? [];
  }

  /** Replaces the whole status through the status subresource. */
  async writeStatus(canary: Canary, status: CanaryStatus): Promise<Canary> {
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { group: CANARY_GROUP, version: CANARY_VERSION, namespace: canary.metadata.namespace, plural: CANARY_PLURAL, name: canary.metadata.name, body: [{ op: 'add', path: '/status', value: status }], fieldManager: CANARY_FIELD_MANAGER },
      JSON_PATCH,
    )) as Canary;
  }

  async createEvent(canary: Canary, event: PlannedEvent, now: number): Promise<void> {
    const suffix = `${now.toString(16)}${randomBytes(4).toString('hex')}`;
    await this.core.createNamespacedEvent({ namespace: canary.metadata.namespace, body: canaryEvent(canary, event, now, suffix) as never });
  }
}
