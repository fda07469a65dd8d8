// `meshwork dashboard`: the command's flags (commander) and its wiring: the collector of run.ts served by
// the dashboard server (server.ts: the page, GET /api/state, SSE /api/events).
//
// Exports: registerDashboardCommand(program).
import type { Command } from 'commander';
import { stateDirOption } from '../mesh-cli/options.js';
import { CommandError, errorMessage, processIo } from '../mesh-cli/io.js';
import { DEFAULT_DASHBOARD_PORT } from './options.js';
import { runDashboard } from './run.js';
import { startDashboardServer } from './server.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerDashboardCommand(program: Command): Command {
  return program
    .command('dashboard')
    .description('a live web page of the mesh: topology with request rates, splits against their weights, config propagation, canaries (prints its URL; Ctrl-C stops it)')
    .option('--port <port>', `TCP port to listen on (0: a free one)`, String(DEFAULT_DASHBOARD_PORT))
    .option('--address <ip>', 'address to listen on (not loopback: anyone who reaches it sees the mesh, without authentication)', '127.0.0.1')
    .option('--window <duration>', 'the sliding window of rates, error shares, p99s and split counts', '30s')
    .option('--refresh <duration>', 'how often the state is collected and pushed to the page', '2s')
    .option('--prometheus <url>', 'read the telemetry from Prometheus (PromQL) instead of scraping the pods\' :15020')
    .option('--context <name>', 'a kubeconfig context to read (repeatable; default: every context)', collect, [])
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, the local clusters\', ~/.kube/config)')
    .addOption(stateDirOption())
    .action(async (o: { port: string; address: string; window: string; refresh: string; prometheus?: string; context: string[]; kubeconfig?: string; stateDir: string }) => {
      try {
        process.exitCode = await runDashboard(
          { port: o.port, address: o.address, window: o.window, refresh: o.refresh, context: o.context, stateDir: o.stateDir, ...(o.prometheus ? { prometheus: o.prometheus } : {}), ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}) },
          startDashboardServer,
          processIo,
        );
      } catch (err) {
        processIo.err(`error: ${errorMessage(err)}`);
        process.exitCode = err instanceof CommandError ? err.exitCode : 1;
      }
    });
}
