// The contract between the gRPC glue (server.ts) and the two ADS protocol engines (sotw.ts,
// delta.ts). An engine holds one stream's subscriptions and ACK state; it never touches gRPC.

import type { SnapshotSource } from './cache.js';
import type { PreparedResource, PreparedSnapshot, PreparedType } from './snapshot.js';
import { isTypeUrl, SHORT_TYPE_NAMES, TYPE_URLS, type ShortTypeName, type TypeUrl, type XdsNode } from './protos.js';
import { nodeCluster, nodeUserAgent, structToPlain, typeStatus, type AckState, type NonceOutcome, type ProxyStatus } from './status.js';

/** Types a client may subscribe to as a wildcard; in SotW their every response is the full set. */
export const WILDCARD_TYPES: ReadonlySet<TypeUrl> = new Set([TYPE_URLS.listener, TYPE_URLS.cluster, TYPE_URLS.nameTable, TYPE_URLS.workloadTable]);

export interface XdsCounters {
  responses: number;
  acks: number;
  nacks: number;
  staleNonces: number;
  unknownTypes: number;
  /** Responses held back because they exceeded the client's receive limit. */
  oversized: number;
}

/** What the xDS server tells whoever keeps metrics about it (the control plane's pilot_* metrics). */
export interface XdsObserver {
  /** A response of `type` was written to a stream, `seconds` after the push or request that caused it began. */
  responseSent(type: ShortTypeName, seconds: number): void;
  /** A client refused (NACKed) a response of `type`. */
  rejected(type: ShortTypeName): void;
  /**
   * When (performance.now()) the push now being delivered began, i.e. when the control plane started
   * translating the node's snapshot; undefined outside such a push. Push times then include translation.
   */
  pushStartedAt?(): number | undefined;
}

export interface StreamContext {
  readonly source: SnapshotSource;
  readonly log: (line: string) => void;
  /** Lines a misbehaving client can repeat without end (NACKs, unknown types): rate-limited per key. */
  readonly logRepeated: (key: string, line: string) => void;
  readonly now: () => Date;
  readonly counters: XdsCounters;
  readonly observer?: XdsObserver;
}

export interface StreamIdentity {
  readonly streamId: number;
  readonly node: XdsNode;
  readonly nodeId: string;
  readonly connectedAt: Date;
}

/**
 * One ADS stream's protocol state.
 * - handle: one request from the client (the first one included); may send responses.
 * - onSnapshot: the node's snapshot changed (undefined: cleared); sends what changed for the
 *   subscribed types, nothing for a cleared snapshot (the client keeps what it has).
 * - status: a read-only view for proxy-status.
 * Both run synchronously and send through the `send` callback given at construction.
 */
export interface AdsStream<Req> {
  handle(request: Req): void;
  onSnapshot(prepared: PreparedSnapshot | undefined): void;
  status(): ProxyStatus;
}

export function errorDetailMessage(detail: { code?: number; message?: string } | undefined): string | undefined {
  if (!detail) return undefined;
  return detail.message && detail.message !== '' ? detail.message : `(error_detail without message, code ${detail.code ?? 0})`;
}

/** Both engines ignore (and count) requests for types the server does not serve. */
export function acceptTypeUrl(ctx: StreamContext, who: string, typeUrl: string): typeUrl is TypeUrl {
  if (isTypeUrl(typeUrl)) return true;
  ctx.counters.unknownTypes++;
  ctx.logRepeated(`unsupported type ${who}`, `xds: ${who}: ignoring request for unsupported type ${JSON.stringify(typeUrl)}`);
  return false;
}

/** Counts what a request's nonce meant, and logs a NACK with the client's message. */
export function recordOutcome(ctx: StreamContext, who: string, typeUrl: TypeUrl, outcome: NonceOutcome): void {
  switch (outcome.kind) {
    case 'stale':
      ctx.counters.staleNonces++;
      break;
    case 'nack':
      ctx.counters.nacks++;
      ctx.observer?.rejected(SHORT_TYPE_NAMES[typeUrl]);
      ctx.logRepeated(`NACK ${SHORT_TYPE_NAMES[typeUrl]}`, `xds: NACK ${who} type=${SHORT_TYPE_NAMES[typeUrl]} version=${outcome.version ?? '-'}: ${outcome.message}`);
      break;
    case 'ack':
      ctx.counters.acks++;
      break;
    case 'initial':
      break;
  }
}

/** Books a response about to be sent: its nonce becomes the one an ACK must carry. */
export function recordSent(ctx: StreamContext, state: AckState, version: string, nonce: string): void {
  state.lastNonce = nonce;
  state.sentVersion = version;
  state.sentAt = ctx.now();
  ctx.counters.responses++;
}

/** The proxy-status view of one stream. */
export function streamStatus(identity: StreamIdentity, protocol: ProxyStatus['protocol'], types: ReadonlyMap<TypeUrl, AckState>): ProxyStatus {
  const metadata = structToPlain(identity.node.metadata);
  const byType: ProxyStatus['types'] = {};
  for (const [typeUrl, state] of types) byType[SHORT_TYPE_NAMES[typeUrl]] = typeStatus(state);
  return {
    streamId: identity.streamId,
    protocol,
    nodeId: identity.nodeId,
    cluster: nodeCluster(identity.node, metadata),
    metadata,
    connectedAt: identity.connectedAt,
    userAgent: nodeUserAgent(identity.node),
    types: byType,
  };
}

/**
 * The EDS names of the clusters in `sent` that changed since `before`. Envoy replaces a
 * changed cluster and waits for its ClusterLoadAssignment again (up to its 15 s initial fetch timeout),
 * so a server that sends only changed endpoints must send these again after the CDS response, as
 * Istio does: a DestinationRule change would otherwise stall the cluster with unchanged endpoints.
 */
export function endpointsOfChangedClusters(before: PreparedType | undefined, sent: readonly PreparedResource[]): string[] {
  const names: string[] = [];
  for (const cluster of sent) {
    // A cluster new to the client subscribes its endpoints afresh; only a replaced one needs them again.
    const previous = before?.get(cluster.name);
    if (!previous || previous.version === cluster.version) continue;
    const eds = (cluster.resource as { eds_cluster_config?: { service_name?: string } }).eds_cluster_config;
    if (eds) names.push(eds.service_name || cluster.name);
  }
  return names;
}
