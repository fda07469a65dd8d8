// Where the real Kubernetes control plane's binaries are: scripts/ensure-kube-binaries.mjs builds them
// (kube-apiserver and kube-controller-manager of Kubernetes v1.34.4, etcd) or takes the user's
// (KUBEBUILDER_ASSETS, flags); this asks it (`--where`) and names what is missing and how to get it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../runtime/repo.js';

export const KUBE_BINARY_NAMES = ['kube-apiserver', 'kube-controller-manager', 'etcd'] as const;
export type KubeBinaryName = (typeof KUBE_BINARY_NAMES)[number];

export interface LocatedBinary {
  path: string;
  /** `built` (the cache of ensure-kube-binaries.mjs), `KUBEBUILDER_ASSETS` or `flag`. */
  from: string;
}

export type KubeBinaries = Record<KubeBinaryName, string>;

export const ENSURE_SCRIPT = join(REPO_ROOT, 'scripts', 'ensure-kube-binaries.mjs');

/** Paths the user gives (e.g. `--kube-apiserver PATH`), passed on to the script, which checks them. */
export type GivenBinaries = Partial<Record<KubeBinaryName, string>>;

export function locateKubeBinaries(given: GivenBinaries = {}): Record<KubeBinaryName, LocatedBinary | null> & { version: string } {
  const flags = Object.entries(given).flatMap(([name, path]) => (path ? [`--${name}`, path] : []));
  const res = spawnSync(process.execPath, [ENSURE_SCRIPT, '--where', ...flags], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${ENSURE_SCRIPT} --where failed: ${(res.stderr || res.error?.message || '').trim()}`);
  return JSON.parse(res.stdout) as Record<KubeBinaryName, LocatedBinary | null> & { version: string };
}

/** Every binary's path, or an error naming the missing ones and how to get them. */
export function requireKubeBinaries(given: GivenBinaries = {}): KubeBinaries {
  const found = locateKubeBinaries(given);
  const missing = KUBE_BINARY_NAMES.filter((name) => !found[name]);
  if (missing.length > 0) {
    throw new Error(
      `the real Kubernetes control plane needs ${missing.join(', ')}, not found: run \`node scripts/ensure-kube-binaries.mjs\` ` +
        `(builds Kubernetes ${found.version} with Go from the module proxy; a cold build takes many minutes), ` +
        `or bring your own with KUBEBUILDER_ASSETS=DIR (kube-apiserver, etcd) and --kube-apiserver/--kube-controller-manager/--etcd PATH`,
    );
  }
  return Object.fromEntries(KUBE_BINARY_NAMES.map((name) => [name, found[name]!.path])) as KubeBinaries;
}
