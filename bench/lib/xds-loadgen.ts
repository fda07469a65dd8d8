// Simulated Envoy sidecars for the xDS scale benchmark: N ADS streams (SotW, or delta as Envoy's
// DELTA_GRPC), each on its own HTTP/2 connection (as separate Envoys would be), subscribing LDS/CDS
// wildcard, then RDS/EDS by the names the listeners and EDS clusters reference, and ACKing every
// response. Every response is reported
// with when it arrived and when its ACK was written, so the control-plane side can measure.
import * as grpc from '@grpc/grpc-js';
import { sidecarNode } from './xds-mesh.js';
import {
  adsServiceDefinition, SHORT_TYPE_NAMES, TYPE_URLS, unpackAny,
  type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse, type PackedAny, type TypeUrl, type XdsNode,
} from '../../src/xds/protos.js';

export interface LoadgenConfig {
  host: string;
  port: number;
  /** How many sidecars; proxy i is sidecarNode(i) (bench/lib/xds-mesh.ts). */
  proxies: number;
  /** Streams opened per tick while connecting (spreads the connection storm a little, as rollouts do). */
  openBatch: number;
  /** The mesh's namespace layout (bench/lib/xds-mesh.ts MeshSpec.namespaces): where proxy i lives. */
  namespaces?: number;
  /** Incremental xDS (DeltaAggregatedResources) instead of state of the world. */
  delta?: boolean;
}

/** One response a stream received and ACKed. Times are epoch milliseconds with sub-ms precision. */
export interface StreamEvent {
  stream: number;
  type: string;
  version: string;
  resources: number;
  /** Sum of the encoded resources (Any.value) in the response. */
  bytes: number;
  recvAt: number;
  ackAt: number;
}

export type LoadgenMessage =
  | { t: 'opened'; streams: number }
  | { t: 'events'; events: StreamEvent[] }
  | { t: 'stream-error'; stream: number; message: string };

type AdsClient = grpc.Client & {
  StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
};

function isAdsClient(client: grpc.Client): client is AdsClient {
  return 'StreamAggregatedResources' in client;
}

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Every string under a key `key`, anywhere in a decoded message (route_config_name sits deep in the HCM). */
function collectStrings(value: unknown, key: string, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) collectStrings(v, key, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === key && typeof v === 'string' && v !== '') out.add(v);
      else collectStrings(v, key, out);
    }
  }
}

/**
 * Names of the dependent resources a response references (RDS names from LDS, EDS names from CDS).
 * Identical versions carry identical resources, so each (type, version) is decoded once for all streams.
 */
const referencedCache = new Map<string, string[]>();
function referencedNames(response: DiscoveryResponse): string[] {
  const key = `${response.type_url}|${response.version_info}`;
  const cached = referencedCache.get(key);
  if (cached) return cached;
  const names = new Set<string>();
  for (const any of response.resources) {
    const { message } = unpackAny(any);
    if (response.type_url === TYPE_URLS.listener) collectStrings(message, 'route_config_name', names);
    else if (message['type'] === 'EDS') {
      const eds = message['eds_cluster_config'];
      const serviceName = eds && typeof eds === 'object' && 'service_name' in eds && typeof eds.service_name === 'string' ? eds.service_name : '';
      names.add(serviceName || String(message['name']));
    }
  }
  const sorted = [...names].sort();
  referencedCache.set(key, sorted);
  return sorted;
}

/** The dependent names one resource references (route names of a listener, the EDS name of a cluster), decoded once per name and version. */
function referencedByResource(typeUrl: string, name: string, version: string, any: PackedAny): string[] {
  return referencedNames({ type_url: typeUrl, version_info: `${name}|${version}`, resources: [any], nonce: '' });
}

interface TypeState {
  names: string[];
  version: string;
  nonce: string;
}

function adsClient(cfg: LoadgenConfig): AdsClient {
  const Ctor = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
  // A local subchannel pool gives every sidecar its own TCP connection, as separate Envoys have.
  const client = new Ctor(`${cfg.host}:${cfg.port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': -1,
    // Envoy's HTTP/2 windows default to 256 MiB (initial_stream/connection_window_size); Node's 64 KiB
    // would make every large RouteConfiguration wait for several WINDOW_UPDATE round trips.
    'grpc-node.flow_control_window': 256 * 2 ** 20,
  });
  if (!isAdsClient(client)) throw new Error('generic ADS client lacks StreamAggregatedResources');
  return client;
}

/** One sidecar's delta ADS stream: wildcard LDS/CDS, RDS/EDS subscribed by name as references come and go. */
class DeltaSimulatedSidecar {
  private readonly client: AdsClient;
  private call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> | undefined;
  /** Per LDS/CDS resource held: the dependent names it references. */
  private readonly references = new Map<string, Map<string, string[]>>();
  private readonly subscribed = new Map<string, Set<string>>();

  constructor(
    private readonly index: number,
    cfg: LoadgenConfig,
    private readonly node: XdsNode,
    private readonly report: (e: StreamEvent) => void,
    private readonly onError: (message: string) => void,
  ) {
    this.client = adsClient(cfg);
  }

  open(): void {
    const call = this.client.DeltaAggregatedResources();
    this.call = call;
    call.on('data', (r: DeltaDiscoveryResponse) => this.onResponse(r));
    call.on('error', (err: Error) => this.onError(`stream ${this.index}: ${err.message}`));
    this.write({ node: this.node, type_url: TYPE_URLS.cluster, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {} });
    this.write({ type_url: TYPE_URLS.listener, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {} });
  }

  close(): void {
    this.call?.end();
    this.call?.cancel();
    this.client.close();
  }

  private write(req: DeltaDiscoveryRequest): void {
    this.call?.write(req);
  }

  private onResponse(r: DeltaDiscoveryResponse): void {
    const recvAt = nowMs();
    const typeUrl = r.type_url;
    this.write({ type_url: typeUrl, response_nonce: r.nonce, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {} });
    const ackAt = nowMs();
    let bytes = 0;
    for (const res of r.resources) bytes += res.resource?.value.length ?? 0;
    this.report({ stream: this.index, type: SHORT_TYPE_NAMES[typeUrl as TypeUrl] ?? typeUrl, version: r.system_version_info, resources: r.resources.length, bytes, recvAt, ackAt });
    const dependent = typeUrl === TYPE_URLS.listener ? TYPE_URLS.route : typeUrl === TYPE_URLS.cluster ? TYPE_URLS.endpoint : undefined;
    if (!dependent) return;
    let held = this.references.get(typeUrl);
    if (!held) this.references.set(typeUrl, (held = new Map()));
    for (const res of r.resources) if (res.resource) held.set(res.name, referencedByResource(typeUrl, res.name, res.version, res.resource));
    for (const name of r.removed_resources) held.delete(name);
    const wanted = new Set([...held.values()].flat());
    const had = this.subscribed.get(dependent) ?? new Set<string>();
    const subscribe = [...wanted].filter((n) => !had.has(n)).sort();
    const unsubscribe = [...had].filter((n) => !wanted.has(n)).sort();
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    this.subscribed.set(dependent, wanted);
    this.write({ type_url: dependent, resource_names_subscribe: subscribe, resource_names_unsubscribe: unsubscribe, initial_resource_versions: {} });
  }
}

/** One sidecar's ADS stream. */
class SimulatedSidecar {
  private readonly client: AdsClient;
  private call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private readonly state = new Map<string, TypeState>();

  constructor(
    private readonly index: number,
    cfg: LoadgenConfig,
    private readonly node: XdsNode,
    private readonly report: (e: StreamEvent) => void,
    private readonly onError: (message: string) => void,
  ) {
    this.client = adsClient(cfg);
  }

  open(): void {
    const call = this.client.StreamAggregatedResources();
    this.call = call;
    call.on('data', (r: DiscoveryResponse) => this.onResponse(r));
    call.on('error', (err: Error) => this.onError(`stream ${this.index}: ${err.message}`));
    // Envoy sends the node on the first request only; CDS before LDS as Envoy does.
    this.write({ node: this.node, type_url: TYPE_URLS.cluster, resource_names: [] });
    this.write({ type_url: TYPE_URLS.listener, resource_names: [] });
  }

  close(): void {
    this.call?.end();
    this.call?.cancel();
    this.client.close();
  }

  private write(req: DiscoveryRequest): void {
    this.call?.write(req);
  }

  private onResponse(r: DiscoveryResponse): void {
    const recvAt = nowMs();
    const typeUrl = r.type_url;
    const prev = this.state.get(typeUrl);
    const names = prev?.names ?? [];
    this.state.set(typeUrl, { names, version: r.version_info, nonce: r.nonce });
    this.write({ version_info: r.version_info, resource_names: names, type_url: typeUrl, response_nonce: r.nonce });
    const ackAt = nowMs();
    let bytes = 0;
    for (const any of r.resources) bytes += any.value.length;
    this.report({ stream: this.index, type: SHORT_TYPE_NAMES[typeUrl as TypeUrl] ?? typeUrl, version: r.version_info, resources: r.resources.length, bytes, recvAt, ackAt });
    // Follow the references: a changed set of RDS/EDS names is a new request for the dependent type.
    const dependent = typeUrl === TYPE_URLS.listener ? TYPE_URLS.route : typeUrl === TYPE_URLS.cluster ? TYPE_URLS.endpoint : undefined;
    if (!dependent) return;
    const wanted = referencedNames(r);
    const dep = this.state.get(dependent);
    if (dep && dep.names.join('\n') === wanted.join('\n')) return;
    if (!dep && wanted.length === 0) return;
    this.state.set(dependent, { names: wanted, version: dep?.version ?? '', nonce: dep?.nonce ?? '' });
    this.write({ version_info: dep?.version ?? '', resource_names: wanted, type_url: dependent, response_nonce: dep?.nonce ?? '' });
  }
}

export interface Loadgen {
  stop(): void;
}

/** Opens every stream (openBatch per macrotask), reporting events through `send` in batches every 20 ms. */
export async function runLoadgen(cfg: LoadgenConfig, send: (m: LoadgenMessage) => void): Promise<Loadgen> {
  let pending: StreamEvent[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    send({ t: 'events', events: pending });
    pending = [];
  };
  const timer = setInterval(flush, 20);
  const sidecars: Array<SimulatedSidecar | DeltaSimulatedSidecar> = [];
  for (let i = 0; i < cfg.proxies; i++) {
    const n = sidecarNode(i, cfg.namespaces);
    const node: XdsNode = {
      id: n.id,
      cluster: `sleep.${n.namespace}`,
      metadata: { fields: { CLUSTER_ID: { string_value: n.cluster }, NAMESPACE: { string_value: n.namespace }, LABELS: { struct_value: { fields: { app: { string_value: 'sleep' } } } } } },
    };
    const Sidecar = cfg.delta ? DeltaSimulatedSidecar : SimulatedSidecar;
    const s = new Sidecar(i, cfg, node, (e) => pending.push(e), (message) => send({ t: 'stream-error', stream: i, message }));
    sidecars.push(s);
    s.open();
    if ((i + 1) % cfg.openBatch === 0) await new Promise((r) => setImmediate(r));
  }
  send({ t: 'opened', streams: sidecars.length });
  return {
    stop() {
      flush();
      clearInterval(timer);
      for (const s of sidecars) s.close();
    },
  };
}
