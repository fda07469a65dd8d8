// Loopback address plan of a local cluster (see docs/architecture.md): every cluster owns a /16 of
// 127.0.0.0/8 for its API server and pods, and the next /16 for service ClusterIPs. Linux routes all of
// 127.0.0.0/8 to loopback, so no root is needed to bind any of these.

export interface ClusterAddresses {
  subnetOctet: number;
  apiServerIp: string;
  /** First and last usable pod IP, as [third, fourth] octet pairs. */
  podRange: { first: [number, number]; last: [number, number] };
  serviceOctet: number;
}

export function clusterAddresses(subnetOctet: number): ClusterAddresses {
  if (!Number.isInteger(subnetOctet) || subnetOctet < 1 || subnetOctet > 253) {
    throw new Error(`subnet octet ${subnetOctet} is out of range: use 1-253 (127.<octet>.0.0/16 and 127.<octet+1>.0.0/16 are used)`);
  }
  return {
    subnetOctet,
    apiServerIp: `127.${subnetOctet}.0.1`,
    podRange: { first: [0, 2], last: [127, 254] },
    serviceOctet: subnetOctet + 1,
  };
}

/** The address a pod's app binds when a sidecar holds the pod IP: third octet + 128. */
export function appIpFor(podIp: string): string {
  const parts = podIp.split('.').map(Number);
  if (parts.length !== 4 || parts[2] >= 128) throw new Error(`not a pod IP of a local cluster: ${podIp}`);
  return `${parts[0]}.${parts[1]}.${parts[2] + 128}.${parts[3]}`;
}

/** Picks the lowest ClusterIP in 127.<serviceOctet>.0.0/16 not in `taken`. */
export function nextClusterIp(serviceOctet: number, taken: ReadonlySet<string>): string {
  for (let third = 0; third < 256; third++) {
    for (let fourth = third === 0 ? 1 : 0; fourth < 255; fourth++) {
      const ip = `127.${serviceOctet}.${third}.${fourth}`;
      if (!taken.has(ip)) return ip;
    }
  }
  throw new Error(`no free ClusterIP left in 127.${serviceOctet}.0.0/16`);
}
