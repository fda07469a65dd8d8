// `meshwork up | down | status`: the local clusters of the embedded default.
import type { Command } from 'commander';
import { startDetached } from '../runtime/detach.js';
import { runDown } from '../runtime/down.js';
import { collectStatus } from '../runtime/status.js';
import { runUp } from '../runtime/up.js';
import { apiServerOption, runUpReal, sayRealModeGaps, type ApiServerKind } from '../realkube/cli-option.js';
import { runningState, statePaths } from '../runtime/state.js';
import { formatStructured, formatTable, type OutputFormat } from '../mesh-cli/output.js';
import { outputOption, parseIntOption, stateDirOption } from '../mesh-cli/options.js';
import { interceptionProblem, parseInterceptionOption, type InterceptionOption } from '../runtime/interception-option.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

export function registerClusterCommands(program: Command): void {
  program
    .command('up')
    .description('start local clusters (Kubernetes API servers, controllers, process kubelets) on loopback')
    .option('--clusters <n>', 'how many clusters (cluster-1 ... cluster-N)', parseIntOption(1, 9), 2)
    .addOption(stateDirOption())
    .option('--subnet-base <octet>', 'cluster i uses 127.<base+10(i-1)>.0.0/16 for its API server and pods', parseIntOption(1, 240), Number(process.env.MESHWORK_SUBNET_BASE ?? 10))
    .option('-d, --detach', 'run in the background and return once every cluster is ready and every running proxy has its config')
    .option('--timeout <seconds>', 'with -d: how long to wait for readiness', parseIntOption(1, 3600), 60)
    .option('--interception <mode>', 'how pod traffic reaches its sidecar: http_proxy (default) or iptables (root; docs/interception.md)', parseInterceptionOption, 'http_proxy')
    .addOption(apiServerOption())
    .action(async (opts: { clusters: number; stateDir: string; subnetBase: number; detach?: boolean; timeout: number; interception: InterceptionOption; apiserver: ApiServerKind }) => {
      const interception = interceptionProblem(opts.interception);
      if (interception) throw new Error(interception);
      if (opts.interception === 'iptables' && opts.apiserver === 'real') throw new Error('--interception iptables runs with the embedded API servers only; drop --apiserver real');
      const paths = statePaths(opts.stateDir);
      const upArgs = ['--clusters', String(opts.clusters), '--state-dir', paths.dir, '--subnet-base', String(opts.subnetBase), '--apiserver', opts.apiserver, '--interception', opts.interception];
      if (opts.detach) {
        // A second host would only fail on the first one's ports: say what runs and how to stop it.
        // Running means answering: a host that is alive but whose API servers do not answer (still
        // starting, or killed and not yet reaped) is left to the usual start and its checks.
        const running = runningState(paths);
        const status = running ? await collectStatus(opts.stateDir) : undefined;
        if (running && status?.running && status.clusters.length > 0 && status.clusters.every((c) => c.status === 'Ready')) {
          say(`the clusters of ${paths.dir} are already running (pid ${running.pid}, since ${running.startedAt}):`);
          for (const c of status.clusters) say(`${c.name}: running at ${c.server}`);
          printUsage(paths.kubeconfig, paths.dir);
          return;
        }
        const state = await startDetached({ stateDir: opts.stateDir, upArgs, timeoutMs: opts.timeout * 1000 }, say);
        for (const c of state.clusters) say(`${c.name}: ready at ${c.server}`);
        if (opts.apiserver === 'real') sayRealModeGaps(say, state.clusters);
        printUsage(paths.kubeconfig, paths.dir);
        return;
      }
      const up = await (opts.apiserver === 'real' ? runUpReal : runUp)({ clusters: opts.clusters, stateDir: opts.stateDir, subnetBase: opts.subnetBase, say, interception: opts.interception });
      printUsage(paths.kubeconfig, paths.dir);
      say('running in the foreground: Ctrl-C stops the clusters (their objects are kept)');
      const stop = (signal: string) => {
        say(`${signal}: stopping ...`);
        up.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });

  program
    .command('down')
    .description('stop the local clusters (their objects stay in the state folder for the next `up`)')
    .addOption(stateDirOption())
    .action(async (opts: { stateDir: string }) => runDown(opts.stateDir, say));

  program
    .command('status')
    .description('list the local clusters and whether their API servers answer')
    .addOption(stateDirOption())
    .addOption(outputOption())
    .action(async (opts: { stateDir: string; output: OutputFormat }) => {
      const report = await collectStatus(opts.stateDir);
      if (opts.output === 'json' || opts.output === 'yaml') {
        say(formatStructured(report, opts.output));
      } else if (report.clusters.length === 0) {
        say(`no local clusters in ${report.stateDir}: run \`meshwork up\``);
      } else {
        say(formatTable(['NAME', 'STATUS', 'SERVER'], report.clusters.map((c) => [c.name, c.status + (c.detail ? ` (${c.detail})` : ''), c.server])));
        if (!report.running) say('not running: `meshwork up` starts them again');
      }
    });
}

function printUsage(kubeconfig: string, dir: string): void {
  say('');
  say('Use the clusters with kubectl:');
  say(`  export KUBECONFIG=${kubeconfig}`);
  say('  kubectl --context cluster-1 get namespaces');
  say(`Stop them with: meshwork down${dir.endsWith('/.meshwork') ? '' : ` --state-dir ${dir}`}`);
}
