// A local cluster's control loop for tests: an in-memory store, a fake clock, the controllers, and
// stand-ins for what the kubelet would write (pod IPs, readiness, exits, the end of a deletion).
import { randomUUID } from 'node:crypto';
import { applyDefaults } from '../../config/defaults.js';
import { withGeneratedJobSelector } from '../../config/job-selector.js';
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { ObjectStore } from '../store/store.js';
import { ManualClock } from '../../clock.js';
import { rfc3339 } from '../../k8s/time-format.js';
import type { RunningControllers } from './index.js';
import { startControllers } from './index.js';
import { isRecord } from './read.js';
import { PODS } from './resources.js';

export interface TestCluster {
  clusterName: string;
  store: ObjectStore;
  clock: ManualClock;
  controllers: RunningControllers;
  logs: string[];
  /** Waits for the controllers to settle. */
  settle(): Promise<void>;
  close(): void;
}

export function startTestCluster(clusterName = 'cluster-1', seed?: (store: ObjectStore) => void): TestCluster {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store = openSqliteStore({ path: ':memory:', clock: () => new Date(clock.now()) });
  seed?.(store);
  const logs: string[] = [];
  const controllers = startControllers({ store, clusterName, clock, log: (line) => logs.push(line) });
  return {
    clusterName,
    store,
    clock,
    controllers,
    logs,
    settle: () => controllers.idle(),
    close() {
      controllers.stop();
      store.close();
    },
  };
}

export function deploymentObject(
  name: string,
  opts: { namespace?: string; replicas?: number; image?: string; labels?: Record<string, string>; strategy?: unknown; minReadySeconds?: number; ports?: unknown[] } = {},
): KubeObject {
  const labels = opts.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: opts.namespace ?? 'default', labels },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: labels },
      ...(opts.strategy !== undefined ? { strategy: opts.strategy } : {}),
      ...(opts.minReadySeconds !== undefined ? { minReadySeconds: opts.minReadySeconds } : {}),
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: opts.image ?? `${name}:v1`, ...(opts.ports ? { ports: opts.ports } : {}) }] },
      },
    },
  };
}

export function list(store: ObjectStore, t: ResourceType, namespace = 'default', labelSelector?: string): StoredObject[] {
  return store.list(t, { namespace, ...(labelSelector ? { labelSelector } : {}) }).items;
}

let nextIp = 2;

/** What the kubelet writes once it has bound and run a pod: nodeName, phase, podIP and the Ready condition. */
export function setPodStatus(cluster: TestCluster, pod: StoredObject, opts: { ready: boolean; ip?: string; phase?: string }): StoredObject {
  const fresh = cluster.store.get(PODS, pod.metadata.namespace, pod.metadata.name);
  if (!fresh) throw new Error(`pod ${pod.metadata.name} is gone`);
  const status = isRecord(fresh.status) ? fresh.status : {};
  const ip = opts.ip ?? (typeof status.podIP === 'string' ? status.podIP : `127.10.${Math.floor(nextIp / 250)}.${(nextIp++ % 250) + 2}`);
  const now = rfc3339(cluster.clock.now());
  const spec = isRecord(fresh.spec) ? fresh.spec : {};
  return cluster.store.update(PODS, {
    ...fresh,
    spec: { ...spec, nodeName: typeof spec.nodeName === 'string' ? spec.nodeName : `${cluster.clusterName}-node` },
    status: {
      ...status,
      phase: opts.phase ?? 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: opts.ready ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: now }],
    },
  });
}

/** Marks every pod of the namespace (matching the selector) that is not ready yet as running and ready. */
export function readyAll(cluster: TestCluster, namespace = 'default', labelSelector?: string): number {
  let n = 0;
  for (const pod of list(cluster.store, PODS, namespace, labelSelector)) {
    const status = isRecord(pod.status) ? pod.status : {};
    const ready = Array.isArray(status.conditions) && status.conditions.some((c) => isRecord(c) && c.type === 'Ready' && c.status === 'True');
    if (ready || pod.metadata.deletionTimestamp || status.phase === 'Failed') continue;
    setPodStatus(cluster, pod, { ready: true });
    n++;
  }
  return n;
}

/** What the kubelet writes when a pod's containers have exited: phase and the terminated state with its time. */
export function finishPod(cluster: TestCluster, pod: StoredObject, exitCode: number): StoredObject {
  const fresh = cluster.store.get(PODS, pod.metadata.namespace, pod.metadata.name);
  if (!fresh) throw new Error(`pod ${pod.metadata.name} is gone`);
  const spec = isRecord(fresh.spec) ? fresh.spec : {};
  const status = isRecord(fresh.status) ? fresh.status : {};
  const now = rfc3339(cluster.clock.now());
  const restartPolicy = spec.restartPolicy;
  return cluster.store.update(PODS, {
    ...fresh,
    spec: { ...spec, nodeName: typeof spec.nodeName === 'string' ? spec.nodeName : `${cluster.clusterName}-node` },
    status: {
      ...status,
      phase: exitCode === 0 ? 'Succeeded' : restartPolicy === 'OnFailure' ? 'Running' : 'Failed',
      conditions: [{ type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: now, ...(exitCode === 0 ? { reason: 'PodCompleted' } : {}) }],
      containerStatuses: [
        {
          name: 'app',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: now, finishedAt: now } },
          lastState: {},
        },
      ],
    },
  });
}

/**
 * The kubelet's last step of a deletion: a pod marked for deletion whose finalizers are gone is
 * removed once its processes stopped (here: at once). Returns how many went.
 */
export function kubeletRemovesDeleted(cluster: TestCluster, namespace = 'default'): number {
  let n = 0;
  for (const pod of list(cluster.store, PODS, namespace)) {
    if (!pod.metadata.deletionTimestamp || (pod.metadata.finalizers ?? []).length > 0) continue;
    cluster.store.delete(PODS, pod.metadata.namespace, pod.metadata.name);
    n++;
  }
  return n;
}

/** Creates an object as the API server would store it: its defaults, and a Job's generated selector. */
export function createAsApiServer(cluster: TestCluster, t: ResourceType, obj: KubeObject): StoredObject {
  const uid = randomUUID();
  const prepared = t.group === 'batch' && t.kind === 'Job' ? withGeneratedJobSelector(obj, uid) : obj;
  return cluster.store.create(t, applyDefaults(t, prepared), { uid });
}
