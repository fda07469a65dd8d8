// The agent's own ADS stream (state of the world), as Istio's pilot-agent has one for what the agent
// itself needs: the pod's name table (NDS, its DNS proxy) and the mesh's workload table (WDS, its Istio
// metrics), each a single table subscribed by type. Same node id and metadata as the pod's data plane,
// user agent `meshwork-agent`: the control plane serves it from the node's snapshot and does not list
// it as a proxy. Each table is ACKed, a malformed one NACKed (the last good one kept); a broken stream
// reconnects with back-off and subscribes again.
import * as grpc from '@grpc/grpc-js';
import { MESHWORK_VERSION } from '../image.js';
import { Backoff, DEFAULT_BACKOFF } from '../proxy/xds/backoff.js';
import { adsServiceDefinition, SHORT_TYPE_NAMES, unpackAny, type DiscoveryRequest, type DiscoveryResponse, type TypeUrl } from '../xds/protos.js';
import { AGENT_USER_AGENT } from '../xds/server.js';
import { plainToStruct } from '../xds/struct.js';

/** google.rpc.Code INVALID_ARGUMENT, what a NACK's error_detail carries. */
const INVALID_ARGUMENT = 3;

export interface AgentXdsClientOptions {
  /** host:port of the ADS server. */
  server: string;
  /** TLS with the pod's token, as the data plane's; plaintext when absent. */
  credentials?: grpc.ChannelCredentials;
  nodeId: string;
  cluster: string;
  /** The node metadata the data plane sends: the control plane derives the node's identity from it. */
  metadata: Readonly<Record<string, unknown>>;
  log: (line: string) => void;
}

/** Takes the one decoded resource of a response (undefined: the response had none); throws to NACK it. */
export type TableHandler = (message: Record<string, unknown> | undefined) => void;

export class AgentXdsClient {
  private readonly grpcClient: grpc.Client;
  private stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private readonly backoff = new Backoff({ ...DEFAULT_BACKOFF, maxMs: 5000 });
  private reconnectTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private readonly handlers = new Map<TypeUrl, TableHandler>();
  private readonly versions = new Map<TypeUrl, string>();

  constructor(private readonly opts: AgentXdsClientOptions) {
    this.grpcClient = new grpc.Client(opts.server, opts.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      'grpc.max_receive_message_length': -1,
    });
  }

  /** Subscribes to the single table of `typeUrl` (before or after start). */
  subscribe(typeUrl: TypeUrl, handler: TableHandler): void {
    this.handlers.set(typeUrl, handler);
    if (this.stream) this.stream.write(this.request(typeUrl, ''));
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.stream?.cancel();
    this.grpcClient.close();
  }

  private request(typeUrl: TypeUrl, nonce: string, errorDetail?: string): DiscoveryRequest {
    return {
      version_info: this.versions.get(typeUrl) ?? '',
      node: {
        id: this.opts.nodeId,
        cluster: this.opts.cluster,
        metadata: plainToStruct(this.opts.metadata),
        user_agent_name: AGENT_USER_AGENT,
        user_agent_version: MESHWORK_VERSION,
      },
      resource_names: [],
      type_url: typeUrl,
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
      this.opts.log(`agent xds: stream to ${this.opts.server} ended (${reason}); keeping the last tables, reconnecting in ${Math.round(delay)} ms`);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    };
    stream.on('data', (res: DiscoveryResponse) => {
      this.backoff.reset();
      const typeUrl = res.type_url as TypeUrl;
      const handler = this.handlers.get(typeUrl);
      if (!handler) return;
      const short = SHORT_TYPE_NAMES[typeUrl] ?? typeUrl;
      try {
        const resources = res.resources ?? [];
        if (resources.length > 1) throw new Error(`${resources.length} ${short} resources in one response; expected one table`);
        handler(resources.length === 0 ? undefined : unpackAny(resources[0]!).message);
      } catch (err) {
        const message = (err as Error).message;
        this.opts.log(`agent xds: NACK ${short} version ${res.version_info}: ${message}`);
        stream.write(this.request(typeUrl, res.nonce, message));
        return;
      }
      this.versions.set(typeUrl, res.version_info);
      stream.write(this.request(typeUrl, res.nonce));
    });
    stream.on('error', (e: grpc.ServiceError) => onEnd(`${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    stream.on('end', () => onEnd('server closed the stream'));
    stream.on('close', () => onEnd('stream closed'));
    for (const typeUrl of this.handlers.keys()) stream.write(this.request(typeUrl, ''));
  }
}
