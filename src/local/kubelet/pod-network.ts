// Pod networks for iptables interception (needs root): each pod its own network namespace
// `mw-<hash>`, a veth pair whose host end joins the mesh's bridge `mw-br<n>` (one bridge for the whole
// mesh, a subnet per cluster on it, so pods of different clusters reach each other without the host
// forwarding between interfaces: net.ipv4.ip_forward is never touched), the pod's resolv.conf and
// hosts in /etc/netns/<name>/ (bind-mounted by `ip netns exec`), and commands run inside it as a
// given uid/gid (Envoy as 1337, whose traffic the capture rules let through).
// The plans are pure (argv lists, tested as data); `runPlan` runs them and names the failing command.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Command = readonly string[];

export interface BridgeSpec {
  /** `mw-br<n>`: at most 15 characters (IFNAMSIZ). */
  name: string;
  /** The host's address on the bridge with its prefix, e.g. 10.74.0.1/16: the pods' gateway. */
  gatewayCidr: string;
}

export interface PodNetworkSpec {
  /** The network namespace: `mw-<hash>`. */
  netns: string;
  /** The host end of the veth pair: `mwv<hash>`. */
  hostVeth: string;
  bridge: string;
  /** The pod's address with the bridge subnet's prefix, e.g. 10.74.0.5/16. */
  podCidr: string;
  /** The bridge's address (the pod's default route). */
  gateway: string;
}

const IFNAMSIZ = 15;
const NETNS_ROOT = '/etc/netns';

/** Names for a pod (by its uid): the same pod always gets the same names, so a restart finds them. */
export function podNetworkNames(podUid: string): { netns: string; hostVeth: string } {
  const hash = createHash('sha256').update(podUid).digest('hex').slice(0, 10);
  return { netns: `mw-${hash}`, hostVeth: `mwv${hash}` };
}

function checkName(name: string, what: string): void {
  if (!/^mw[a-z0-9-]*$/.test(name) || name.length > IFNAMSIZ) throw new Error(`${what} "${name}" must start with "mw", use [a-z0-9-] and have at most ${IFNAMSIZ} characters`);
}

function checkCidr(cidr: string, what: string): { ip: string; prefix: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m[1]!.split('.').some((o) => Number(o) > 255) || Number(m[2]) > 32) throw new Error(`${what} "${cidr}" is not an IPv4 address with a prefix, e.g. 10.74.0.5/16`);
  return { ip: m[1]!, prefix: Number(m[2]) };
}

/** Creates the bridge and gives the host its gateway address. Undo with `bridgeTeardown`. */
export function bridgePlan(spec: BridgeSpec): Command[] {
  checkName(spec.name, 'bridge');
  checkCidr(spec.gatewayCidr, 'gateway');
  return [
    ['ip', 'link', 'add', spec.name, 'type', 'bridge'],
    ['ip', 'addr', 'add', spec.gatewayCidr, 'dev', spec.name],
    ['ip', 'link', 'set', spec.name, 'up'],
  ];
}

export function bridgeTeardown(spec: Pick<BridgeSpec, 'name'>): Command[] {
  checkName(spec.name, 'bridge');
  return [['ip', 'link', 'del', spec.name]];
}

/** The pod's namespace, its veth pair (eth0 inside), address, loopback and default route. */
export function podNetworkPlan(spec: PodNetworkSpec): Command[] {
  checkName(spec.netns, 'network namespace');
  checkName(spec.hostVeth, 'veth');
  checkName(spec.bridge, 'bridge');
  checkCidr(spec.podCidr, 'pod address');
  const inPod = (...argv: string[]): Command => ['ip', '-n', spec.netns, ...argv];
  return [
    ['ip', 'netns', 'add', spec.netns],
    ['ip', 'link', 'add', spec.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', spec.netns],
    ['ip', 'link', 'set', spec.hostVeth, 'master', spec.bridge],
    ['ip', 'link', 'set', spec.hostVeth, 'up'],
    inPod('addr', 'add', spec.podCidr, 'dev', 'eth0'),
    inPod('link', 'set', 'eth0', 'up'),
    inPod('link', 'set', 'lo', 'up'),
    inPod('route', 'add', 'default', 'via', spec.gateway),
  ];
}

/** Deleting the namespace deletes its veth end, and with it the host end. */
export function podNetworkTeardown(spec: Pick<PodNetworkSpec, 'netns'>): Command[] {
  checkName(spec.netns, 'network namespace');
  return [['ip', 'netns', 'del', spec.netns]];
}

/** argv that runs `argv` in the pod's namespace as uid/gid (setpriv), or as root when absent. */
export function inPodNamespace(netns: string, argv: readonly string[], user?: { uid: number; gid: number }): string[] {
  checkName(netns, 'network namespace');
  const as = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'] : [];
  return ['ip', 'netns', 'exec', netns, ...as, ...argv];
}

/** The pod's resolv.conf and hosts where `ip netns exec` bind-mounts them over /etc's. */
export function writePodNetnsFiles(netns: string, files: { resolvConf: string; hosts: string }, root = NETNS_ROOT): string {
  checkName(netns, 'network namespace');
  const dir = join(root, netns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'resolv.conf'), files.resolvConf);
  writeFileSync(join(dir, 'hosts'), files.hosts);
  return dir;
}

export function removePodNetnsFiles(netns: string, root = NETNS_ROOT): void {
  checkName(netns, 'network namespace');
  rmSync(join(root, netns), { recursive: true, force: true });
}

/** Why pod networks cannot be made here, or undefined when they can. */
export function podNetworkUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'iptables interception needs root (network namespaces, veth pairs, a bridge and iptables rules per pod); run as root or without --interception';
  for (const [tool, args] of [['ip', ['-V']], ['iptables-restore', ['--version']], ['setpriv', ['--version']]] as const) {
    if (spawnSync(tool, [...args]).status !== 0) return `iptables interception needs \`${tool}\` (install iproute2, iptables and util-linux)`;
  }
  return undefined;
}

/** Runs the commands in order; the first failure throws with the command and its stderr. */
export function runPlan(plan: readonly Command[], opts: { ignoreFailures?: boolean } = {}): void {
  for (const argv of plan) {
    const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    if ((result.error || result.status !== 0) && !opts.ignoreFailures) {
      throw new Error(`pod network: \`${argv.join(' ')}\` failed: ${result.error?.message ?? result.stderr.trim()}`);
    }
  }
}
