// The contract of a local cluster's object store (the role etcd plays for a real apiserver).
// The engine is sqlite-store.ts. Callers: the API server, the controllers and the kubelet of the same
// local cluster. The mesh control plane never uses this: it talks to clusters through the Kubernetes API.
import type { ResourceType } from '../../config/kinds.js';
import type { KubeObject, StoredObject } from '../../config/object.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  /** The object after the change (for DELETED: as it was, with the deletion's resourceVersion). */
  object: StoredObject;
}

export interface ListOptions {
  /** Only this namespace; undefined = all namespaces. */
  namespace?: string;
  /** Kubernetes label selector syntax: `app=x,version in (v1,v2),!canary`. */
  labelSelector?: string;
  /** Kubernetes field selector syntax: `metadata.name=x,status.phase!=Running`. */
  fieldSelector?: string;
}

export interface WatchOptions extends ListOptions {
  /**
   * Send changes after this resourceVersion. Undefined or '0': first an ADDED per current object,
   * then changes. A version older than the store remembers throws a 410 StatusError (Expired).
   */
  resourceVersion?: string;
}

export interface ListResult {
  items: StoredObject[];
  /** The store's resourceVersion at the time of the list: a watch from it misses nothing. */
  resourceVersion: string;
}

/**
 * All methods are synchronous and every write is durable on return. One global revision counter per
 * store, as etcd's: resourceVersions are decimal strings of increasing integers.
 * Objects returned are copies; mutating them changes nothing stored.
 * Errors are StatusError (config/status.ts): NotFound, AlreadyExists, Conflict, Expired.
 * Versions: objects are stored with the apiVersion they were written with; callers that serve a
 * specific version rewrite `apiVersion` on the way out.
 */
export interface ObjectStore {
  get(type: ResourceType, namespace: string | undefined, name: string): StoredObject | undefined;
  list(type: ResourceType, opts?: ListOptions): ListResult;
  /** Assigns uid, resourceVersion, creationTimestamp, generation (1); resolves metadata.generateName. */
  create(type: ResourceType, obj: KubeObject): StoredObject;
  /**
   * Replaces the object. If obj.metadata.resourceVersion is set and differs from the stored one:
   * Conflict. Keeps uid and creationTimestamp; bumps generation when anything but metadata/status changed.
   */
  update(type: ResourceType, obj: KubeObject): StoredObject;
  /** Removes the object and returns it as it was; NotFound if absent. */
  delete(type: ResourceType, namespace: string | undefined, name: string): StoredObject;
  /** Calls onEvent synchronously after each committed write that matches; returns a stop function. */
  watch(type: ResourceType, opts: WatchOptions, onEvent: (event: WatchEvent) => void): () => void;
  currentResourceVersion(): string;
  close(): void;
}
