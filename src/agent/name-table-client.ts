// The agent's own ADS stream (state of the world) on which it asks the control plane for its pod's
// name table (NDS), as Istio's pilot-agent does for its DNS proxy. Same node id and metadata as the
// pod's data plane, user agent `meshwork-agent`: the control plane serves it from the node's snapshot
// and does not list it as a proxy. Each table is ACKed, a malformed one NACKed (the last good one kept);
// a broken stream reconnects with back-off.
import * as grpc from '@grpc/grpc-js';
import { MESHWORK_VERSION } from '../install/image.js';
import type { NameInfo, NameTable } from '../dns/name-table.js';
import { Backoff, DEFAULT_BACKOFF } from '../proxy/xds/backoff.js';
import { adsServiceDefinition, TYPE_URLS, unpackAny, type DiscoveryRequest, type DiscoveryResponse } from '../xds/protos.js';
import { AGENT_USER_AGENT } from '../xds/server.js';
import { plainToStruct } from '../xds/struct.js';

/** google.rpc.Code INVALID_ARGUMENT, what a NACK's error_detail carries. */
const INVALID_ARGUMENT = 3;

export interface NameTableClientOptions {
  /** host:port of the ADS server. */
  server: string;
  /** TLS with the pod's token, as the data plane's; plaintext when absent. */
  credentials?: grpc.ChannelCredentials;
  nodeId: string;
  cluster: string;
  /** The node metadata the data plane sends: the control plane derives the node's identity from it. */
  metadata: Readonly<Record<string, unknown>>;
  onTable: (table: NameTable) => void;
  log: (line: string) => void;
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

export class NameTableClient {
  private readonly grpcClient: grpc.Client;
  private stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private readonly backoff = new Backoff({ ...DEFAULT_BACKOFF, maxMs: 5000 });
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private version = '';

  constructor(private readonly opts: NameTableClientOptions) {
    this.grpcClient = new grpc.Client(opts.server, opts.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      'grpc.max_receive_message_length': -1,
    });
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.stream?.cancel();
    this.grpcClient.close();
  }

  private request(nonce: string, errorDetail?: string): DiscoveryRequest {
    return {
      version_info: this.version,
      node: {
        id: this.opts.nodeId,
        cluster: this.opts.cluster,
        metadata: plainToStruct(this.opts.metadata),
        user_agent_name: AGENT_USER_AGENT,
        user_agent_version: MESHWORK_VERSION,
      },
      resource_names: [],
      type_url: TYPE_URLS.nameTable,
      response_nonce: nonce,
      ...(errorDetail !== undefined ? { error_detail: { code: INVALID_ARGUMENT, message: errorDetail } } : {}),
    };
  }

  private connect(): void {
    if (this.stopped) return;
    const def = adsServiceDefinition().StreamAggregatedResources;
    const stream = this.grpcClient.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize);
    this.stream = stream;
    let ended = false;
    const onEnd = (reason: string): void => {
      if (ended) return;
      ended = true;
      if (this.stream === stream) this.stream = undefined;
      if (this.stopped) return;
      const delay = this.backoff.next();
      this.opts.log(`dns: name table stream to ${this.opts.server} ended (${reason}); keeping the last table, reconnecting in ${Math.round(delay)} ms`);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    };
    stream.on('data', (res: DiscoveryResponse) => {
      this.backoff.reset();
      if (res.type_url !== TYPE_URLS.nameTable) return;
      let table: NameTable;
      try {
        const resources = res.resources ?? [];
        if (resources.length > 1) throw new Error(`${resources.length} NameTable resources in one response; expected one`);
        table = resources.length === 0 ? { table: {} } : toNameTable(unpackAny(resources[0]).message);
      } catch (err) {
        const message = (err as Error).message;
        this.opts.log(`dns: NACK name table version ${res.version_info}: ${message}`);
        stream.write(this.request(res.nonce, message));
        return;
      }
      this.version = res.version_info;
      stream.write(this.request(res.nonce));
      this.opts.onTable(table);
    });
    stream.on('error', (e: grpc.ServiceError) => onEnd(`${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    stream.on('end', () => onEnd('server closed the stream'));
    stream.on('close', () => onEnd('stream closed'));
    stream.write(this.request(''));
  }
}
