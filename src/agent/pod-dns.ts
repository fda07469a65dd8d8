// DNS for the pod, the agent's part (Istio's DNS proxy): the pod's name table from the control plane
// (NDS), served on POD_IP:15053 over UDP and TCP, and written into the pod's hosts file -- the file
// the kubelet bind-mounts over /etc/hosts in the pod's app containers, so glibc (getent, curl, any
// client) resolves mesh names without a proxy and without root. The file is rewritten in place (same
// inode: a bind mount pins the inode, a rename would not be seen) and only when its content changes.
import { readFileSync, writeFileSync } from 'node:fs';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { lookupNames, type NameTable } from '../dns/name-table.js';
import { renderHostsFile } from '../dns/pod-files.js';
import { DNS_PROXY_PORT, startDnsServer, type RunningDnsServer } from '../dns/server.js';
import { NameTableClient } from './name-table-client.js';

export interface PodDnsOptions {
  podIp: string;
  podName: string;
  namespace: string;
  xdsAddress: string;
  /** TLS with the pod's token; plaintext when absent. */
  xdsCredentials?: ChannelCredentials;
  nodeId: string;
  clusterId: string;
  metadata: Readonly<Record<string, unknown>>;
  /** The pod's hosts file; undefined when the pod's containers do not get one (no user namespaces). */
  hostsFile?: string;
  log: (line: string) => void;
}

export interface PodDns {
  /** The first name table has arrived (and is in the hosts file). */
  hasTable(): boolean;
  stop(): Promise<void>;
}

export async function startPodDns(opts: PodDnsOptions): Promise<PodDns> {
  let names: ReadonlyMap<string, readonly string[]> = new Map();
  let received = false;
  let server: RunningDnsServer | undefined;
  try {
    server = await startDnsServer({ host: opts.podIp, port: DNS_PROXY_PORT, names: () => names, log: opts.log });
  } catch (err) {
    // The proxy still works without it: say so, do not take the pod down.
    opts.log(`warning: dns: cannot serve DNS on ${opts.podIp}:${DNS_PROXY_PORT}: ${(err as Error).message}`);
  }
  const onTable = (table: NameTable): void => {
    names = lookupNames(table, opts.namespace);
    if (opts.hostsFile) {
      try {
        writeInPlace(opts.hostsFile, renderHostsFile({ ip: opts.podIp, hostname: opts.podName }, names));
      } catch (err) {
        opts.log(`warning: dns: cannot write the pod's hosts file ${opts.hostsFile}: ${(err as Error).message}`);
      }
    }
    if (!received) opts.log(`dns: name table received: ${Object.keys(table.table).length} hosts${opts.hostsFile ? `, written to ${opts.hostsFile}` : ''}`);
    received = true;
  };
  const client = new NameTableClient({ server: opts.xdsAddress, nodeId: opts.nodeId, cluster: opts.clusterId, metadata: opts.metadata, onTable, log: opts.log, ...(opts.xdsCredentials ? { credentials: opts.xdsCredentials } : {}) });
  client.start();
  return {
    hasTable: () => received,
    async stop() {
      client.stop();
      await server?.close();
    },
  };
}

/** Rewrites `file` when its content differs, keeping its inode (open with truncation, never rename). */
function writeInPlace(file: string, content: string): void {
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (current !== content) writeFileSync(file, content);
}
