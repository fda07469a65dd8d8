// `meshwork canary start|status|promote|pause|resume|abort NAME`, in kubectl's habits: -n/--namespace
// (default: the context's namespace, else `default`), --context (the config cluster, default the
// kubeconfig's current), --kubeconfig, --state-dir, -o json|yaml. The controller (`canary controller`)
// does the work; these commands only create the Canary, change its spec and show its status.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../k8s/client/client.js';
import { formatStructured, type OutputFormat } from '../mesh-cli/output.js';
import { outputOption, stateDirOption } from '../mesh-cli/options.js';
import { CanaryClient } from './cli-client.js';
import { canaryFromFile, canaryFromFlags, hasSpecFlags, type StartFlags } from './cli-spec.js';
import { renderStatus, TERMINAL_PHASES } from './cli-render.js';
import { CANARY_GROUP, type Canary, type CanarySpec } from '../config/canary/types.js';
import { localKubeconfig } from '../runtime/state.js';

export interface CanaryCliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether `out` is a terminal (status -w then redraws in place). */
  isTty: boolean;
  now(): number;
}

const processIo: CanaryCliIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  isTty: Boolean(process.stdout.isTTY),
  now: () => Date.now(),
};

interface TargetOptions {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  stateDir: string;
  output: OutputFormat;
}

function addTarget(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <ns>', 'the Canary\'s namespace (default: the context\'s, else default)')
    .option('--context <name>', 'the config cluster holding the Canary (default: the kubeconfig\'s current context)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, the local clusters\', ~/.kube/config)')
    .addOption(stateDirOption())
    .addOption(outputOption());
}

function target(o: TargetOptions): { kc: KubeConfig; namespace: string; explicitNamespace: boolean } {
  const kc = loadKubeConfig({ ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}), localKubeconfig: localKubeconfig(o.stateDir) });
  const namespace = o.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { kc, namespace, explicitNamespace: o.namespace !== undefined };
}

async function run(io: CanaryCliIo, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

function printObject(io: CanaryCliIo, canary: Canary, output: OutputFormat, verb: string): void {
  if (output === 'json' || output === 'yaml') io.out(formatStructured(canary, output));
  else io.out(`canary.${CANARY_GROUP}/${canary.metadata.name} ${verb}`);
}

/** What each spec-changing command writes, and the word kubectl-style output uses for it. */
// Merge patches: null deletes a field. An abort wins over a promotion still pending (the schema allows one
// of them). A resume must change the spec (its generation) even when paused is false already, as after a
// pause by a human edit of the weights: then the field is removed, which means the same.
type SpecPatch = { [K in keyof CanarySpec]?: CanarySpec[K] | null };
export const SPEC_CHANGES: Record<'promote' | 'pause' | 'resume' | 'abort', { patch: (live: CanarySpec) => SpecPatch; verb: string; description: string }> = {
  promote: { patch: () => ({ promote: true }), verb: 'promoted', description: 'go to 100 % canary now, skipping the remaining steps and analysis (spec.promote=true)' },
  pause: { patch: () => ({ paused: true }), verb: 'paused', description: 'stop at the current step; weights stay (spec.paused=true)' },
  resume: { patch: (live) => ({ paused: live.paused === false ? null : false }), verb: 'resumed', description: 'continue after a pause, by spec or by a human edit of the weights (from the live weights)' },
  abort: { patch: () => ({ abort: true, promote: null }), verb: 'aborted', description: 'restore the stable routes and stop (spec.abort=true)' },
};

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Adds the user-facing subcommands to the `canary` command group. `io` is for tests. */
export function addCanaryUserCommands(group: Command, io: CanaryCliIo = processIo): void {
  addTarget(
    group
      .command('start')
      .description('create a Canary from -f FILE or from flags; the controller then shifts the weights step by step')
      .argument('[name]', 'the Canary\'s name (with -f: optional, must match the file)')
      .option('-f, --filename <file>', 'a YAML or JSON file with one Canary (- for stdin)')
      .option('--host <host>', 'the destination host the VirtualServices route to (e.g. helloworld)')
      .option('--baseline <subset>', 'the DestinationRule subset serving now')
      .option('--canary <subset>', 'the DestinationRule subset to shift traffic to')
      .option('--steps <list>', 'canary weights per step in percent, increasing, e.g. 10,25,50 (promotion to 100 follows)')
      .option('--interval <duration>', 'time between checks and steps, e.g. 30s, 1m')
      .option('--success-rate <percent>', 'fail a check when the canary\'s success rate is below this (default 99 when no metric is given)')
      .option('--max-p99 <ms>', 'fail a check when the canary\'s p99 latency is above this many milliseconds')
      .option('--threshold <n>', 'failed checks in a row that roll back (default 2)')
      .option('--min-requests <n>', 'a check with fewer canary requests is inconclusive (default 20)')
      .option('--prometheus <url>', 'read the metrics from Prometheus at this URL (default: scrape the proxies)')
      .option('--virtual-service <name>', 'a VirtualService to drive (repeatable; default: the host\'s short name)', collect, [])
      .option('--cluster <context>', 'a member cluster to drive (repeatable; default: every member with the VirtualService)', collect, []),
  ).action((name: string | undefined, o: TargetOptions & StartFlags & { filename?: string }) =>
    run(io, async () => {
      const { kc, namespace, explicitNamespace } = target(o);
      const flags: StartFlags = {
        host: o.host, baseline: o.baseline, canary: o.canary, steps: o.steps, interval: o.interval, successRate: o.successRate,
        maxP99: o.maxP99, threshold: o.threshold, minRequests: o.minRequests, prometheus: o.prometheus, virtualService: o.virtualService, cluster: o.cluster,
      };
      let canary: Canary;
      if (o.filename !== undefined) {
        if (hasSpecFlags(flags)) throw new Error('-f and the spec flags (--host, --steps, ...) exclude each other: put everything in the file, or leave out -f');
        const text = o.filename === '-' ? readFileSync(0, 'utf8') : readFileSync(o.filename, 'utf8');
        canary = canaryFromFile(text, o.filename === '-' ? 'stdin' : o.filename, { value: namespace, explicit: explicitNamespace }, name);
      } else {
        if (name === undefined) throw new Error('NAME is required without -f: `meshwork canary start NAME --host ... --baseline ... --canary ...`');
        canary = canaryFromFlags(name, namespace, flags);
      }
      printObject(io, await new CanaryClient(kc).create(canary), o.output, 'created');
    }),
  );

  addTarget(
    group
      .command('status')
      .description('phase, step, weights, each side\'s requests, success rate and p99, the verdict and conditions')
      .argument('<name>', 'the Canary')
      .option('-w, --watch', 'redraw on every change; ends when the canary is done (Succeeded, RolledBack, Aborted, Failed)'),
  ).action((name: string, o: TargetOptions & { watch?: boolean }) =>
    run(io, async () => {
      const { kc, namespace } = target(o);
      const client = new CanaryClient(kc);
      const show = (canary: Canary): string => (o.output === 'json' || o.output === 'yaml' ? formatStructured(canary, o.output) : renderStatus(canary, io.now()));
      if (!o.watch) {
        io.out(show(await client.get(namespace, name)));
        return;
      }
      let last = '';
      let first = true;
      // Watching ends on the terminal phase, or on Ctrl-C (kubectl -w's habit: quietly).
      const ctrl = new AbortController();
      const stop = () => ctrl.abort();
      process.once('SIGINT', stop);
      try {
        await client.watch(
          namespace,
          name,
          (canary) => {
            // Status tables carry ages: compare what changed in the object, not the clock.
            const key = JSON.stringify({ spec: canary.spec, status: canary.status });
            if (key !== last) {
              last = key;
              const text = show(canary);
              const structured = o.output === 'json' || o.output === 'yaml';
              // A terminal gets the table redrawn in place; a pipe or file gets one document after another.
              if (io.isTty && !structured) io.out(`\x1b[H\x1b[2J${text}`);
              else if (first || o.output === 'json') io.out(text);
              else io.out(o.output === 'yaml' ? `---\n${text}` : `\n${text}`);
              first = false;
            }
            return canary.status !== undefined && TERMINAL_PHASES.has(canary.status.phase);
          },
          ctrl.signal,
        );
      } finally {
        process.removeListener('SIGINT', stop);
      }
    }),
  );

  for (const [command, change] of Object.entries(SPEC_CHANGES)) {
    addTarget(group.command(command).description(change.description).argument('<name>', 'the Canary')).action((name: string, o: TargetOptions) =>
      run(io, async () => {
        const { kc, namespace } = target(o);
        const client = new CanaryClient(kc);
        const live = await client.get(namespace, name);
        printObject(io, await client.patchSpec(namespace, name, change.patch(live.spec)), o.output, change.verb);
      }),
    );
  }
}
