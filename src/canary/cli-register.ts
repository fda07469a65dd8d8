// The `meshwork canary` command group. Each part of the canary adds its subcommands here:
// `controller` (controller-command.ts); start, status, promote, pause, resume, abort are the CLI's;
// `manifests` prints what a real cluster needs before it serves Canaries (the CRD, the controller's role).
//
// Exports: registerCanaryCommands(program) -> the `canary` command; canaryManifestsYaml().
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { canaryControllerClusterRole } from './rbac.js';
import { CANARY_GROUP, CANARY_KIND } from '../config/canary/types.js';
import { crdFor } from '../install/crds.js';
import { findByKind } from '../k8s/kinds.js';
import { addControllerCommand } from './controller-command.js';
import { addCanaryUserCommands } from './cli-commands.js';

/** The CRD and the controller's ClusterRole, as one multi-document YAML. */
export function canaryManifestsYaml(): string {
  const canaryType = findByKind(CANARY_GROUP, CANARY_KIND);
  if (!canaryType) throw new Error(`the kinds table (src/k8s/kinds.ts) has no ${CANARY_GROUP} ${CANARY_KIND}`);
  return [crdFor(canaryType), canaryControllerClusterRole()].map((m) => stringify(m)).join('---\n');
}

export function registerCanaryCommands(program: Command): Command {
  const canary = program.command('canary').description('progressive delivery between two subsets of a service (rollouts.meshwork.io Canary)');
  addControllerCommand(canary);
  addCanaryUserCommands(canary);
  canary
    .command('manifests')
    .description('print the Canary CRD and the controller\'s least-privilege ClusterRole for a real cluster (pipe to kubectl apply -f -); local clusters serve the kind themselves')
    .action(() => {
      process.stdout.write(canaryManifestsYaml());
    });
  return canary;
}
