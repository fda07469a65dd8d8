// `meshwork dashboard`, the run: checks the flags, makes the collector (every kubeconfig context, the
// pods' telemetry or Prometheus), hands it to the HTTP server, prints the URL (it opens nothing by itself)
// and serves until SIGINT/SIGTERM, then closes the server and the collector. The server is passed in
// (src/dashboard/server.ts in the command), so this part is tested without a browser bundle.
//
// Exports: StartServer, runDashboard.
import { CommandError, errorMessage, type CommandIo } from '../mesh-cli/io.js';
import { DashboardCollector } from './collector.js';
import type { DashboardSource } from './model.js';
import { parseDashboardFlags, type DashboardFlags } from './options.js';

export type StartServer = (opts: { host: string; port: number; source: DashboardSource; refreshMs?: number; log?: (line: string) => void }) => Promise<{ url: string; port: number; close(): Promise<void> }>;

/** Serves until `stop` resolves (default: SIGINT or SIGTERM); returns the exit code. */
export async function runDashboard(flags: DashboardFlags, startServer: StartServer, io: CommandIo, stop?: Promise<unknown>): Promise<number> {
  let opts;
  try {
    opts = parseDashboardFlags(flags);
  } catch (err) {
    throw new CommandError(errorMessage(err), 2);
  }
  if (opts.warning) io.err(`warning: ${opts.warning}`);
  const collector = new DashboardCollector({
    contexts: opts.contexts,
    windowMs: opts.windowMs,
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
    ...(opts.prometheus ? { prometheus: opts.prometheus } : {}),
  });
  let server;
  try {
    server = await startServer({ host: opts.address, port: opts.port, source: collector, refreshMs: opts.refreshMs, log: (line) => io.err(line) });
  } catch (err) {
    await collector.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CommandError(`${opts.address}:${opts.port} is already in use (another dashboard?): pass --port N, or --port 0 for a free one`);
    if (code === 'EADDRNOTAVAIL') throw new CommandError(`--address ${opts.address} is not an address of this machine`);
    if (code === 'EACCES') throw new CommandError(`port ${opts.port} is privileged and this user may not bind it: pass --port 1024 or higher`);
    throw err;
  }
  const telemetry = opts.prometheus ? `Prometheus ${opts.prometheus}` : 'the mesh pods\' merged metrics (:15020)';
  io.out(`dashboard: ${server.url}`);
  io.err(`reading ${opts.contexts.length > 0 ? `contexts ${opts.contexts.join(', ')}` : 'every context of the kubeconfig'}; rates over ${opts.windowMs / 1000}s from ${telemetry}, refreshed every ${opts.refreshMs / 1000}s. Ctrl-C stops it.`);
  await (stop ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }));
  await server.close();
  await collector.close();
  return 0;
}
