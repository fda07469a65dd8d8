// Keeps a cluster's file_sd pod targets current: watches every pod with Prometheus' own token (the
// least-privilege ServiceAccount of prometheus-access.ts) and rewrites the file, atomically, after each
// burst of changes. Prometheus re-reads the file on change (and every refresh_interval).

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { KubeConfig, CoreV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { podTargetGroups } from './pod-targets.js';
import type { ScrapedCluster } from './prometheus-config.js';

export interface RunningTargetsWriter {
  /** Resolves once the first list is written. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

/** A client of the cluster as Prometheus is: its token file and the API server's CA, nothing of the admin's. */
export function prometheusKubeConfig(cluster: ScrapedCluster): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.apiServer, caFile: cluster.caFile, skipTLSVerify: false }],
    users: [{ name: 'prometheus', token: readFileSync(cluster.tokenFile, 'utf8').trim() }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: 'prometheus' }],
    currentContext: cluster.name,
  });
  return kc;
}

export function writeTargetsFile(file: string, pods: readonly V1Pod[]): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(podTargetGroups(pods), null, 1) + '\n');
  renameSync(tmp, file);
}

export function startTargetsWriter(cluster: ScrapedCluster, log: (line: string) => void, debounceMs = 200): RunningTargetsWriter {
  const kc = prometheusKubeConfig(cluster);
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const write = (): void => {
    timer = undefined;
    try {
      writeTargetsFile(cluster.targetsFile, informer.list());
    } catch (err) {
      log(`prometheus-targets: ${cluster.name}: writing ${cluster.targetsFile} failed: ${(err as Error).message}`);
    }
  };
  const changed = (): void => {
    if (!timer && !stopped) timer = setTimeout(write, debounceMs);
  };
  informer.on('add', changed);
  informer.on('update', changed);
  informer.on('delete', changed);
  informer.on('error', (err: unknown) => {
    // Stopping aborts the watch request, which the informer reports as an error.
    if (stopped) return;
    log(`prometheus-targets: ${cluster.name}: watch failed (${err instanceof Error ? err.message : String(err)}); retrying in 1 s`);
    setTimeout(() => {
      if (!stopped) void informer.start().catch(() => {});
    }, 1000).unref();
  });
  const synced = informer.start().then(() => write());
  return {
    synced,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
}
