// `meshwork version`: this build, and which data plane a new install would run (and which Envoy).
import type { Command } from 'commander';
import { envoyVersion, locateEnvoy } from '../envoy/locate.js';
import { MESHWORK_VERSION } from '../install/image.js';
import { formatStructured } from './output.js';

export interface VersionReport {
  meshwork: string;
  node: string;
  dataPlane: 'envoy' | 'meshwork';
  envoy?: { path: string; source: string; version: string; build: string };
  note?: string;
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
    .description('print the meshwork version and the data plane (and Envoy) that pods will run')
    .option('--envoy <path>', 'the envoy binary to check')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action((opts: { envoy?: string; output: string }) => {
      const report = versionReport(opts.envoy);
      if (opts.output === 'json' || opts.output === 'yaml') return void process.stdout.write(`${formatStructured(report, opts.output)}\n`);
      if (opts.output !== 'text') throw new Error(`--output ${opts.output}: use text, json or yaml`);
      const lines = [`meshwork ${report.meshwork} (node ${report.node})`, `data plane: ${report.dataPlane}`];
      if (report.envoy) lines.push(`envoy: ${report.envoy.version} (${report.envoy.build}) at ${report.envoy.path}, found by ${report.envoy.source}`);
      if (report.note) lines.push(report.note);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
