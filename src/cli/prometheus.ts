// `meshwork prometheus-config`: a Prometheus configuration for the mesh's clusters (Istio's sample jobs,
// src/telemetry/prometheus-config.ts), with a least-privilege token per cluster; and `meshwork
// prometheus-targets`: keeps the pod targets current for Prometheus builds without Kubernetes discovery.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { loadKubeConfig } from '../k8s/client/client.js';
import { localKubeconfig, statePaths } from '../runtime/state.js';
import { preparePrometheusAccess } from '../telemetry/prometheus-access.js';
import { prometheusConfig, type PodDiscovery, type ScrapedCluster } from '../telemetry/prometheus-config.js';
import { startTargetsWriter } from '../telemetry/pod-targets-writer.js';
import { stateDirOption } from '../mesh-cli/options.js';

const CLUSTER_FILE = 'cluster.json';

function discoveryOption(): Option {
  return new Option('--discovery <kind>', 'how Prometheus finds pods: kubernetes (kubernetes_sd_configs, as Istio\'s sample) or file (file_sd, for builds without Kubernetes discovery such as Debian\'s; run `meshwork prometheus-targets` beside it)')
    .default('kubernetes')
    .argParser((v): PodDiscovery => {
      if (v !== 'kubernetes' && v !== 'file') throw new InvalidArgumentError(`expected kubernetes or file, got "${v}"`);
      return v;
    });
}

/** Where the per-cluster token, CA and targets go: --dir, else <state-dir>/prometheus. */
function accessDir(opts: { dir?: string; stateDir: string }): string {
  return resolve(opts.dir ?? join(statePaths(opts.stateDir).dir, 'prometheus'));
}

/** The clusters prepared by an earlier `prometheus-config` in `dir`. */
export function preparedClusters(dir: string): ScrapedCluster[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, CLUSTER_FILE)))
    .map((e) => JSON.parse(readFileSync(join(dir, e.name, CLUSTER_FILE), 'utf8')) as ScrapedCluster)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function registerPrometheusCommands(program: Command): void {
  program
    .command('prometheus-config')
    .description('print a Prometheus configuration scraping every cluster of the kubeconfig: Istio\'s kubernetes-pods job (prometheus.io/* annotations) and each control plane\'s /metrics, labelled by cluster; makes a ServiceAccount istio-system/prometheus that may only get/list/watch pods, endpoints and services, and writes its token and the CA under --dir')
    .addOption(stateDirOption())
    .option('--kubeconfig <file>', 'kubeconfig with admin access to the clusters (default: the local clusters\')')
    .option('--context <name...>', 'only these contexts (default: every context of the kubeconfig)')
    .option('--dir <dir>', 'where each cluster\'s token, ca.crt and pod targets go (default: <state-dir>/prometheus)')
    .option('--scrape-interval <duration>', 'Prometheus scrape and evaluation interval', '15s')
    .addOption(discoveryOption())
    .action(async (opts: { stateDir: string; kubeconfig?: string; context?: string[]; dir?: string; scrapeInterval: string; discovery: PodDiscovery }) => {
      const kc = loadKubeConfig({ localKubeconfig: localKubeconfig(opts.stateDir), ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}) });
      const contexts = opts.context ?? kc.getContexts().map((c) => c.name);
      const dir = accessDir(opts);
      const clusters: ScrapedCluster[] = [];
      for (const context of contexts) {
        const clusterDir = join(dir, context);
        const cluster = await preparePrometheusAccess(kc, context, clusterDir);
        writeFileSync(join(clusterDir, CLUSTER_FILE), JSON.stringify(cluster, null, 2) + '\n');
        clusters.push(cluster);
      }
      if (opts.discovery === 'file') {
        // Targets now, so a Prometheus started at once has them; `prometheus-targets` keeps them current.
        for (const cluster of clusters) {
          const writer = startTargetsWriter(cluster, (l) => process.stderr.write(`${l}\n`));
          await writer.synced;
          await writer.stop();
        }
        process.stderr.write(`pod targets written under ${dir}; keep them current with: meshwork prometheus-targets --dir ${dir}\n`);
      }
      process.stdout.write(stringify(prometheusConfig({ clusters, discovery: opts.discovery, scrapeInterval: opts.scrapeInterval })));
    });

  program
    .command('prometheus-targets')
    .description('keep the file_sd pod targets of `prometheus-config --discovery file` current: watches every pod of each cluster with the prometheus ServiceAccount\'s token and rewrites <dir>/<cluster>/pods.json on change')
    .addOption(stateDirOption())
    .option('--dir <dir>', 'the folder `prometheus-config` wrote (default: <state-dir>/prometheus)')
    .option('--once', 'write the targets once and exit')
    .action(async (opts: { stateDir: string; dir?: string; once?: boolean }) => {
      const dir = accessDir(opts);
      const clusters = preparedClusters(dir);
      if (clusters.length === 0) throw new Error(`no clusters prepared in ${dir}: run \`meshwork prometheus-config --discovery file${opts.dir ? ` --dir ${opts.dir}` : ''}\` first`);
      mkdirSync(dir, { recursive: true });
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const writers = clusters.map((c) => startTargetsWriter(c, log));
      await Promise.all(writers.map((w) => w.synced));
      if (opts.once) {
        await Promise.all(writers.map((w) => w.stop()));
        return;
      }
      log(`prometheus-targets: watching pods of ${clusters.map((c) => c.name).join(', ')}; targets in ${dir}/<cluster>/pods.json`);
      const stop = () => void Promise.all(writers.map((w) => w.stop())).then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
