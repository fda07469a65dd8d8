// Before a command that talks to clusters: is there a kubeconfig, and are the clusters it names up?
// Without this, a stopped local cluster shows as "connect ECONNREFUSED 127.10.0.1:6443" and a missing
// kubeconfig as client-node's placeholder context; the user is told what is wrong and what to run.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { localKubeconfig, runningState, statePaths } from '../runtime/state.js';

export interface AccessInputs {
  /** --kubeconfig */
  kubeconfig?: string;
  /** $KUBECONFIG */
  env?: string;
  /** --state-dir (default ./.meshwork) */
  stateDir: string;
  home?: string;
}

/** The kubeconfig a command will read, in loadKubeConfig's order, or undefined when there is none. */
export function chosenKubeconfig(i: AccessInputs): string | undefined {
  if (i.kubeconfig) return i.kubeconfig;
  if (i.env) return i.env.split(delimiter).find((f) => f && existsSync(f)) ?? i.env.split(delimiter)[0];
  const local = statePaths(i.stateDir).kubeconfig;
  if (existsSync(local)) return local;
  const home = join(i.home ?? homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

/** What stands between the command and the clusters, as a message naming the fix; undefined when nothing does. */
export function clusterAccessProblem(i: AccessInputs): string | undefined {
  const file = chosenKubeconfig(i);
  if (file === undefined) {
    const local = statePaths(i.stateDir).kubeconfig;
    return `no kubeconfig: KUBECONFIG is not set, and neither ${local} nor ${join(i.home ?? homedir(), '.kube', 'config')} exists. ` +
      'Start local clusters with `meshwork up -d` (in this folder), or pass --kubeconfig / set KUBECONFIG';
  }
  if (!existsSync(file)) return `kubeconfig ${file} (from ${i.kubeconfig ? '--kubeconfig' : 'KUBECONFIG'}) does not exist`;
  // A kubeconfig in a meshwork state folder: its clusters live only while the hosting process does.
  const paths = statePaths(dirname(file));
  if (paths.kubeconfig !== resolve(file) || !existsSync(paths.stateFile)) return undefined;
  if (runningState(paths)) return undefined;
  const flag = paths.dir.endsWith('/.meshwork') ? '' : ` --state-dir ${paths.dir}`;
  return `the local clusters of ${paths.dir} are stopped (\`meshwork down\`, or their process ended): run \`meshwork up -d${flag}\` to start them again`;
}

/**
 * The kubeconfig a command hands to k8s/client: --kubeconfig, else the local clusters' (in the state
 * folder) when $KUBECONFIG is unset and it exists, else none (client-node's default order).
 */
export function kubeconfigOrLocal(kubeconfig: string | undefined, stateDir?: string): string | undefined {
  if (kubeconfig) return kubeconfig;
  if (process.env.KUBECONFIG) return undefined;
  const local = localKubeconfig(stateDir);
  return existsSync(local) ? local : undefined;
}
