// Mesh commands: `control-plane` and `proxy` (what runs inside pods), `install`, `create-remote-secret`,
// `create-mesh`, and `apply -f` through the Kubernetes API.
import type { Command } from 'commander';
import { agentConfigFromEnv, startAgent, type ProxyMode } from '../agent/proxy-agent.js';
import { ownKubeConfig, runControlPlane } from '../controlplane/control-plane.js';
import { DEFAULT_INGRESS_NAMESPACE } from '../ingress/class.js';
import { startInjectorServer } from '../controlplane/injector-server.js';
import { defaultDataPlane, runCreateMesh, runCreateRemoteSecret, runInstall } from '../install/commands.js';
import { DATA_PLANE_ENV, parseDataPlane } from '../agent/data-plane.js';
import { parseOutputFormat, renderInstall } from '../install/dry-run.js';
import { defaultMeshCaDir } from '../install/mesh-ca.js';
import { MESHWORK_IMAGE } from '../image.js';
import { DEFAULT_REVISION, ISTIO_SYSTEM, MONITORING_PORT, WEBHOOK_PORT, XDS_SECURE_PORT } from '../install/names.js';
import { applyObjects } from '../k8s/client/apply.js';
import { kubeconfigPath, loadKubeConfig } from '../k8s/client/client.js';
import { readManifests } from '../k8s/client/manifests.js';
import { compileLabelSelector } from '../k8s/selectors.js';
import { defaultScenarioDir, runDemo } from '../scenario/demo.js';
import { REPO_ROOT } from '../repo.js';
import { kubeconfigOrLocal } from './cluster-access.js';
import { parseIntOption } from '../mesh-cli/options.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`error while stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => handler('SIGINT'));
  process.once('SIGTERM', () => handler('SIGTERM'));
}

export function registerMeshRuntimeCommands(program: Command): void {
  program
    .command('control-plane')
    .description('run the mesh control plane of one cluster (what `meshwork install` deploys as istiod)')
    .requiredOption('--cluster-id <id>', 'the member cluster this control plane runs in')
    .option('--revision <rev>', 'mesh revision', DEFAULT_REVISION)
    .option('--namespace <ns>', 'namespace of remote secrets and the webhook certificate', ISTIO_SYSTEM)
    .option('--kubeconfig <file>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option('--address <ip>', 'address to serve on (default: POD_IP, else 127.0.0.1)', process.env.POD_IP ?? '127.0.0.1')
    .option('--secure-xds-port <port>', 'xDS (ADS) and the CA over TLS, callers authenticated by their service-account token', parseIntOption(0, 65535), XDS_SECURE_PORT)
    .option('--plaintext-xds-port <port>', 'also serve xDS without TLS or authentication on this port (off by default; loopback --address only; tests and debugging)', parseIntOption(0, 65535))
    .option('--max-workload-cert-ttl <seconds>', 'the longest workload certificate the CA issues', parseIntOption(60, 10 * 365 * 86400), 86400)
    .option('--debug-port <port>', 'debug/status port', parseIntOption(0, 65535), MONITORING_PORT)
    .option('--webhook-port <port>', 'sidecar-injection webhook port (HTTPS)', parseIntOption(0, 65535), WEBHOOK_PORT)
    .option('--no-webhook', 'do not serve the injection webhook')
    .option('--no-config-status', 'do not write analysis findings into the status of Istio config objects (istiod: PILOT_ENABLE_ANALYSIS=false)')
    .option('--data-plane <kind>', 'what injected pods run unless annotated proxy.meshwork.io/data-plane: envoy or meshwork (default: envoy when installed)')
    .option('--endpoints-from-pods', 'make Services\' endpoints from their selectors and Pods instead of reading EndpointSlices, in every member cluster (API servers that refuse the pods\' addresses in EndpointSlices: loopback pod IPs, `up --apiserver real`)')
    .option('--interception-mode <mode>', 'REDIRECT: the cluster captures pod traffic with iptables, so injected pods get istio-init and no http_proxy (meshwork install sets it for such clusters)')
    .option('--ingress-namespace <ns>', 'where Gateways made of Kubernetes Ingresses go and the ingress Service is (istiod\'s K8S_INGRESS_NS)', process.env.K8S_INGRESS_NS || DEFAULT_INGRESS_NAMESPACE)
    .action(async (opts: { clusterId: string; revision: string; namespace: string; kubeconfig?: string; context?: string; address: string; secureXdsPort: number; plaintextXdsPort?: number; maxWorkloadCertTtl: number; debugPort: number; webhookPort: number; webhook: boolean; configStatus: boolean; dataPlane?: string; endpointsFromPods?: boolean; ingressNamespace: string; interceptionMode?: string }) => {
      const dataPlane = opts.dataPlane ? parseDataPlane(opts.dataPlane, '--data-plane') : defaultDataPlane(log);
      if (opts.interceptionMode !== undefined && opts.interceptionMode !== 'REDIRECT') throw new Error(`--interception-mode: "${opts.interceptionMode}" is not supported; use REDIRECT (or leave it out: http_proxy)`);
      const cp = await runControlPlane({
        clusterId: opts.clusterId,
        ...withKubeconfig(opts.kubeconfig),
        ...(opts.context ? { context: opts.context } : {}),
        namespace: opts.namespace,
        revision: opts.revision,
        xds: { host: opts.address, securePort: opts.secureXdsPort, ...(opts.plaintextXdsPort !== undefined ? { plaintextPort: opts.plaintextXdsPort } : {}) },
        maxWorkloadCertTtlSeconds: opts.maxWorkloadCertTtl,
        debug: { host: opts.address, port: opts.debugPort },
        configStatus: opts.configStatus,
        ingressNamespace: opts.ingressNamespace,
        ...(opts.endpointsFromPods ? { endpointsFromPods: true } : {}),
        log,
      });
      const injector = opts.webhook
        ? await startInjectorServer({
            kubeConfig: ownKubeConfig({ ...withKubeconfig(opts.kubeconfig), ...(opts.context ? { context: opts.context } : {}) } as Parameters<typeof ownKubeConfig>[0]),
            namespace: opts.namespace,
            revision: opts.revision,
            clusterId: opts.clusterId,
            dataPlane,
            ...(opts.interceptionMode === 'REDIRECT' ? { interceptionMode: 'REDIRECT' as const } : {}),
            host: opts.address,
            port: opts.webhookPort,
            log,
          })
        : undefined;
      log(`control plane of ${opts.clusterId}: xDS and CA (TLS) on ${opts.address}:${cp.secureXdsPort}${cp.plaintextXdsPort !== undefined ? `, plaintext xDS on ${opts.address}:${cp.plaintextXdsPort}` : ''}, debug on ${opts.address}:${cp.debugPort}`);
      onSignals(async () => {
        await injector?.close();
        await cp.stop();
      });
    });

  program
    .command('proxy')
    .description('run the meshwork proxy in a pod (the injector adds this container): sidecar or router (ingress gateway)')
    .argument('<mode>', 'sidecar or router')
    .option('--drain <ms>', 'on SIGTERM, answer not-ready this long before stopping', parseIntOption(0, 600_000), 1000)
    .option('--no-access-log', 'no per-request log line (meshwork data plane)')
    .option('--data-plane <kind>', `envoy or meshwork (default: ${DATA_PLANE_ENV}, else meshwork)`)
    .option('--envoy <path>', 'the envoy binary (default: MESHWORK_ENVOY, .tools/envoy, PATH)')
    .action(async (mode: string, opts: { drain: number; accessLog: boolean; dataPlane?: string; envoy?: string }) => {
      if (mode !== 'sidecar' && mode !== 'router') throw new Error(`unknown proxy mode "${mode}": use sidecar or router`);
      const config = agentConfigFromEnv(mode as ProxyMode, process.env);
      if (opts.dataPlane) config.dataPlane = parseDataPlane(opts.dataPlane, '--data-plane');
      const agent = await startAgent(config, { accessLog: opts.accessLog, ...(opts.envoy ? { envoyPath: opts.envoy } : {}), log });
      log(`meshwork proxy ${mode}: ${agent.dataPlane.version}, node ${config.nodeId}, status port ${agent.statusPort}`);
      onSignals(() => agent.drainAndStop(opts.drain));
    });
}

export function registerMeshSetupCommands(program: Command): void {
  program
    .command('install')
    .description('install the mesh control plane into a cluster (revision asm-managed-stable); --dry-run prints it instead')
    .option('--context <name>', 'kubeconfig context of the cluster (also its cluster id); required unless --dry-run')
    .option('--kubeconfig <file>', 'kubeconfig file')
    .option('--revision <rev>', 'mesh revision', DEFAULT_REVISION)
    .option('--timeout <seconds>', 'wait this long for the control plane to be available', parseIntOption(0, 3600), 120)
    .option('--data-plane <kind>', 'what injected pods run: envoy or meshwork (default: envoy when installed); a pod\'s annotation proxy.meshwork.io/data-plane wins')
    .option('--mesh-ca <dir>', 'the mesh root CA folder (root-cert.pem, root-key.pem; created when absent): install every cluster of a mesh with the same one (default: mesh-ca/ beside the kubeconfig)')
    .option('--cacerts <dir>', 'your own CA instead: Istio\'s plug-in files ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem (a cluster\'s existing istio-system/cacerts Secret is always kept)')
    .option('--plaintext-xds-port <port>', 'have the control plane also serve plaintext xDS on this port (loopback addresses only; tests and debugging; default: 15010 while injected proxies still use plaintext xDS, else off)', parseIntOption(1, 65535))
    .option('--image <ref>', `the control plane image (default ${MESHWORK_IMAGE})`)
    .option('--webhook-url <url>', 'the control plane runs outside the cluster: webhooks call https://HOST:PORT (its --webhook-port) instead of the istiod Service, and no Deployment is installed')
    .option('--discovery-address <host:port>', 'where injected proxies reach the control plane\'s xDS and CA (its --address and TLS port 15012) when pods cannot reach the istiod Service: written as the mesh config\'s defaultConfig.discoveryAddress (istioctl: values.global.remotePilotAddress)')
    .option('--dry-run', 'print every object in apply order instead of applying (touches no cluster; the output holds private keys)')
    .option('--cluster-id <id>', 'with --dry-run: the cluster id (default: --context)')
    .option('-o, --output <format>', 'with --dry-run: yaml or json', 'yaml')
    .action(async (opts: { context?: string; kubeconfig?: string; revision: string; timeout: number; dataPlane?: string; meshCa?: string; cacerts?: string; plaintextXdsPort?: number; image?: string; webhookUrl?: string; discoveryAddress?: string; dryRun?: boolean; clusterId?: string; output: string }, command: Command) => {
      const dataPlane = opts.dataPlane ? parseDataPlane(opts.dataPlane, '--data-plane') : undefined;
      if (opts.dryRun) {
        const clusterId = opts.clusterId ?? opts.context;
        if (!clusterId) throw new Error('install --dry-run needs --cluster-id ID (or --context NAME): the cluster id names its CA and its proxies\' cluster');
        const output = parseOutputFormat(opts.output);
        const meshCaDir = opts.meshCa ?? defaultMeshCaDir(kubeconfigPath({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}) }));
        process.stdout.write(
          await renderInstall({
            clusterId,
            revision: opts.revision,
            meshCaDir,
            output,
            log,
            ...(opts.cacerts ? { cacertsDir: opts.cacerts } : {}),
            ...(opts.image ? { image: opts.image } : {}),
            ...(dataPlane ? { dataPlane } : {}),
            ...(opts.webhookUrl !== undefined ? { webhookUrl: opts.webhookUrl } : {}),
            ...(opts.discoveryAddress !== undefined ? { discoveryAddress: opts.discoveryAddress } : {}),
            ...(opts.plaintextXdsPort !== undefined ? { plaintextXdsPort: opts.plaintextXdsPort } : {}),
          }),
        );
        return;
      }
      if (command.getOptionValueSource('output') === 'cli') throw new Error('-o/--output is for --dry-run (print instead of apply); add --dry-run, or drop -o to install');
      if (command.getOptionValueSource('clusterId') === 'cli') throw new Error('--cluster-id is for --dry-run; an install names the cluster by its --context');
      if (!opts.context) throw new Error("install needs --context NAME (the cluster to install into), or --dry-run to print the objects");
      await runInstall({
        context: opts.context,
        ...(opts.meshCa ? { meshCaDir: opts.meshCa } : {}),
        ...(opts.cacerts ? { cacertsDir: opts.cacerts } : {}),
        ...(opts.plaintextXdsPort !== undefined ? { plaintextXdsPort: opts.plaintextXdsPort } : {}),
        ...(opts.image ? { image: opts.image } : {}),
        ...(opts.webhookUrl !== undefined ? { webhookUrl: opts.webhookUrl } : {}),
        ...(opts.discoveryAddress !== undefined ? { discoveryAddress: opts.discoveryAddress } : {}),
        revision: opts.revision,
        waitTimeoutMs: opts.timeout * 1000,
        ...withKubeconfig(opts.kubeconfig),
        ...(dataPlane ? { dataPlane } : {}),
      });
    });

  program
    .command('create-remote-secret')
    .description('print the Secret that lets other clusters\' control planes read this cluster (as istioctl)')
    .requiredOption('--context <name>', 'kubeconfig context of the cluster to expose')
    .option('--name <name>', 'the cluster name other control planes know it by (default: the context name)')
    .option('--server <url>', 'API server address other clusters use (default: the kubeconfig\'s)')
    .option('--kubeconfig <file>', 'kubeconfig file')
    .action(async (opts: { context: string; name?: string; server?: string; kubeconfig?: string }) => {
      process.stdout.write(await runCreateRemoteSecret({ ...opts, ...withKubeconfig(opts.kubeconfig) }));
    });

  program
    .command('create-mesh')
    .description('join clusters into one mesh: give each control plane the remote secrets of the others')
    .argument('<contexts...>', 'kubeconfig contexts of the member clusters')
    .option('--kubeconfig <file>', 'kubeconfig file')
    .action(async (contexts: string[], opts: { kubeconfig?: string }) => {
      await runCreateMesh(contexts, withKubeconfig(opts.kubeconfig));
    });

  program
    .command('apply')
    .description('create or update objects from YAML files or folders (client-side apply, as kubectl)')
    .requiredOption('-f, --filename <path...>', 'files or folders')
    .option('-n, --namespace <ns>', 'namespace for objects that name none')
    .option('-l, --selector <selector>', 'only objects whose labels match')
    .option('--context <name>', 'kubeconfig context')
    .option('--kubeconfig <file>', 'kubeconfig file')
    .action(async (opts: { filename: string[]; namespace?: string; selector?: string; context?: string; kubeconfig?: string }) => {
      const kc = loadKubeConfig({ ...withKubeconfig(opts.kubeconfig), ...(opts.context ? { context: opts.context } : {}) });
      const matches = opts.selector ? compileLabelSelector(opts.selector) : () => true;
      const manifests = readManifests(opts.filename).filter((m) => matches(m.object.metadata.labels ?? {}));
      for (const r of await applyObjects(kc, manifests, opts.namespace ? { namespace: opts.namespace } : {})) say(`${r.ref} ${r.outcome}`);
    });
}

/** --kubeconfig, or the local clusters' when the user names none (see kubeconfigOrLocal). */
function withKubeconfig(kubeconfig: string | undefined): { kubeconfig?: string } {
  const file = kubeconfigOrLocal(kubeconfig);
  return file ? { kubeconfig: file } : {};
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the multi-cluster helloworld scenario end to end on local clusters, with measured splits')
    .option('--state-dir <dir>', 'folder of the local clusters', process.env.MESHWORK_STATE_DIR ?? '.meshwork')
    .option('--subnet-base <octet>', 'cluster i uses 127.<base+10(i-1)>.0.0/16', parseIntOption(1, 240), Number(process.env.MESHWORK_SUBNET_BASE ?? 10))
    .option('--requests <n>', 'requests per measured split', parseIntOption(10, 100_000), 1000)
    .option('--data-plane <kind>', 'what the pods run: envoy or meshwork (default: envoy when installed)')
    .option('--canary', 'then the seed\'s use case: a Canary moves helloworld to the "upgraded" cluster-2 (10, 25, 50, 100 %), each step\'s split measured')
    .action(async (opts: { stateDir: string; subnetBase: number; requests: number; dataPlane?: string; canary?: boolean }) => {
      const { dataPlane, ...rest } = opts;
      const ok = await runDemo({ ...rest, ...(dataPlane ? { dataPlane: parseDataPlane(dataPlane, '--data-plane') } : {}), scenarioDir: defaultScenarioDir(REPO_ROOT), say });
      if (!ok) process.exitCode = 1;
    });
}
