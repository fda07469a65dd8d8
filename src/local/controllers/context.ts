// What every controller is built from.
import type { ObjectStore } from '../store/store.js';
import type { Clock } from './clock.js';
import type { Informers } from './informers.js';

export interface ControllerContext {
  store: ObjectStore;
  /** Caches fed by one watch per type: read these, write the store. */
  informers: Informers;
  clock: Clock;
  clusterName: string;
  log: (line: string) => void;
}
