// The contract of a local cluster's object store (the role etcd plays for a real apiserver).
// The engine is sqlite-store.ts. Callers: the API server, the controllers and the kubelet of the same
// local cluster. The mesh control plane never uses this: it talks to clusters through the Kubernetes API.
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject, StoredObject } from '../../k8s/object.js';

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
  /**
   * The store's resourceVersion at the time of the list: a watch from it misses nothing. A store that
   * has never been written is at '0', so that watch starts with ADDED for whatever exists by then.
   */
  resourceVersion: string;
}

/**
 * All methods are synchronous and every write is durable on return. One global revision counter per
 * store, as etcd's: resourceVersions are decimal strings of increasing integers.
 * Objects returned are copies; mutating them changes nothing stored.
 * Errors are StatusError (k8s/status.ts): NotFound, AlreadyExists, Conflict, Expired; also
 * Invalid (no name nor generateName), BadRequest (namespaced type without a namespace, bad selector).
 * Versions: objects are stored with the apiVersion they were written with; callers that serve a
 * specific version rewrite `apiVersion` on the way out.
 */
export interface ObjectStore {
  get(type: ResourceType, namespace: string | undefined, name: string): StoredObject | undefined;
  list(type: ResourceType, opts?: ListOptions): ListResult;
  /**
   * Assigns uid (the caller's `uid` when given: the API server chooses it first when a kind's create
   * needs it, as a Job's generated selector does), resourceVersion, creationTimestamp, generation (1);
   * resolves metadata.generateName.
   */
  create(type: ResourceType, obj: KubeObject, opts?: { uid?: string }): StoredObject;
  /**
   * Replaces the object. If obj.metadata.resourceVersion is set and differs from the stored one:
   * Conflict. Keeps uid and creationTimestamp; bumps generation when anything but metadata/status changed.
   * An update that changes nothing returns the stored object without a new revision or event.
   */
  update(type: ResourceType, obj: KubeObject): StoredObject;
  /** Removes the object and returns it as it was; NotFound if absent. */
  delete(type: ResourceType, namespace: string | undefined, name: string): StoredObject;
  /**
   * Calls onEvent synchronously after each committed write that matches; returns a stop function.
   * The initial events (ADDED per object, or the replayed changes) are delivered before watch()
   * returns (when called from inside a listener: right after the event in progress). A write made by a listener is delivered after the event in progress has reached every
   * watcher, so each watcher sees changes in revision order. A listener that throws is logged.
   * An update moving an object into the selection arrives as ADDED, out of it as DELETED (old content,
   * new resourceVersion), as the apiserver's watch cache does.
   * Errors: 410 Expired for a version older than the in-memory history (or than the store's revision
   * when it was opened) and for a version the store never reached; 400 for a non-numeric version or
   * a malformed selector.
   */
  watch(type: ResourceType, opts: WatchOptions, onEvent: (event: WatchEvent) => void): () => void;
  currentResourceVersion(): string;
  close(): void;
}
