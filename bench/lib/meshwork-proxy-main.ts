// Process entry that runs one meshwork proxy (src/proxy) against an ADS server, so the benchmark can
// pin it to a core and read its CPU and memory from /proc. argv: <xds host:port> <node id> [access-log|no-access-log].
// Prints "ready" once its listeners are bound; SIGTERM stops it.
// MESHWORK_BENCH_CPU_PROFILE=FILE writes a V8 CPU profile (.cpuprofile) to FILE on SIGTERM, from the
// start or from the last SIGUSR2 (which restarts it, e.g. after a warm-up): `--cpu-prof` cannot be
// passed through NODE_OPTIONS, and the benchmark spawns this file itself.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startProxy } from '../../src/proxy/main.js';
import { stderrLogger } from '../../src/proxy/log.js';

const [xdsServer, nodeId, log = 'access-log'] = process.argv.slice(2);
if (!xdsServer || !nodeId || (log !== 'access-log' && log !== 'no-access-log')) {
  process.stderr.write('usage: meshwork-proxy-main <xds host:port> <node id> [access-log|no-access-log]\n');
  process.exit(2);
}

const profileFile = process.env.MESHWORK_BENCH_CPU_PROFILE;
const profiler = profileFile ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}

const proxy = await startProxy({
  xdsServer,
  nodeId,
  cluster: 'bench',
  metadata: { CLUSTER_ID: 'bench', NAMESPACE: 'bench' },
  adminAddress: { host: '127.0.0.1', port: 0 },
  // On by default, as in a sidecar: the access log and stats count in the proxy's cost. Lines go to
  // stdout, which the benchmark's spawn collects (startProcess keeps the tail for error messages).
  accessLog: log === 'access-log',
  log: stderrLogger(`proxy[${nodeId}]`, 'warn'),
  drainMs: 100,
});
await proxy.waitReady(10_000);
process.stdout.write('ready\n');

if (profiler) {
  process.on('SIGUSR2', () => {
    profiler
      .post('Profiler.stop')
      .then(() => profiler.post('Profiler.start'))
      .catch((err: unknown) => process.stderr.write(`restarting the cpu profile failed: ${String(err)}\n`));
  });
}

async function writeProfile(): Promise<void> {
  if (!profiler || !profileFile) return;
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(profileFile, JSON.stringify(profile));
  process.stderr.write(`cpu profile written to ${profileFile}\n`);
}

process.once('SIGTERM', () => {
  writeProfile()
    .then(() => proxy.stop())
    .then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`proxy stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
});
