// DNS for the pod, the agent's part (Istio's DNS proxy): the pod's name table from the control plane
// (NDS), served on POD_IP:15053 over UDP and TCP, and written into the pod's hosts file -- the file
// the kubelet bind-mounts over /etc/hosts in the pod's app containers, so glibc (getent, curl, any
// client) resolves mesh names without a proxy and without root. The file is rewritten in place (same
// inode: a bind mount pins the inode, a rename would not be seen) and only when its content changes.
import { readFileSync, writeFileSync } from 'node:fs';
import { lookupNames, type NameInfo, type NameTable } from '../dns/name-table.js';
import { renderHostsFile } from '../dns/pod-files.js';
import { DNS_PROXY_PORT, startDnsServer, type RunningDnsServer } from '../dns/server.js';
import { TYPE_URLS } from '../xds/protos.js';
import type { AgentXdsClient } from './agent-xds-client.js';

export interface PodDnsOptions {
  podIp: string;
  podName: string;
  namespace: string;
  /** The agent's own ADS stream, on which the name table (NDS) arrives. */
  tables: AgentXdsClient;
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
  opts.tables.subscribe(TYPE_URLS.nameTable, (message) => onTable(message ? toNameTable(message) : { table: {} }));
  return {
    hasTable: () => received,
    async stop() {
      await server?.close();
    },
  };
}

/** The NameTable of a decoded NDS response; throws naming what is wrong. */
export function toNameTable(message: Record<string, unknown>): NameTable {
  const raw = message['table'];
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) throw new Error('NameTable.table is not a map');
  const table: Record<string, NameInfo> = {};
  for (const [host, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const info = value as Partial<Record<keyof NameInfo, unknown>>;
    if (!Array.isArray(info.ips) || !info.ips.every((ip) => typeof ip === 'string')) throw new Error(`NameTable entry ${host}: ips is not a list of strings`);
    table[host] = {
      ips: info.ips as string[],
      registry: typeof info.registry === 'string' ? info.registry : '',
      ...(typeof info.shortname === 'string' && info.shortname ? { shortname: info.shortname } : {}),
      ...(typeof info.namespace === 'string' && info.namespace ? { namespace: info.namespace } : {}),
    };
  }
  return { table };
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
