// The two files a pod's containers see as /etc/hosts and /etc/resolv.conf (pure). The kubelet writes
// both when the pod starts, as a real kubelet does; the pod's agent rewrites the hosts file with the
// mesh's names whenever its name table changes.

/** Set by the kubelet on a pod's sidecar container: the pod's hosts file, which its agent keeps current. */
export const POD_HOSTS_FILE_ENV = 'MESHWORK_POD_HOSTS_FILE';

export interface PodHost {
  ip: string;
  /** The pod's name: its hostname. */
  hostname: string;
}

const HOSTS_HEADER = '# Kubernetes-managed hosts file (meshwork: the local kubelet, the mesh names from the pod\'s sidecar agent).';
const MESH_HEADER = '# Mesh services: from the name table (NDS) of the pod\'s sidecar agent.';

/** Kubernetes' hosts file for a pod, then one line per address with every mesh name that resolves to it. */
export function renderHostsFile(pod: PodHost, meshNames: ReadonlyMap<string, readonly string[]> = new Map()): string {
  const lines = [
    HOSTS_HEADER,
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${pod.ip}\t${pod.hostname}`,
  ];
  const byIp = new Map<string, string[]>();
  for (const [name, ips] of meshNames) {
    for (const ip of ips) {
      const names = byIp.get(ip);
      if (names) names.push(name);
      else byIp.set(ip, [name]);
    }
  }
  if (byIp.size > 0) {
    lines.push(MESH_HEADER);
    // Longest (fully qualified) name first: it is the canonical name `getent hosts` prints.
    for (const [ip, names] of byIp) lines.push(`${ip}\t${names.sort((a, b) => b.length - a.length || (a < b ? -1 : 1)).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

export interface HostResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** The nameservers, search domains and options of a resolv.conf text (comments and unknown lines skipped). */
export function parseResolvConf(text: string): HostResolvConf {
  const out: HostResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const [keyword, ...values] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (keyword === 'nameserver' && values[0]) out.nameservers.push(values[0]);
    // The last search (or domain) line wins, as in glibc.
    else if (keyword === 'search' || keyword === 'domain') out.search = values.filter(Boolean);
    else if (keyword === 'options') out.options.push(...values.filter(Boolean));
  }
  return out;
}

/**
 * Kubernetes' ClusterFirst resolv.conf: the cluster's search domains before the host's, ndots:5, and
 * the host's own nameservers (there is no cluster DNS server a non-root resolver could reach: glibc
 * has no port option and port 53 needs root), so names outside the mesh resolve as on the host.
 */
export function renderResolvConf(namespace: string, host: HostResolvConf, domainSuffix = 'cluster.local'): string {
  const search = [`${namespace}.svc.${domainSuffix}`, `svc.${domainSuffix}`, domainSuffix];
  for (const domain of host.search) if (!search.includes(domain)) search.push(domain);
  const options = ['ndots:5', ...host.options.filter((o) => !o.startsWith('ndots:'))];
  return [
    '# Kubernetes-managed resolv.conf (meshwork: mesh names are in /etc/hosts, written by the sidecar agent).',
    `search ${search.join(' ')}`,
    ...host.nameservers.map((ns) => `nameserver ${ns}`),
    `options ${options.join(' ')}`,
  ].join('\n') + '\n';
}
