// `meshwork canary controller`: runs the Canary controller in this process until SIGTERM or SIGINT.
// The config cluster is --context (default: the kubeconfig's current context); the member clusters are
// the kubeconfig's contexts (or --clusters), each named by its context.
//
// Exports: addControllerCommand(canaryGroup), runCanaryController(options).
import { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { stateDirOption } from '../mesh-cli/options.js';
import { loadKubeConfig } from '../k8s/client/client.js';
import { startCanaryController } from './controller.js';
import { KubeIo } from './kube-io.js';
import { localKubeconfig } from '../runtime/state.js';

export interface ControllerCommandOptions {
  kubeconfig?: string;
  context?: string;
  clusters?: string;
  auditLog?: string;
  stateDir: string;
}

function forContext(base: KubeConfig, context: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: base.clusters, users: base.users, contexts: base.contexts, currentContext: context });
  return kc;
}

/** Starts the controller; resolves when a signal has stopped it. */
export async function runCanaryController(o: ControllerCommandOptions, log: (line: string) => void): Promise<void> {
  const base = loadKubeConfig({ ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}), localKubeconfig: localKubeconfig(o.stateDir) });
  const configContext = base.getCurrentContext();
  if (!configContext) throw new Error('the kubeconfig has no current context: name the config cluster with --context');
  const contexts = base.getContexts().map((c) => c.name);
  const wanted = o.clusters ? o.clusters.split(',').map((c) => c.trim()).filter(Boolean) : contexts;
  const unknown = wanted.filter((c) => !contexts.includes(c));
  if (unknown.length > 0) throw new Error(`--clusters names ${unknown.join(', ')}, not contexts of the kubeconfig (contexts: ${contexts.join(', ')})`);
  const members = wanted.map((c) => new KubeIo(c, forContext(base, c)));
  const config = new KubeIo(configContext, forContext(base, configContext));
  log(`canary-controller: watching Canaries in ${configContext}; member clusters ${wanted.join(', ')}${o.auditLog ? `; audit log ${o.auditLog}` : ''}`);
  const controller = startCanaryController({ config, members, ...(o.auditLog ? { auditLog: o.auditLog } : {}), log });
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log(`canary-controller: ${signal}: stopping after the reconcile in flight`);
      void controller.stop().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

export function addControllerCommand(canary: Command): void {
  canary
    .command('controller')
    .description('run the Canary controller: watch Canaries in the config cluster, drive the VirtualServices of the member clusters')
    .option('--kubeconfig <file>', "kubeconfig file (default: $KUBECONFIG, the local clusters', ~/.kube/config)")
    .option('--context <name>', 'the config cluster holding the Canaries (default: the current context)')
    .option('--clusters <names>', 'member clusters, comma-separated contexts (default: every context of the kubeconfig)')
    .option('--audit-log <file>', 'append one JSON line per weight change')
    .addOption(stateDirOption())
    .action(async (o: ControllerCommandOptions) => {
      try {
        await runCanaryController(o, (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
        process.exitCode = 0;
      } catch (err) {
        process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
    });
}
