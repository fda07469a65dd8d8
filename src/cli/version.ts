// `meshwork version`, as `istioctl version`: this client, the control plane of each cluster and the
// data plane versions of the connected proxies (--remote=false: the client alone); then which data
// plane a new install would run (and which Envoy).
import type { Command } from 'commander';
import { envoyVersion, locateEnvoy } from '../envoy/locate.js';
import { MESHWORK_VERSION } from '../image.js';
import { loadKubeConfig } from '../k8s/client/client.js';
import { collectMeshVersions, formatMeshVersions, type MeshVersions } from '../mesh-cli/mesh-versions.js';
import { parseBool } from '../mesh-cli/register.js';
import { errorMessage } from '../mesh-cli/io.js';
import { stateDirOption } from '../mesh-cli/options.js';
import { clusterAccessProblem } from './cluster-access.js';
import { formatStructured } from '../mesh-cli/output.js';
import { localKubeconfig } from '../runtime/state.js';

export interface VersionReport {
  meshwork: string;
  node: string;
  dataPlane: 'envoy' | 'meshwork';
  envoy?: { path: string; source: string; version: string; build: string };
  note?: string;
  /** The clusters' control planes and proxies (absent with --remote=false). */
  mesh?: MeshVersions;
  /** Why the mesh could not be asked. */
  meshError?: string;
}

export function versionReport(envoyPath?: string): VersionReport {
  const located = locateEnvoy(envoyPath ? { explicit: envoyPath } : {});
  const base = { meshwork: MESHWORK_VERSION, node: process.version };
  if (!located) {
    return { ...base, dataPlane: 'meshwork', note: 'no Envoy found (--envoy, MESHWORK_ENVOY, .tools/envoy, PATH): `node scripts/ensure-envoy.mjs` installs the pinned one' };
  }
  return { ...base, dataPlane: 'envoy', envoy: { path: located.path, source: located.source, ...envoyVersion(located.path) } };
}

export function registerVersionCommand(program: Command): void {
  program
    .command('version')
    .description('print the client version, the control plane of each cluster and the data plane versions of its proxies (as istioctl version), and the data plane new pods will run')
    .option('--envoy <path>', 'the envoy binary to check')
    .option('--remote [bool]', 'also ask the clusters (false: the client alone)', parseBool('--remote'), true)
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, the local clusters\', ~/.kube/config)')
    .addOption(stateDirOption())
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (opts: { envoy?: string; remote: boolean; kubeconfig?: string; stateDir: string; output: string }) => {
      if (!['text', 'json', 'yaml'].includes(opts.output)) throw new Error(`--output ${opts.output}: use text, json or yaml`);
      const report = versionReport(opts.envoy);
      if (opts.remote) {
        const problem = clusterAccessProblem({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(process.env.KUBECONFIG ? { env: process.env.KUBECONFIG } : {}), stateDir: opts.stateDir });
        if (problem) report.meshError = problem;
        else {
          try {
            report.mesh = await collectMeshVersions(loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), localKubeconfig: localKubeconfig(opts.stateDir) }));
          } catch (err) {
            report.meshError = errorMessage(err);
          }
        }
      }
      if (opts.output === 'json' || opts.output === 'yaml') return void process.stdout.write(`${formatStructured(report, opts.output)}\n`);
      const lines = [`client version: ${report.meshwork} (node ${report.node})`];
      if (report.mesh) lines.push(...formatMeshVersions(report.mesh));
      if (report.meshError) lines.push(`control plane version: unknown: ${report.meshError}`);
      lines.push(`new pods run: ${report.dataPlane}`);
      if (report.envoy) lines.push(`envoy: ${report.envoy.version} (${report.envoy.build}) at ${report.envoy.path}, found by ${report.envoy.source}`);
      if (report.note) lines.push(report.note);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
