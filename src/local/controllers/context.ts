// What every controller is built from.
import type { KubeObject } from '../../k8s/object.js';
import type { ObjectStore } from '../store/store.js';
import type { Clock } from '../../clock.js';
import type { EventRecorder } from '../kubelet/events.js';
import type { Informers } from './informers.js';

export interface ControllerContext {
  store: ObjectStore;
  /** Caches fed by one watch per type: read these, write the store. */
  informers: Informers;
  clock: Clock;
  clusterName: string;
  log: (line: string) => void;
  /**
   * Creates a pod through the cluster's admission chain (the sidecar injector's webhook), as
   * kube-controller-manager creates pods through the API server. Without it pods go straight to the store.
   */
  createPod?: (pod: KubeObject) => Promise<unknown>;
  /** Events about workloads, as `kubectl describe` shows them (SuccessfulCreate, Completed, ...). */
  events: EventRecorder;
  /** Pod creations in flight per owner and per fixed pod name (the "expectations"; see pod-creation.ts). */
  podCreatesInFlight: Map<string, number>;
}
