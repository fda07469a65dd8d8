// The istioctl-style commands of `meshwork`, added to the lead's commander program:
//   proxy-status, proxy-config, traffic, analyze, rollout-status.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { outputOption, parseIntOption, parseProbabilityOption, stateDirOption } from './options.js';
import type { OutputFormat } from './output.js';
import { runAnalyze } from './analyze.js';
import { CommandError, errorMessage, processIo, type CommandIo } from './io.js';
import { CONFIG_TYPE_WORDS, parseConfigType, runProxyConfig, type DumpOnlyType } from './proxy-config.js';
import type { ConfigType } from './proxy-config-tables.js';
import { runProxyStatus } from './proxy-status.js';
import { runProxyStatusOf } from './proxy-status-diff.js';
import { runTraffic } from './traffic.js';
import { parseTimeout, runRolloutStatus } from './rollout-status.js';
import type { SplitDimension } from './expected-split.js';

/** istioctl's boolean flags take a value: `--use-kube=false`. */
export function parseBool(flag: string) {
  return (value: string): boolean => {
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    throw new InvalidArgumentError(`${flag} takes true or false, got "${value}"`);
  };
}

const optionParser = <T>(parse: (v: string) => T) => (value: string): T => {
  try {
    return parse(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

/**
 * `proxy-config routes POD` (istioctl's form) or `proxy-config POD [--type routes]`: the type comes
 * first when there are two arguments; both forms at once must agree.
 */
export function proxyConfigArguments(first: string, second: string | undefined, typeOption: ConfigType | 'all' | DumpOnlyType | undefined): { type: ConfigType | 'all' | DumpOnlyType; pod: string } {
  if (second === undefined) return { type: typeOption ?? 'all', pod: first };
  let type: ConfigType | 'all' | DumpOnlyType;
  try {
    type = parseConfigType(first);
  } catch (err) {
    throw new CommandError(`proxy-config ${first} ${second}: ${errorMessage(err)} (as in \`proxy-config routes POD\`)`);
  }
  if (typeOption !== undefined && typeOption !== type) throw new CommandError(`proxy-config ${first} and --type ${typeOption} disagree: give the type once`);
  return { type, pod: second };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
/** Tables have no wide form here: -o wide prints the table. */
const structured = (o: OutputFormat): 'table' | 'json' | 'yaml' => (o === 'wide' ? 'table' : o);

interface CommonOptions {
  kubeconfig?: string;
  stateDir: string;
  controlPlaneAddress?: string;
  output: OutputFormat;
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, the local clusters\', ~/.kube/config)')
    .addOption(stateDirOption())
    .option('--control-plane-address <host:port>', 'the control plane\'s debug port, when it cannot be found through the API (e.g. a port-forward)')
    .addOption(outputOption());
}

/** Runs a command body: a failure becomes a message and an exit code, not a stack trace. */
async function run(body: (io: CommandIo) => Promise<number>, io: CommandIo): Promise<void> {
  try {
    process.exitCode = await body(io);
  } catch (err) {
    // Library errors (a bad kubeconfig, an unreadable file) carry messages meant for the user too.
    io.err(`error: ${errorMessage(err)}`);
    process.exitCode = err instanceof CommandError ? err.exitCode : 1;
  }
}

const common = (o: CommonOptions) => ({
  ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
  stateDir: o.stateDir,
  ...(o.controlPlaneAddress ? { controlPlaneAddress: o.controlPlaneAddress } : {}),
  output: structured(o.output),
});

/** `io` is for tests; the exit code of a command lands in process.exitCode. */
export function registerMeshCommands(program: Command, io: CommandIo = processIo): void {
  addCommon(
    program
      .command('proxy-status')
      .alias('ps')
      .argument('[pod]', 'one proxy (POD[.NAMESPACE]): its config compared with what the control plane sends, type by type')
      .description('every proxy connected to the control plane of each cluster, and whether it has what it was sent (SYNCED, NOT SENT, STALE); with a pod, the difference type by type')
      .option('--context <name>', 'a cluster context (repeatable; default: every context with a control plane)', collect, [])
      .option('-n, --namespace <ns>', 'only proxies of this namespace (with a pod: its namespace)')
      .option('-A, --all-namespaces', 'proxies of every namespace (the default)')
      .option('--since-apply <kind/name>', 'each proxy\'s state for the object\'s current version (ACKED, SENT, NACKED, ...), as rollout-status without waiting; -n is the object\'s namespace'),
  ).action((pod: string | undefined, o: CommonOptions & { context: string[]; namespace?: string; allNamespaces?: boolean; sinceApply?: string }) =>
    run((out) => {
      if (o.allNamespaces && o.namespace) throw new CommandError('-A/--all-namespaces and -n/--namespace exclude each other');
      if (o.sinceApply !== undefined) {
        if (pod !== undefined) throw new CommandError('--since-apply shows every proxy: give no pod with it');
        return runRolloutStatus({ ...common(o), resource: o.sinceApply, contexts: o.context, timeoutMs: 0, once: true, ...(o.namespace ? { namespace: o.namespace } : {}) }, out);
      }
      if (pod !== undefined) {
        if (o.context.length > 1) throw new CommandError('a pod lives in one cluster: give at most one --context with it');
        return runProxyStatusOf({ ...common(o), pod, ...(o.namespace ? { namespace: o.namespace } : {}), ...(o.context[0] ? { context: o.context[0] } : {}) }, out);
      }
      return runProxyStatus({ ...common(o), contexts: o.context, ...(o.namespace ? { namespace: o.namespace } : {}) }, out);
    }, io),
  );

  addCommon(
    program
      .command('proxy-config')
      .alias('pc')
      .argument('<type-or-pod>', `what to show (${CONFIG_TYPE_WORDS}), as istioctl's \`proxy-config routes POD\`; or the pod, with --type`)
      .argument('[pod]', 'pod name, pod.namespace, pod/NAME or deploy/NAME')
      .description('a proxy\'s listeners, routes, clusters and endpoints (Envoy config_dump); from the proxy, else from the control plane')
      .option('-n, --namespace <ns>', 'the pod\'s namespace (default: from pod.namespace, else the context\'s)')
      .option('--context <name>', 'cluster context')
      .addOption(new Option('--type <type>', `${CONFIG_TYPE_WORDS} (the last two: Envoy pods); the same as the first argument`).argParser(optionParser(parseConfigType)))
      .option('--from-control-plane', 'show what the control plane sends instead of what the proxy holds'),
  ).action((first: string, second: string | undefined, o: CommonOptions & { namespace?: string; context?: string; type?: ConfigType | 'all' | DumpOnlyType; fromControlPlane?: boolean }) =>
    run(async (out) => {
      const { type, pod } = proxyConfigArguments(first, second, o.type);
      return runProxyConfig({ ...common(o), pod, type, ...(o.namespace ? { namespace: o.namespace } : {}), ...(o.context ? { context: o.context } : {}), ...(o.fromControlPlane ? { fromControlPlane: true } : {}) }, out);
    }, io),
  );

  addCommon(
    program
      .command('traffic')
      .description('send N requests from a pod through its sidecar (one curl run), show the split by version, cluster and instance, and test it against the configured weights (chi-square); exit 1 on FAIL')
      .option('--context <name>', 'cluster context of the sending pod')
      .option('-n, --namespace <ns>', 'namespace of the sending pod', 'default')
      .requiredOption('--from <pod>', 'the sending pod: NAME, pod/NAME or deploy/NAME')
      .option('-c, --container <name>', 'container to run curl in (default: the first app container)')
      .requiredOption('--url <url>', 'http URL to request, e.g. http://helloworld.sample:5000/hello')
      .option('--requests <n>', 'number of requests', parseIntOption(1, 1_000_000), 1000)
      .option('--expect <shares>', 'expected shares instead of the mesh config\'s, e.g. v1=80,v2=20')
      .addOption(new Option('--by <dimension>', 'what the verdict compares').choices(['version', 'cluster', 'instance']).default('version'))
      .option('--max-failures <n>', 'failed requests tolerated before FAIL', parseIntOption(0, 1_000_000), 0)
      .option('--alpha <p>', 'significance level: FAIL when the chi-square p-value is at or below it', parseProbabilityOption, 0.001)
      .option('--request-timeout <seconds>', 'curl --max-time per request', parseIntOption(1, 600), 10),
  ).action((o: CommonOptions & { context?: string; namespace: string; from: string; container?: string; url: string; requests: number; expect?: string; by: SplitDimension; maxFailures: number; alpha: number; requestTimeout: number }) =>
    run((out) => runTraffic({
      ...common(o),
      ...(o.context ? { context: o.context } : {}),
      namespace: o.namespace,
      from: o.from,
      ...(o.container ? { container: o.container } : {}),
      url: o.url,
      requests: o.requests,
      ...(o.expect !== undefined ? { expect: o.expect } : {}),
      by: o.by,
      maxFailures: o.maxFailures,
      alpha: o.alpha,
      requestTimeout: o.requestTimeout,
    }, out), io),
  );

  addCommon(
    program
      .command('rollout-status')
      .argument('<kind/name>', 'the object, kubectl-style: virtualservice/NAME, vs/NAME, dr/NAME, gw/NAME, se/NAME, svc/NAME, ...')
      .description('wait until every proxy of every cluster has ACKed the config carrying the object\'s current version (istioctl x wait); exit 1 on a NACK, 2 on timeout')
      .option('-n, --namespace <ns>', 'the object\'s namespace (default: the context\'s, else default)')
      .option('--context <name>', 'a cluster context (repeatable; default: every context of the kubeconfig)', collect, [])
      .addOption(new Option('--timeout <duration>', 'how long to wait, e.g. 60s, 2m').default(60_000, '60s').argParser(optionParser(parseTimeout))),
  ).action((resource: string, o: CommonOptions & { namespace?: string; context: string[]; timeout: number }) =>
    run((out) => runRolloutStatus({ ...common(o), resource, contexts: o.context, timeoutMs: o.timeout, ...(o.namespace ? { namespace: o.namespace } : {}) }, out), io),
  );

  addCommon(
    program
      .command('analyze')
      .description('problems in the mesh config, as istioctl analyze prints them; from the cluster\'s control plane, or with -f the files as if applied to the cluster (alone with --use-kube=false). Exit 79 on errors')
      .option('--context <name>', 'cluster context')
      .option('-n, --namespace <ns>', 'only this namespace (with -f: the namespace of objects that name none)')
      .option('-A, --all-namespaces', 'every namespace (the default)')
      .option('-f, --filename <path>', 'a YAML file or folder to analyze (repeatable)', collect, [])
      .addOption(new Option('--use-kube [bool]', 'with -f: merge the files with the live cluster\'s objects (false: the files alone)').default(true).argParser(parseBool('--use-kube'))),
  ).action((o: CommonOptions & { context?: string; namespace?: string; allNamespaces?: boolean; filename: string[]; useKube: boolean }) =>
    run((out) => {
      if (o.allNamespaces && o.namespace) throw new CommandError('-A/--all-namespaces and -n/--namespace exclude each other');
      return runAnalyze({ ...common(o), files: o.filename, useKube: o.useKube, ...(o.context ? { context: o.context } : {}), ...(o.namespace ? { namespace: o.namespace } : {}) }, out);
    }, io),
  );
}
