// DNS in pods, the kubelet's part. Local pods share the host's network and files, and a non-root
// resolver cannot be pointed at a nameserver on another port than 53; so each app container of a pod
// with a sidecar runs in its own user and mount namespace (unprivileged: `unshare --user
// --map-root-user --mount`, no root needed) where the pod's own hosts file and resolv.conf are
// bind-mounted over /etc/hosts and /etc/resolv.conf. The kubelet writes both files when the pod
// starts; the sidecar agent keeps the mesh's names in the hosts file (agent/pod-dns.ts). Nothing else
// changes: the container keeps the host's PID and network namespaces (its pid, process group, loopback
// IPs and kill/adopt records are as before), and `kubectl exec` enters its namespaces with nsenter.
// Where user namespaces are not allowed, pods run as before and get a Warning event saying why.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseResolvConf, renderHostsFile, renderResolvConf } from '../../dns/pod-files.js';
import { resolveExecutable } from './launch-plan.js';

export interface PodDnsFiles {
  hostsFile: string;
  resolvConf: string;
}

/** The host programs pod DNS needs, by absolute path. */
export interface UserNamespaceTools {
  unshare: string;
  nsenter: string;
  sh: string;
  mount: string;
}

export type UserNamespaceSupport = { ok: true; tools: UserNamespaceTools } | { ok: false; reason: string };

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What a pod's event says when its containers cannot get their own /etc/hosts and /etc/resolv.conf. */
export function dnsUnavailableMessage(reason: string): string {
  return (
    `DNS in pods needs unprivileged user namespaces, which this machine does not allow (${reason}): the pod's containers ` +
    `use the host's /etc/hosts and /etc/resolv.conf, so Service names resolve only through the sidecar's HTTP proxy (http_proxy). ` +
    'Allow them with `sysctl -w user.max_user_namespaces=15000` (and, where these exist, `kernel.unprivileged_userns_clone=1`, ' +
    '`kernel.apparmor_restrict_unprivileged_userns=0`), then recreate the pod'
  );
}

/** The script run as uid 0 of the new namespaces: mount the pod's files, then become the container's program. */
function mountScript(mount: string): string {
  const quoted = `'${mount.replace(/'/g, `'\\''`)}'`;
  return `${quoted} --bind "$1" /etc/hosts && ${quoted} --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"`;
}

let support: UserNamespaceSupport | undefined;

/**
 * Whether this machine lets the kubelet's user create a user + mount namespace and bind-mount over
 * /etc/hosts and /etc/resolv.conf in it: tried for real, once per process.
 */
export function userNamespaceSupport(): UserNamespaceSupport {
  support ??= probeSupport(process.env.PATH ?? SYSTEM_PATH);
  return support;
}

function probeSupport(path: string): UserNamespaceSupport {
  const find = (name: string): string | undefined => resolveExecutable(name, `${path}:${SYSTEM_PATH}`, '/');
  const tools = { unshare: find('unshare'), nsenter: find('nsenter'), sh: find('sh'), mount: find('mount') };
  const missing = Object.entries(tools).filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length > 0) return { ok: false, reason: `${missing.join(', ')} not found (util-linux)` };
  for (const file of ['/etc/hosts', '/etc/resolv.conf']) if (!existsSync(file)) return { ok: false, reason: `${file} does not exist to be mounted over` };
  const found = tools as UserNamespaceTools;
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-userns-'));
  try {
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '127.0.0.1 localhost\n');
    const argv = inPodNamespaces(found, { hostsFile: hosts, resolvConf: hosts }, [found.sh, '-c', 'true']);
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 5000 });
    if (r.error) return { ok: false, reason: r.error.message };
    if (r.status !== 0) return { ok: false, reason: `\`unshare --user --map-root-user --mount\` failed: ${(r.stderr || `exit ${r.status}`).trim()}` };
    return { ok: true, tools: found };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The argv that runs `argv` in new user + mount namespaces with the pod's files over /etc/hosts and /etc/resolv.conf. */
export function inPodNamespaces(tools: UserNamespaceTools, files: PodDnsFiles, argv: readonly string[]): string[] {
  // No --fork: unshare, sh and the program are one process, so the pid and process group stay the container's.
  return [tools.unshare, '--user', '--map-root-user', '--mount', '--', tools.sh, '-c', mountScript(tools.mount), 'pod-dns', files.hostsFile, files.resolvConf, ...argv];
}

/**
 * The argv that runs `argv` inside the namespaces of the container whose main process is `pid`, as
 * the same user (the namespace maps it to uid 0, as the container's own processes see themselves).
 */
export function inContainerOf(tools: Pick<UserNamespaceTools, 'nsenter'>, pid: number, argv: readonly string[]): string[] {
  return [tools.nsenter, '-t', String(pid), '--user', '--mount', '--preserve-credentials', '--', ...argv];
}

/** Whether a process has a mount namespace other than ours (a container started with its pod's DNS files). */
export function hasOwnMountNamespace(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`) !== readlinkSync('/proc/self/ns/mnt');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ESRCH') return false;
    throw err;
  }
}

/** Where a pod's DNS files live: in its directory, apart from what its apps write there. */
export function podDnsFiles(workDir: string): PodDnsFiles {
  return { hostsFile: join(workDir, '.dns', 'hosts'), resolvConf: join(workDir, '.dns', 'resolv.conf') };
}

/**
 * Writes the pod's hosts file (Kubernetes' lines; the sidecar agent adds the mesh's names) and its
 * resolv.conf (the namespace's search list, the host's nameservers). A hosts file that already exists
 * is left alone: its agent may have written the mesh's names into it.
 */
export function writePodDnsFiles(files: PodDnsFiles, pod: { name: string; namespace: string; ip: string }, hostResolvConf = readHostResolvConf()): void {
  mkdirSync(dirname(files.hostsFile), { recursive: true });
  if (!existsSync(files.hostsFile)) writeFileSync(files.hostsFile, renderHostsFile({ ip: pod.ip, hostname: pod.name }), { mode: 0o644 });
  writeFileSync(files.resolvConf, renderResolvConf(pod.namespace, parseResolvConf(hostResolvConf)), { mode: 0o644 });
}

function readHostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}
