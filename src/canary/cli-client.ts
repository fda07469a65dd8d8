// The Canary through the Kubernetes API, as the CLI uses it: get, create, a merge patch of spec, and a
// watch of one object (kubectl's `get -w NAME`: a field selector on metadata.name, resumed from the last
// resourceVersion when the server ends the stream, relisted on 410 Gone).
import { CustomObjectsApi, PatchStrategy, Watch, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiErrorCode, apiErrorMessage } from '../k8s/client/client.js';
import { CANARY_GROUP, CANARY_PLURAL, CANARY_VERSION, type Canary, type CanarySpec } from '../config/canary/types.js';

export const CANARY_RESOURCE = `${CANARY_PLURAL}.${CANARY_GROUP}`;
const FIELD_MANAGER = 'meshwork';
const RELIST_PAUSE_MS = 500;

/** An API error as the user should read it: a missing Canary in kubectl's words, a missing kind with the fix. */
export function canaryApiError(err: unknown, name: string): Error {
  const code = apiErrorCode(err);
  const message = apiErrorMessage(err);
  if (code === 404) {
    if (message.includes(`"${name}" not found`)) return new Error(message);
    return new Error(`the server does not serve ${CANARY_RESOURCE}/${CANARY_VERSION} (${message}): the cluster needs the Canary CRD (local clusters serve it; on a real cluster apply the CRD manifest)`);
  }
  return new Error(message);
}

export class CanaryClient {
  private readonly api: CustomObjectsApi;
  constructor(private readonly kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  private ref(namespace: string) {
    return { group: CANARY_GROUP, version: CANARY_VERSION, namespace, plural: CANARY_PLURAL };
  }

  async get(namespace: string, name: string): Promise<Canary> {
    try {
      return (await this.api.getNamespacedCustomObject({ ...this.ref(namespace), name })) as Canary;
    } catch (err) {
      throw canaryApiError(err, name);
    }
  }

  async create(canary: Canary): Promise<Canary> {
    try {
      return (await this.api.createNamespacedCustomObject({ ...this.ref(canary.metadata.namespace), body: canary, fieldManager: FIELD_MANAGER })) as Canary;
    } catch (err) {
      throw canaryApiError(err, canary.metadata.name);
    }
  }

  /** A JSON merge patch of spec (what `kubectl patch --type merge` sends). */
  async patchSpec(namespace: string, name: string, spec: { [K in keyof CanarySpec]?: CanarySpec[K] | null }): Promise<Canary> {
    try {
      return (await this.api.patchNamespacedCustomObject(
        { ...this.ref(namespace), name, body: { spec }, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as Canary;
    } catch (err) {
      throw canaryApiError(err, name);
    }
  }

  /**
   * Calls `onChange` with the object now and on every change until it returns true (or the signal
   * aborts). A deletion ends the watch with kubectl's NotFound message.
   */
  async watch(namespace: string, name: string, onChange: (canary: Canary) => boolean, signal?: AbortSignal): Promise<void> {
    let current = await this.get(namespace, name);
    if (onChange(current)) return;
    const path = `/apis/${CANARY_GROUP}/${CANARY_VERSION}/namespaces/${namespace}/${CANARY_PLURAL}`;
    for (;;) {
      if (signal?.aborted) return;
      const outcome = await new Promise<'done' | 'again' | 'relist' | Error>((resolve) => {
        let settled = false;
        const settle = (v: 'done' | 'again' | 'relist' | Error, controller?: AbortController) => {
          if (settled) return;
          settled = true;
          controller?.abort();
          resolve(v);
        };
        let controller: AbortController | undefined;
        const onAbort = () => settle('done', controller);
        signal?.addEventListener('abort', onAbort, { once: true });
        new Watch(this.kc)
          .watch(
            path,
            { fieldSelector: `metadata.name=${name}`, resourceVersion: current.metadata.resourceVersion, allowWatchBookmarks: true },
            (type, obj: unknown) => {
              if (type === 'BOOKMARK') {
                const rv = (obj as Canary).metadata?.resourceVersion;
                if (rv) current = { ...current, metadata: { ...current.metadata, resourceVersion: rv } };
                return;
              }
              if (type === 'ERROR') {
                settle((obj as { code?: number }).code === 410 ? 'relist' : new Error(`watch of ${CANARY_RESOURCE}/${name}: ${(obj as { message?: string }).message ?? 'error'}`), controller);
                return;
              }
              if (type === 'DELETED') {
                settle(new Error(`${CANARY_RESOURCE} "${name}" not found (deleted while watching)`), controller);
                return;
              }
              current = obj as Canary;
              if (onChange(current)) settle('done', controller);
            },
            (err: unknown) => {
              signal?.removeEventListener('abort', onAbort);
              if (err && !settled && !(err as { name?: string }).name?.includes('Abort')) settle('relist');
              else settle('again');
            },
          )
          .then((c) => {
            controller = c;
            if (settled) c.abort();
          })
          .catch((err: unknown) => settle(canaryApiError(err, name)));
      });
      if (outcome === 'done') return;
      if (outcome instanceof Error) throw outcome;
      if (outcome === 'relist') {
        // A dropped connection or an expired resourceVersion: read the object anew, without hammering a server that is away.
        await sleep(RELIST_PAUSE_MS);
        current = await this.get(namespace, name);
        if (onChange(current)) return;
      }
    }
  }
}
