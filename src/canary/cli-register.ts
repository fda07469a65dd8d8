// The `meshwork canary` command group. Each part of the canary adds its subcommands here:
// `controller` (controller-command.ts); start, status, promote, pause, resume, abort are the CLI's.
//
// Exports: registerCanaryCommands(program) -> the `canary` command.
import type { Command } from 'commander';
import { addControllerCommand } from './controller-command.js';
import { addCanaryUserCommands } from './cli-commands.js';

export function registerCanaryCommands(program: Command): Command {
  const canary = program.command('canary').description('progressive delivery between two subsets of a service (rollouts.meshwork.io Canary)');
  addControllerCommand(canary);
  addCanaryUserCommands(canary);
  return canary;
}
