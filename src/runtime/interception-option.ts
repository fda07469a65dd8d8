// `meshwork up --interception <mode>`: how pods' traffic reaches their sidecar. `http_proxy` (the
// default, no root): apps get http_proxy and bind the app IP. `iptables`: Istio's capture in per-pod
// network namespaces (root). See docs/interception.md.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateEnvoy } from '../envoy/locate.js';
import { meshworkCliModule } from '../image.js';
import { PROXY_UID } from '../inject/interception.js';
import { podNetworkUnsupported } from '../local/kubelet/pod-network.js';

export type InterceptionOption = 'http_proxy' | 'iptables';

export function parseInterceptionOption(value: string): InterceptionOption {
  if (value === 'http_proxy' || value === 'iptables') return value;
  throw new Error(`--interception: "${value}" is not a mode; use http_proxy (the default) or iptables`);
}

/** Why `up` cannot run with this mode, or undefined when it can. */
export function interceptionProblem(mode: InterceptionOption, unsupported: () => string | undefined = podNetworkUnsupported): string | undefined {
  if (mode === 'http_proxy') return undefined;
  const missing = unsupported();
  if (missing) return `--interception iptables: ${missing}`;
  if (!locateEnvoy()) return '--interception iptables: captured pods need Envoy as their data plane (the meshwork proxy has no original-destination listeners): run node scripts/ensure-envoy.mjs, or set MESHWORK_ENVOY';
  return undefined;
}

/** Whether `uid` may read (and for folders, enter) `path`, tried as that user. */
function accessibleTo(uid: number, path: string, dir: boolean): boolean {
  return spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'test', dir ? '-x' : '-r', path], { stdio: 'ignore' }).status === 0;
}

/**
 * The proxy of a captured pod runs as uid 1337: it must reach the state folder (its pod's files), this
 * checkout's CLI, Node and Envoy. Undefined when it can, else what to change.
 */
export function podUserAccessProblem(stateDir: string, uid = PROXY_UID): string | undefined {
  const envoy = locateEnvoy()?.path;
  const needed: Array<[string, boolean]> = [
    [resolve(stateDir), true],
    [fileURLToPath(meshworkCliModule()), false],
    [dirname(process.execPath), true],
    ...(envoy ? [[envoy, false] as [string, boolean]] : []),
  ];
  const blocked = needed.filter(([path, dir]) => !accessibleTo(uid, path, dir)).map(([path]) => path);
  if (blocked.length === 0) return undefined;
  return `--interception iptables: the pods' proxies run as uid ${uid}, which cannot reach ${blocked.join(', ')}: make the folders on the way readable and searchable by others (chmod o+rx), or use a --state-dir outside a private folder`;
}
