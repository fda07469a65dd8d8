// `meshwork istio-iptables ARGS` (pilot-agent's `istio-iptables`): what the istio-init container runs.
// Programs the capture rules into the nat table of the network namespace it runs in, through
// iptables-restore; `--dry-run` prints the iptables-restore input instead.
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { iptablesRestoreInput, parseIstioIptablesArgs } from './iptables-rules.js';

export function applyCapture(args: readonly string[]): void {
  const input = iptablesRestoreInput(parseIstioIptablesArgs(args));
  const result = spawnSync('iptables-restore', ['--noflush'], { input, encoding: 'utf8' });
  if (result.error) throw new Error(`istio-iptables: cannot run iptables-restore (${result.error.message}); install iptables`);
  if (result.status !== 0) {
    throw new Error(`istio-iptables: iptables-restore failed (exit ${result.status}): ${result.stderr.trim()}${process.getuid?.() === 0 ? '' : ' (the capture needs root or CAP_NET_ADMIN)'}`);
  }
}

export function registerIstioIptablesCommand(program: Command): void {
  program
    .command('istio-iptables')
    .description("program Istio's traffic capture (nat table, REDIRECT) in this network namespace, as istio-init does")
    .option('--dry-run', 'print the iptables-restore input instead of applying it')
    .allowUnknownOption(true)
    .helpOption(false)
    .argument('[args...]', "istio-iptables' flags: -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x \"\" -b '*' -d 15090,15021,15020")
    .action((args: string[], opts: { dryRun?: boolean }) => {
      try {
        if (opts.dryRun) process.stdout.write(iptablesRestoreInput(parseIstioIptablesArgs(args)));
        else applyCapture(args);
      } catch (err) {
        process.stderr.write(`error: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
