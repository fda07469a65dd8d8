// Process entry that runs one meshwork proxy (src/proxy) against an ADS server, so the benchmark can
// pin it to a core and read its CPU and memory from /proc. argv: <xds host:port> <node id>.
// Prints "ready" once its listeners are bound; SIGTERM stops it.
import { startProxy } from '../../src/proxy/main.js';
import { stderrLogger } from '../../src/proxy/log.js';

const [xdsServer, nodeId] = process.argv.slice(2);
if (!xdsServer || !nodeId) {
  process.stderr.write('usage: meshwork-proxy-main <xds host:port> <node id>\n');
  process.exit(2);
}
const proxy = await startProxy({
  xdsServer,
  nodeId,
  cluster: 'bench',
  metadata: { CLUSTER_ID: 'bench', NAMESPACE: 'bench' },
  adminAddress: { host: '127.0.0.1', port: 0 },
  accessLog: false,
  log: stderrLogger(`proxy[${nodeId}]`, 'warn'),
  drainMs: 100,
});
await proxy.waitReady(10_000);
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  proxy.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`proxy stop failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
