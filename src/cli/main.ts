// The `meshwork` command line.
import { Command } from 'commander';
import { registerClusterCommands } from './clusters.js';
import { registerDemoCommand, registerMeshRuntimeCommands, registerMeshSetupCommands } from './mesh.js';
import { registerMeshCommands } from '../mesh-cli/register.js';
import { registerMciCommands } from '../mci/register.js';
import { registerVersionCommand } from './version.js';

// A closed pipe (`meshwork status | head`) ends output quietly, as for any Unix tool.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program
  .name('meshwork')
  .description('A multi-cluster service mesh: local Kubernetes clusters, an Istio-API control plane, xDS proxies')
  .showHelpAfterError();

registerDemoCommand(program);
registerClusterCommands(program);
registerMeshSetupCommands(program);
registerMeshCommands(program);
registerMeshRuntimeCommands(program);
registerMciCommands(program);
registerVersionCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
