// The host side of pod network namespaces for one `meshwork up` (needs root): the mesh's bridge with the
// host's gateway address, the ClusterIP range as a local route, and a namespace + veth per pod (plans in
// pod-network.ts). Everything made is first written to `<state dir>/pod-network.json`, so a host killed
// with -9 leaves a list that `meshwork down` (or the next `up`) removes; nothing not in that list is
// ever deleted: another bridge or namespace of the same name is refused, not taken over.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpBlock, MeshNetworkPlan } from '../pod-network-addresses.js';
import {
  bridgePlan, bridgeTeardown, podNetworkNames, podNetworkPlan, podNetworkTeardown, removePodNetnsFiles, runPlan, type Command,
} from './pod-network.js';

export const POD_NETWORK_RECORD = 'pod-network.json';

interface PodNetworkRecord {
  bridge: string;
  gatewayCidr: string;
  serviceCidr: string;
  /** Pod namespaces made (or being made) and not yet removed. */
  netns: string[];
}

/** What a kubelet needs to put its pods in namespaces of their own. */
export interface KubeletPodNetwork {
  /** Where this cluster's pods with a namespace of their own get their IPs. */
  pods: IpBlock;
  /**
   * The pod's namespace: made anew (a leftover of the same pod removed first), or, with `adopt`, the
   * one its running containers are in.
   */
  attach(podUid: string, podIp: string, adopt: boolean): { netns: string };
  /** Removes the pod's namespace (its veth with it) and its /etc/netns files. */
  detach(netns: string): void;
  /** `https://IP:port` of the cluster's API server as captured pods reach it (their kubeconfig's server). */
  apiServer?: string;
}

function linkExists(name: string): boolean {
  return spawnSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' }).status === 0;
}

function netnsExists(name: string): boolean {
  return existsSync(join('/run/netns', name));
}

function toNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** Whether two IPv4 CIDRs overlap. */
export function cidrsOverlap(a: string, b: string): boolean {
  const range = (cidr: string): [number, number] => {
    const [ip, len] = cidr.includes('/') ? cidr.split('/') : [cidr, '32'];
    const size = 2 ** (32 - Number(len));
    const start = Math.floor(toNumber(ip!) / size) * size;
    return [start, start + size - 1];
  };
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

/** Routes of this host (every table) that overlap `cidr` and are not on `ownDevice`: e.g. a real 10.x network. */
export function conflictingRoutes(cidr: string, ownDevice: string, routeTable = spawnSync('ip', ['-o', '-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout): string[] {
  return routeTable
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => {
      const words = line.split(/\s+/);
      const dst = ['local', 'broadcast', 'unicast', 'blackhole', 'unreachable', 'prohibit'].includes(words[0]!) ? words[1] : words[0];
      if (!dst || dst === 'default' || !/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst)) return false;
      const dev = words[words.indexOf('dev') + 1];
      return dev !== ownDevice && cidrsOverlap(dst, cidr) && !(words[0] === 'local' && dev === 'lo' && dst === cidr);
    });
}

export class PodNetworkHost {
  private readonly file: string;
  private record: PodNetworkRecord;

  private constructor(stateDir: string, readonly plan: MeshNetworkPlan, private readonly log: (line: string) => void) {
    this.file = join(stateDir, POD_NETWORK_RECORD);
    this.record = { bridge: plan.bridge, gatewayCidr: plan.gatewayCidr, serviceCidr: plan.serviceCidr, netns: [] };
  }

  /**
   * The bridge and the ClusterIP route, made or (after a killed host, recorded in this state folder)
   * kept with the pod namespaces whose containers still run.
   */
  static open(stateDir: string, plan: MeshNetworkPlan, log: (line: string) => void): PodNetworkHost {
    const host = new PodNetworkHost(stateDir, plan, log);
    const previous = readRecord(host.file);
    if (previous && (previous.bridge !== plan.bridge || previous.serviceCidr !== plan.serviceCidr)) {
      removeRecorded(previous, log);
    } else if (previous && linkExists(plan.bridge)) {
      host.record = { ...previous, netns: previous.netns.filter(netnsExists) };
      host.save();
      log(`pod network: ${plan.bridge} (${plan.gatewayCidr}) and ${host.record.netns.length} pod namespaces kept from the previous run`);
      return host;
    } else if (previous) {
      removeRecorded(previous, log);
    }
    if (linkExists(plan.bridge)) {
      throw new Error(`--interception iptables: the interface ${plan.bridge} exists and this state folder did not make it (another mesh with the same --subnet-base?); use another --subnet-base, or remove it with \`ip link del ${plan.bridge}\` if it is a leftover`);
    }
    for (const [cidr, what] of [[plan.gatewayCidr, 'pods'], [plan.serviceCidr, 'ClusterIPs']] as const) {
      const conflicts = conflictingRoutes(cidr, plan.bridge);
      if (conflicts.length > 0) throw new Error(`--interception iptables: ${cidr} (the ${what} of subnet base ${plan.bridge.slice(5)}) overlaps routes of this host: ${conflicts.join('; ')}. Use another --subnet-base`);
    }
    host.save();
    try {
      runPlan([...bridgePlan({ name: plan.bridge, gatewayCidr: plan.gatewayCidr }), serviceRoute('add', plan.serviceCidr)]);
    } catch (err) {
      host.tearDown();
      throw err;
    }
    log(`pod network: bridge ${plan.bridge} ${plan.gatewayCidr}, ClusterIPs ${plan.serviceCidr} routed to this host`);
    return host;
  }

  /** The kubelet's view for one cluster's pods. */
  forCluster(pods: IpBlock): KubeletPodNetwork {
    return {
      pods,
      attach: (podUid, podIp, adopt) => this.attach(podUid, podIp, adopt),
      detach: (netns) => this.detach(netns),
    };
  }

  /** Gives the host `ip` on the bridge too (a cluster's API server address for captured pods); kept across a killed host. */
  addHostAddress(ip: string): void {
    if (ip === this.plan.gateway) return;
    const [, len] = this.plan.gatewayCidr.split('/');
    const r = spawnSync('ip', ['addr', 'add', `${ip}/${len}`, 'dev', this.plan.bridge], { encoding: 'utf8' });
    if (r.status !== 0 && !/File exists|already assigned/.test(r.stderr)) throw new Error(`pod network: \`ip addr add ${ip}/${len} dev ${this.plan.bridge}\` failed: ${r.stderr.trim()}`);
  }

  attach(podUid: string, podIp: string, adopt: boolean): { netns: string } {
    const { netns, hostVeth } = podNetworkNames(podUid);
    if (adopt && this.record.netns.includes(netns) && netnsExists(netns)) return { netns };
    if (netnsExists(netns)) {
      if (!this.record.netns.includes(netns)) throw new Error(`pod network: the namespace ${netns} exists and this state folder did not make it; remove it with \`ip netns del ${netns}\` if it is a leftover`);
      this.detach(netns);
    }
    this.record.netns.push(netns);
    this.save();
    const [, len] = this.plan.gatewayCidr.split('/');
    runPlan(podNetworkPlan({ netns, hostVeth, bridge: this.plan.bridge, podCidr: `${podIp}/${len}`, gateway: this.plan.gateway }));
    return { netns };
  }

  detach(netns: string): void {
    if (!this.record.netns.includes(netns)) return;
    runPlan(podTeardown(netns), { ignoreFailures: true });
    removePodNetnsFiles(netns);
    this.record.netns = this.record.netns.filter((n) => n !== netns);
    this.save();
  }

  /** Every pod namespace, the route and the bridge: what `up` made, when it stops. */
  tearDown(): void {
    removeRecorded(this.record, this.log);
    rmSync(this.file, { force: true });
  }

  private save(): void {
    writeFileSync(this.file, JSON.stringify(this.record, null, 2) + '\n');
  }
}

/**
 * The pod's veth first: a namespace outlives `ip netns del` while anything still holds it (a socket the
 * kernel is closing), and its veth with it; deleting the host end removes the pair at once.
 */
function podTeardown(netns: string): Command[] {
  return [['ip', 'link', 'del', `mwv${netns.slice('mw-'.length)}`], ...podNetworkTeardown({ netns })];
}

function serviceRoute(verb: 'add' | 'del', cidr: string): Command {
  return ['ip', 'route', verb, 'local', cidr, 'dev', 'lo', 'table', 'local'];
}

function readRecord(file: string): PodNetworkRecord | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as PodNetworkRecord;
}

function removeRecorded(record: PodNetworkRecord, log: (line: string) => void): number {
  for (const netns of record.netns) {
    runPlan(podTeardown(netns), { ignoreFailures: true });
    removePodNetnsFiles(netns);
  }
  runPlan([serviceRoute('del', record.serviceCidr), ...bridgeTeardown({ name: record.bridge })], { ignoreFailures: true });
  const left = [...record.netns.filter(netnsExists), ...(linkExists(record.bridge) ? [record.bridge] : [])];
  if (left.length > 0) throw new Error(`pod network: could not remove ${left.join(', ')} (needs root: run \`meshwork down\` as root)`);
  log(`pod network: removed ${record.netns.length} pod namespaces, the ClusterIP route ${record.serviceCidr} and the bridge ${record.bridge}`);
  return record.netns.length;
}

/** For `down` without a live host: removes what the state folder's record lists; the number of pod namespaces. */
export function removeRecordedPodNetwork(stateDir: string, log: (line: string) => void): number {
  const file = join(stateDir, POD_NETWORK_RECORD);
  const record = readRecord(file);
  if (!record) return 0;
  const removed = removeRecorded(record, log); // the record stays when anything is left
  rmSync(file, { force: true });
  return removed;
}
