// Helpers shared by the kubelet's tests: a store, a state dir, pods, polling and curl.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredObject } from '../../k8s/object.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { ObjectStore } from '../store/store.js';
import { EVENT_TYPE, POD_TYPE } from './events.js';
import { startKubelet, type Kubelet, type KubeletOptions } from './kubelet.js';
import { asPod, type Container, type Pod, type PodSpec } from './pod-types.js';

export interface Harness {
  store: ObjectStore;
  stateDir: string;
  kubelet: Kubelet;
  lines: string[];
  close(): Promise<void>;
}

export function harness(subnetOctet: number, extra: Partial<KubeletOptions> = {}): Harness {
  const stateDir = extra.stateDir ?? mkdtempSync(join(tmpdir(), `kubelet-${subnetOctet}-`));
  const store = extra.store ?? openSqliteStore({ path: ':memory:' });
  const lines: string[] = [];
  const kubelet = startKubelet({
    store,
    clusterName: `test-${subnetOctet}`,
    nodeName: `test-${subnetOctet}-node`,
    subnetOctet,
    backoff: { initialMs: 100, maxMs: 400 },
    log: (line) => lines.push(line),
    ...extra,
    stateDir,
  });
  return {
    store,
    stateDir,
    kubelet,
    lines,
    async close() {
      await kubelet.stop();
      store.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export function createPod(store: ObjectStore, name: string, containers: Container[], spec: Partial<PodSpec> = {}, namespace = 'sample'): Pod {
  return asPod(store.create(POD_TYPE, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: name } }, spec: { containers, ...spec } }));
}

export function getPod(store: ObjectStore, name: string, namespace = 'sample'): Pod | undefined {
  const obj = store.get(POD_TYPE, namespace, name);
  return obj ? asPod(obj) : undefined;
}

/** Polls until fn returns a value other than undefined/false, or fails with the last seen state. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function waitForPod(store: ObjectStore, name: string, what: string, pred: (p: Pod) => boolean, timeoutMs = 10_000): Promise<Pod> {
  let last: Pod | undefined;
  try {
    return await waitFor(what, () => {
      last = getPod(store, name);
      return last && pred(last) ? last : undefined;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; pod ${name} is ${JSON.stringify(last?.status)}`);
  }
}

export function curl(url: string, extraArgs: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '5', ...extraArgs, url], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function eventsOf(store: ObjectStore, podName: string, namespace = 'sample'): Array<{ reason: string; message: string; type: string; count: number }> {
  return store
    .list(EVENT_TYPE, { namespace })
    .items.filter((e: StoredObject) => (e.involvedObject as { name?: string }).name === podName)
    .map((e) => ({ reason: String(e.reason), message: String(e.message), type: String(e.type), count: Number(e.count) }));
}

export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export function pidOf(pod: Pod, container: string): number {
  const id = pod.status?.containerStatuses?.find((c) => c.name === container)?.containerID;
  const m = /^meshwork:\/\/(\d+)$/.exec(id ?? '');
  if (!m) throw new Error(`container ${container} of ${pod.metadata.name} has no process (containerID ${id})`);
  return Number(m[1]);
}

export function isReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
