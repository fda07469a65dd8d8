// Runs one httpGet or tcpSocket probe and prints its result as JSON: what pod-netns.ts starts inside a
// pod's network namespace.   node netns-probe-main.(js|ts) '{"probe":...,"host":...,"container":...,"timeoutMs":...}'
import { runProbe } from './probe.js';
import type { Container, Probe } from './pod-types.js';

const input = JSON.parse(process.argv[2] ?? '{}') as { probe: Probe; host: string; container: Container; timeoutMs: number };
if (!input.probe || (!input.probe.httpGet && !input.probe.tcpSocket)) {
  process.stderr.write('usage: netns-probe-main \'{"probe":{"httpGet"|"tcpSocket":...},"host":IP,"container":{...},"timeoutMs":N}\'\n');
  process.exit(2);
}
const result = await runProbe(input.probe, { host: input.host, container: input.container, env: {}, cwd: '/' }, input.timeoutMs);
process.stdout.write(JSON.stringify(result));
