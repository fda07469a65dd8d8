// The mesh's names as a pod resolves them: Istio's NameTable (NDS). The control plane builds one per
// cluster from the registry (buildNameTable, Istio's pkg/dns/server BuildNameTable); the pod's agent
// expands it into the names its pod may ask for (lookupNames, Istio's agent-side alt hosts). Pure.
import type { MeshSnapshot } from '../registry/model.js';

/** istio.networking.nds.v1.NameTable.NameInfo, in the proto's snake_case shape. */
export interface NameInfo {
  ips: string[];
  /** 'Kubernetes' for Services, 'External' for ServiceEntries. */
  registry: string;
  /** The Service's name and namespace (Kubernetes only): the agent derives the short names from them. */
  shortname?: string;
  namespace?: string;
}

export interface NameTable {
  /** By FQDN (no trailing dot). */
  table: Record<string, NameInfo>;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

/**
 * The table for the proxies of `cluster`. A Service's address is its ClusterIP in that cluster; a
 * Service that exists only in other clusters gets the ClusterIP of the first of them by name (Istio's
 * DefaultAddress): every cluster's ClusterIPs are on this machine's loopback, served by that cluster's
 * kube-proxy, so the address reaches the Service's endpoints there. A headless Service resolves to its
 * ready endpoints in the proxy's own cluster, as Kubernetes DNS (and Istio) do. ServiceEntries with IP
 * addresses are added under their hosts; those without addresses get no entry (Istio would need its
 * VIP auto-allocation, which meshwork does not do).
 */
export function buildNameTable(snapshot: MeshSnapshot, cluster: string): NameTable {
  const table: Record<string, NameInfo> = {};
  // The ready addresses of headless Services in this cluster, by hostname (one pass over the endpoints).
  const readyHere = new Map<string, string[]>();
  for (const e of snapshot.endpoints) {
    if (e.cluster !== cluster || !e.ready) continue;
    const list = readyHere.get(e.hostname);
    if (list) list.push(e.address);
    else readyHere.set(e.hostname, [e.address]);
  }
  for (const svc of snapshot.services) {
    const vips = svc.clusterIPs ?? {};
    const own = vips[cluster];
    const remote = Object.keys(vips).sort()[0];
    let ips: string[];
    if (own !== undefined) ips = [own];
    else if (remote !== undefined) ips = [vips[remote]];
    else {
      ips = [...new Set(readyHere.get(svc.hostname) ?? [])].sort();
    }
    ips = ips.filter(isIpv4);
    if (ips.length === 0) continue;
    table[svc.hostname] = { ips, registry: 'Kubernetes', shortname: svc.name, namespace: svc.namespace };
  }
  for (const se of snapshot.serviceEntries) {
    const addresses = (se.spec.addresses ?? []).filter(isIpv4);
    if (addresses.length === 0) continue;
    for (const host of se.spec.hosts ?? []) {
      if (host.startsWith('*')) continue;
      const known = table[host];
      // A Kubernetes Service of the same name wins (Istio: the ServiceEntry only decorates it).
      if (known?.registry === 'Kubernetes') continue;
      table[host] = known ? { ...known, ips: [...new Set([...known.ips, ...addresses])] } : { ips: addresses, registry: 'External' };
    }
  }
  return { table };
}

/**
 * Every name a pod in `namespace` resolves, lower case without the trailing dot, to its addresses: the
 * FQDN; for Kubernetes Services of this domain also `name.ns`, `name.ns.svc` and, in the pod's own
 * namespace, `name` (what the search list `ns.svc.<domain> svc.<domain> <domain>` makes of them).
 * A name two entries claim keeps the first, FQDNs before short names, entries in name order.
 */
export function lookupNames(nameTable: NameTable, namespace: string, domainSuffix = 'cluster.local'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const entries = Object.entries(nameTable.table).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [host, info] of entries) out.set(host.toLowerCase(), info.ips);
  for (const [host, info] of entries) {
    if (info.registry !== 'Kubernetes' || !info.shortname || !info.namespace || !host.endsWith(`.svc.${domainSuffix}`)) continue;
    const short = `${info.shortname}.${info.namespace}`.toLowerCase();
    const names = [short, `${short}.svc`, ...(info.namespace === namespace ? [info.shortname.toLowerCase()] : [])];
    for (const name of names) if (!out.has(name)) out.set(name, info.ips);
  }
  return out;
}
