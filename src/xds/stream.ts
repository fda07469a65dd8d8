// The contract between the gRPC glue (server.ts) and the two ADS protocol engines (sotw.ts,
// delta.ts). An engine holds one stream's subscriptions and ACK state; it never touches gRPC.

import type { SnapshotSource } from './cache.js';
import type { PreparedSnapshot } from './snapshot.js';
import { isTypeUrl, type TypeUrl, type XdsNode } from './protos.js';
import type { ProxyStatus } from './status.js';

export interface XdsCounters {
  responses: number;
  acks: number;
  nacks: number;
  staleNonces: number;
  unknownTypes: number;
}

export interface StreamContext {
  readonly source: SnapshotSource;
  readonly log: (line: string) => void;
  readonly now: () => Date;
  readonly counters: XdsCounters;
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
  ctx.log(`xds: ${who}: ignoring request for unsupported type ${JSON.stringify(typeUrl)}`);
  return false;
}
