// The proxy's xDS client: one ADS stream (state of the world) to the control plane.
//
// It subscribes to LDS and CDS as wildcards, then to RDS and EDS by the names the accepted listeners
// and clusters refer to, and to SDS by the secret names their TLS contexts fetch over ADS.
// Each response is decoded at this edge (resource-types.ts); valid resources are applied to the
// ConfigStore, invalid ones keep their last accepted value, and the response is ACKed (all valid) or NACKed with an error_detail naming each bad resource and field. When the stream
// breaks, the store keeps serving and the client reconnects with back-off on the injected clock,
// re-sending its subscriptions with the last accepted versions.

import * as grpc from '@grpc/grpc-js';
import { MESHWORK_VERSION } from '../../image.js';
import { adsServiceDefinition, unpackAny, type DiscoveryRequest, type DiscoveryResponse, type XdsNode } from '../../xds/protos.js';
import type { Clock, TimerHandle } from '../../clock.js';
import type { ConfigStore, Entry, ResourceKind, ResourceValues } from '../config/store.js';
import { isObj } from '../decode/fields.js';
import { errorText, type Logger } from '../log.js';
import { plainToStruct } from '../../xds/struct.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, RESOURCE_TYPES, ROUTE_TYPE, SECRET_TYPE, type ResourceType } from './resource-types.js';

/** google.rpc.Code INVALID_ARGUMENT, what Envoy puts in a NACK's error_detail. */
const INVALID_ARGUMENT = 3;

export interface XdsClientOptions {
  /** host:port of the ADS server. */
  server: string;
  /** TLS to the control plane with the pod's token (the agent's); plaintext when absent. */
  credentials?: grpc.ChannelCredentials;
  nodeId: string;
  cluster: string;
  /** node.metadata: strings, and JSON objects such as PROXY_CONFIG (sent as Structs). */
  metadata: Readonly<Record<string, unknown>>;
  store: ConfigStore;
  clock: Clock;
  log: Logger;
  backoff?: BackoffOptions;
  random?: () => number;
}

export interface TypeState {
  /** Names subscribed; undefined: wildcard. */
  names: string[] | undefined;
  /** Last accepted version_info. */
  version: string;
  /** Nonce of the last response received (ACKed or NACKed). */
  nonce: string;
  /** Error of the last NACK, cleared by the next ACK. */
  lastError: string | undefined;
  accepted: number;
  rejected: number;
}

export type XdsEvent =
  | { kind: 'connected' }
  | { kind: 'disconnected'; reason: string; retryInMs: number }
  | { kind: 'ack'; typeUrl: string; version: string }
  | { kind: 'nack'; typeUrl: string; version: string; errors: string[] };

export class XdsClient {
  private readonly grpcClient: grpc.Client;
  private stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private readonly states = new Map<string, TypeState>();
  private readonly backoff: Backoff;
  private reconnectTimer: TimerHandle | undefined;
  private stopped = false;
  private connectedNow = false;
  private readonly listeners = new Set<(e: XdsEvent) => void>();

  constructor(private readonly opts: XdsClientOptions) {
    this.grpcClient = new grpc.Client(opts.server, opts.credentials ?? grpc.credentials.createInsecure(), {
      // Fail fast on a dead server so back-off (on our clock) decides when to try again.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      // As Envoy's xDS client: no receive limit (gRPC's 4 MiB default cut off large route tables, and the
      // proxy reconnected in a loop keeping stale config). The control plane sizes what it sends.
      'grpc.max_receive_message_length': -1,
    });
    this.backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF, opts.random);
    for (const t of RESOURCE_TYPES) {
      this.states.set(t.typeUrl, { names: t.wildcard ? undefined : [], version: '', nonce: '', lastError: undefined, accepted: 0, rejected: 0 });
    }
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  /** Per type URL: subscription, versions and ACK/NACK counts (for /config_dump and tests). */
  status(): ReadonlyMap<string, Readonly<TypeState>> {
    return this.states;
  }

  onEvent(fn: (e: XdsEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.reconnectTimer?.cancel();
    this.stream?.cancel();
    this.stream = undefined;
    this.grpcClient.close();
  }

  private emit(e: XdsEvent): void {
    for (const fn of [...this.listeners]) fn(e);
  }

  private node(): XdsNode {
    return {
      id: this.opts.nodeId,
      cluster: this.opts.cluster,
      metadata: plainToStruct(this.opts.metadata),
      user_agent_name: 'meshwork-proxy',
      user_agent_version: MESHWORK_VERSION,
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
      this.connectedNow = false;
      if (this.stopped) return;
      const delay = this.backoff.next();
      this.opts.log('warn', `xds stream to ${this.opts.server} ended (${reason}); keeping the last config, reconnecting in ${Math.round(delay)} ms`);
      this.emit({ kind: 'disconnected', reason, retryInMs: delay });
      this.reconnectTimer = this.opts.clock.setTimer(() => this.connect(), delay);
    };
    stream.on('data', (res: DiscoveryResponse) => {
      if (!this.connectedNow) {
        this.connectedNow = true;
        this.emit({ kind: 'connected' });
      }
      this.backoff.reset();
      try {
        this.handleResponse(res);
      } catch (e) {
        // A bug in applying config must not kill the stream silently: log it and NACK.
        this.opts.log('error', `xds: applying ${res.type_url} version ${res.version_info} failed: ${errorText(e, true)}`);
        this.nack(res, [`internal error: ${errorText(e)}`]);
      }
    });
    stream.on('error', (e: grpc.ServiceError) => onEnd(`${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    stream.on('end', () => onEnd('server closed the stream'));
    stream.on('close', () => onEnd('stream closed'));
    // On every (re)connect: nonces are per stream, versions carry over so the server can skip resends.
    for (const t of RESOURCE_TYPES) {
      const s = this.state(t.typeUrl);
      s.nonce = '';
      if (t.wildcard || (s.names && s.names.length > 0)) this.send(t.typeUrl);
    }
  }

  private state(typeUrl: string): TypeState {
    const s = this.states.get(typeUrl);
    if (!s) throw new Error(`xds: no state for type ${typeUrl}`);
    return s;
  }

  private send(typeUrl: string, errorDetail?: string): void {
    const s = this.state(typeUrl);
    const req: DiscoveryRequest = {
      version_info: s.version,
      node: this.node(),
      resource_names: s.names ?? [],
      type_url: typeUrl,
      response_nonce: s.nonce,
    };
    if (errorDetail !== undefined) req.error_detail = { code: INVALID_ARGUMENT, message: errorDetail };
    this.stream?.write(req);
  }

  private nack(res: DiscoveryResponse, errors: string[]): void {
    const s = this.states.get(res.type_url);
    if (!s) return;
    s.nonce = res.nonce;
    s.lastError = errors.join('; ');
    s.rejected++;
    this.opts.log('warn', `xds: NACK ${res.type_url} version ${res.version_info}: ${s.lastError}`);
    this.send(res.type_url, s.lastError);
    this.emit({ kind: 'nack', typeUrl: res.type_url, version: res.version_info, errors });
  }

  private handleResponse(res: DiscoveryResponse): void {
    const type = RESOURCE_TYPES.find((t) => t.typeUrl === res.type_url);
    if (!type) {
      this.opts.log('warn', `xds: ignoring a response of unsubscribed type ${res.type_url}`);
      return;
    }
    const errors = this.applyResponse(type, res);
    if (errors.length > 0) {
      this.nack(res, errors);
    } else {
      const s = this.state(res.type_url);
      s.nonce = res.nonce;
      s.lastError = undefined;
      s.accepted++;
      this.send(res.type_url);
      this.emit({ kind: 'ack', typeUrl: res.type_url, version: res.version_info });
    }
    // New listeners/clusters may refer to other route configs/EDS names: follow them.
    if (type === LISTENER_TYPE) this.resubscribe(ROUTE_TYPE.typeUrl, this.opts.store.referencedRouteNames());
    if (type === CLUSTER_TYPE) this.resubscribe(ENDPOINT_TYPE.typeUrl, this.opts.store.referencedEndpointNames());
    // TLS contexts of either may name secrets served over ADS.
    if (type === LISTENER_TYPE || type === CLUSTER_TYPE) this.resubscribe(SECRET_TYPE.typeUrl, this.opts.store.referencedSecretNames());
  }

  private resubscribe(typeUrl: string, names: string[]): void {
    const s = this.state(typeUrl);
    if (s.names && s.names.length === names.length && s.names.every((n, i) => n === names[i])) return;
    const dropped = (s.names ?? []).filter((n) => !names.includes(n));
    s.names = names;
    this.send(typeUrl);
    if (dropped.length > 0) {
      const kind = RESOURCE_TYPES.find((t) => t.typeUrl === typeUrl)!.kind;
      this.opts.store.apply(kind, this.opts.store.versions[kind], new Map(), dropped);
    }
  }

  /** Decodes and applies a response; returns the errors for the NACK ([] to ACK). */
  private applyResponse<K extends ResourceKind>(type: ResourceType<K>, res: DiscoveryResponse): string[] {
    const errors: string[] = [];
    const decoded = new Map<string, Entry<ResourceValues[K]>>();
    const seen = new Set<string>();
    const now = new Date();
    for (const [i, any] of res.resources.entries()) {
      if (any.type_url !== type.typeUrl) {
        errors.push(`resources[${i}]: type ${any.type_url} in a ${type.short} response`);
        continue;
      }
      let message: Record<string, unknown>;
      try {
        message = unpackAny(any).message;
      } catch (e) {
        errors.push(`resources[${i}]: cannot decode ${type.messageName}: ${errorText(e)}`);
        continue;
      }
      const name = type.nameOf(message);
      if (seen.has(name)) {
        errors.push(`${type.messageName} '${name}': appears twice in the response`);
        continue;
      }
      seen.add(name);
      const result = type.decode(message);
      if (!result.ok) {
        for (const e of result.error) errors.push(`${type.messageName} '${name}': ${e}`);
        continue;
      }
      const raw: Record<string, unknown> = isObj(message) ? { '@type': type.typeUrl, ...message } : {};
      decoded.set(name, { value: result.value, raw, version: res.version_info, lastUpdated: now });
    }
    // A resource that failed to unpack has no known name: apply nothing rather than guess deletions.
    if (errors.some((e) => e.startsWith('resources['))) return errors;
    const store = this.opts.store;
    const current = store.get(type.kind);
    // Wildcard SotW: what is absent was deleted (except names that failed to decode: keep the last good).
    const removals = type.wildcard ? [...current.keys()].filter((n) => !seen.has(n)) : [];
    const version = errors.length > 0 ? store.versions[type.kind] : res.version_info;
    store.apply(type.kind, version, decoded, removals);
    if (errors.length === 0) this.state(type.typeUrl).version = res.version_info;
    return errors;
  }
}
