// The `meshwork` command line.
import { Command } from 'commander';
import { registerClusterCommands } from './clusters.js';
import { registerDemoCommand, registerMeshRuntimeCommands, registerMeshSetupCommands } from './mesh.js';
import { registerMeshCommands } from '../mesh-cli/register.js';
import { registerMciCommands } from '../mci/register.js';
import { registerVersionCommand } from './version.js';
import { registerCanaryCommands } from '../canary/cli-register.js';
import { registerPrometheusCommands } from './prometheus.js';
import { registerDashboardCommand } from '../dashboard/command.js';
import { clusterAccessProblem } from './cluster-access.js';
import { DEFAULT_STATE_DIR } from '../runtime/state.js';

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

// Commands that talk to clusters first check that there is a kubeconfig and that its clusters are up.
const CLUSTER_COMMANDS = new Set(['proxy-status', 'proxy-config', 'traffic', 'analyze', 'rollout-status', 'apply', 'install', 'create-remote-secret', 'create-mesh', 'prometheus-config', 'dashboard']);
program.hook('preAction', (_program, action) => {
  if (!CLUSTER_COMMANDS.has(action.name())) return;
  const o = action.opts<{ kubeconfig?: string; stateDir?: string; filename?: string[]; useKube?: boolean }>();
  if (action.name() === 'analyze' && (o.filename?.length ?? 0) > 0 && o.useKube === false) return;
  const problem = clusterAccessProblem({
    ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
    ...(process.env.KUBECONFIG ? { env: process.env.KUBECONFIG } : {}),
    stateDir: o.stateDir ?? process.env.MESHWORK_STATE_DIR ?? DEFAULT_STATE_DIR,
  });
  if (problem) {
    process.stderr.write(`error: ${problem}\n`);
    process.exit(1);
  }
});

registerDemoCommand(program);
registerClusterCommands(program);
registerMeshSetupCommands(program);
registerMeshCommands(program);
registerMeshRuntimeCommands(program);
registerMciCommands(program);
registerVersionCommand(program);
registerCanaryCommands(program);
registerPrometheusCommands(program);
registerDashboardCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
