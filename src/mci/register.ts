// `meshwork mci-controller`: runs the multi-cluster ingress controller in the foreground until SIGINT or
// SIGTERM. Every MultiClusterIngress gets an edge (Envoy configured over xDS by the controller, or the
// TypeScript edge proxy when no Envoy is installed) on a VIP from --vip-range (127.250.0.1-254 by default),
// port 80; a user who may not bind port 80 gets port 10080 instead, and the VIP in the status then
// carries the port (`127.250.0.1:10080`), so `curl http://$VIP/` works either way.
import type { Command } from 'commander';
import { MciController } from './controller.js';
import { DEFAULT_VIP_RANGE, parseVipRange } from './vip.js';

interface MciControllerFlags {
  configContext: string;
  memberContexts: string;
  kubeconfig?: string;
  vipRange?: string;
  edgePort: string;
  adminPort: string;
  resyncMs: string;
  envoy?: string | false;
}

function port(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${flag}: ${JSON.stringify(text)} is not a port (1-65535)`);
  return n;
}

export function registerMciCommands(program: Command): void {
  program
    .command('mci-controller')
    .description('Run the multi-cluster ingress controller: derived Services from MultiClusterServices in every member cluster, one health-checked edge proxy per MultiClusterIngress')
    .requiredOption('--config-context <context>', 'the config cluster, where MultiClusterService, BackendConfig and MultiClusterIngress live')
    .requiredOption('--member-contexts <contexts>', 'comma-separated member clusters whose gateways the edges balance over, e.g. cluster-1,cluster-2')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, the local clusters\', ~/.kube/config)')
    .option('--vip-range <range>', `loopback addresses for the VIPs (default ${DEFAULT_VIP_RANGE.prefix}.${DEFAULT_VIP_RANGE.first}-${DEFAULT_VIP_RANGE.last})`)
    .option('--edge-port <port>', 'the port of every VIP (10000 + port when this user may not bind it)', '80')
    .option('--admin-port <port>', 'the admin port on every VIP: Envoy\'s admin API (/clusters: per-gateway health and requests), or GET /stats of the TypeScript edge', '15000')
    .option('--envoy <path>', 'the Envoy binary of the edges (default: MESHWORK_ENVOY, the project\'s .tools/envoy, PATH)')
    .option('--no-envoy', 'run the TypeScript edge proxy even when Envoy is installed')
    .option('--resync-ms <ms>', 'how often to re-read the clusters', '1000')
    .action(async (flags: MciControllerFlags) => {
      const members = flags.memberContexts.split(',').map((s) => s.trim()).filter(Boolean);
      if (members.length === 0) throw new Error('--member-contexts: name at least one context');
      const resyncMs = Number(flags.resyncMs);
      if (!Number.isInteger(resyncMs) || resyncMs < 100) throw new Error(`--resync-ms: ${flags.resyncMs} must be an integer >= 100`);
      const controller = new MciController({
        configContext: flags.configContext,
        memberContexts: members,
        kubeconfig: flags.kubeconfig,
        vipRange: flags.vipRange ? parseVipRange(flags.vipRange) : undefined,
        edgePort: port(flags.edgePort, '--edge-port'),
        adminPort: port(flags.adminPort, '--admin-port'),
        resyncMs,
        ...(flags.envoy !== undefined ? { envoy: flags.envoy } : {}),
        log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
      });
      process.stderr.write(`mci-controller: config cluster ${flags.configContext}, members ${members.join(', ')}\n`);
      controller.start();
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await controller.stop();
    });
}
