// Sync status of proxies, as `istioctl proxy-status` shows it, and the per-type ACK bookkeeping both
// ADS stream kinds share. A connected proxy is CONNECTED, or STALE when it has not taken the latest
// version of a type for a while (or refused it, or was never sent it); a proxy that went away is
// DISCONNECTED, remembered for a while with when and why.

import type { ShortTypeName, XdsNode } from './protos.js';

export type SyncState = 'SYNCED' | 'NOT SENT' | 'STALE';

export interface TypeStatus {
  sentVersion?: string;
  /** When sentVersion was sent. */
  sentAt?: Date;
  ackedVersion?: string;
  /** The last NACK, until a later response is ACKed. */
  nack?: { version?: string; message: string; at: Date };
  /** SYNCED: last sent version ACKed; NOT SENT: nothing sent yet; STALE: sent but not ACKed yet, or NACKed. */
  state: SyncState;
}

export interface ProxyStatus {
  /** Distinguishes several streams of one node (reconnects overlap). */
  streamId: number;
  protocol: 'SotW' | 'Delta';
  nodeId: string;
  /** node.cluster, or metadata CLUSTER_ID when node.cluster is empty (Istio proxies). */
  cluster: string;
  /** node.metadata as plain JSON values. */
  metadata: Record<string, unknown>;
  connectedAt: Date;
  /** The proxy's kind and version, from its node's user agent (nodeUserAgent). */
  userAgent: string;
  /** Why the last response was not sent (e.g. over the client's receive limit); the type stays STALE. */
  sendError?: string;
  /** Keyed by short type name: LDS RDS CDS EDS SDS. */
  types: Partial<Record<ShortTypeName, TypeStatus>>;
}

/** A type whose latest version the proxy does not have. */
export interface StaleType {
  type: ShortTypeName;
  /** The version it has (ACKed last); none when it never ACKed one. */
  has?: string;
  /** The version it should have. */
  latest: string;
  /** not-acked: sent, no answer; nacked: refused; not-sent: held back (over its receive limit). */
  why: 'not-acked' | 'nacked' | 'not-sent';
  since: Date;
}

/** A connected proxy: its stream's status and whether it is up to date. */
export type ConnectedProxy = ProxyStatus & { state: 'CONNECTED' | 'STALE'; stale?: StaleType[] };

/** A proxy whose last stream closed: its status at that moment, when, and why. */
export type DisconnectedProxy = ProxyStatus & { state: 'DISCONNECTED'; disconnectedAt: Date; reason: string };

/**
 * How long a sent version may go unanswered before the proxy counts as STALE: Envoy and our proxy
 * answer within milliseconds; a push to a thousand proxies reaches the last within a second or two.
 */
export const STALE_AFTER_MS = 5_000;

/**
 * Whether a connected proxy is up to date (pure). A NACK or a held-back response is STALE at once (the
 * proxy will not get there by itself); a version sent and not answered, after `staleAfterMs`.
 */
export function connectionState(status: ProxyStatus, heldBack: ShortTypeName | undefined, now: Date, staleAfterMs = STALE_AFTER_MS): ConnectedProxy {
  const stale: StaleType[] = [];
  for (const [type, t] of Object.entries(status.types) as Array<[ShortTypeName, TypeStatus]>) {
    if (t.sentVersion === undefined || t.sentAt === undefined) continue;
    const has = t.ackedVersion !== undefined ? { has: t.ackedVersion } : {};
    if (t.nack) stale.push({ type, ...has, latest: t.sentVersion, why: 'nacked', since: t.nack.at });
    else if (heldBack === type && t.ackedVersion !== t.sentVersion) stale.push({ type, ...has, latest: t.sentVersion, why: 'not-sent', since: t.sentAt });
    else if (t.ackedVersion !== t.sentVersion && now.getTime() - t.sentAt.getTime() >= staleAfterMs) stale.push({ type, ...has, latest: t.sentVersion, why: 'not-acked', since: t.sentAt });
  }
  return stale.length > 0 ? { ...status, state: 'STALE', stale } : { ...status, state: 'CONNECTED' };
}

/** Where all the streams of one node stand: what config propagation tracking reads. */
export interface NodeAnswers {
  /** Every type sent on every stream has been answered (ACK or NACK), and a proxy stream (not only an agent's) asked for something. */
  settled: boolean;
  /** The latest refusal still standing (a NACK no ACK of that type followed), or a response held back (sendError). */
  refusal?: { message: string; at: Date };
  /** When the latest response was sent. */
  lastSentAt?: Date;
}

/**
 * Pure over the streams' status. A type is answered when its last sent version was ACKed or NACKed;
 * a type asked for and not yet sent leaves the node unsettled (its first config is on its way).
 */
export function nodeAnswers(streams: ReadonlyArray<{ status: ProxyStatus; agent: boolean }>): NodeAnswers {
  let settled = streams.some((s) => !s.agent);
  let refusal: NodeAnswers['refusal'];
  let lastSentAt: Date | undefined;
  for (const { status } of streams) {
    const types = Object.entries(status.types) as Array<[ShortTypeName, TypeStatus]>;
    if (types.length === 0) settled = false;
    for (const [type, t] of types) {
      if (t.sentAt && (!lastSentAt || t.sentAt > lastSentAt)) lastSentAt = t.sentAt;
      if (t.sentVersion === undefined) {
        settled = false;
        continue;
      }
      if (t.nack && t.nack.version === t.sentVersion) {
        if (!refusal || t.nack.at > refusal.at) refusal = { message: `${type}: ${t.nack.message}`, at: t.nack.at };
      } else if (t.ackedVersion !== t.sentVersion) {
        settled = false;
      }
    }
    if (status.sendError && (!refusal || (lastSentAt && lastSentAt > refusal.at))) refusal = { message: status.sendError, at: lastSentAt ?? status.connectedAt };
  }
  return { settled, ...(refusal ? { refusal } : {}), ...(lastSentAt ? { lastSentAt } : {}) };
}

/** Mutable ACK bookkeeping of one type on one stream. */
export interface AckState {
  lastNonce?: string;
  sentVersion?: string;
  sentAt?: Date;
  ackedVersion?: string;
  nack?: { version?: string; message: string; at: Date };
}

export function typeStatus(ack: AckState): TypeStatus {
  const state: SyncState =
    ack.sentVersion === undefined ? 'NOT SENT' : ack.nack === undefined && ack.ackedVersion === ack.sentVersion ? 'SYNCED' : 'STALE';
  return {
    ...(ack.sentVersion !== undefined ? { sentVersion: ack.sentVersion } : {}),
    ...(ack.sentAt !== undefined ? { sentAt: ack.sentAt } : {}),
    ...(ack.ackedVersion !== undefined ? { ackedVersion: ack.ackedVersion } : {}),
    ...(ack.nack ? { nack: { ...ack.nack } } : {}),
    state,
  };
}

export type NonceOutcome = { kind: 'initial' } | { kind: 'stale'; nonce: string } | { kind: 'ack'; version?: string } | { kind: 'nack'; version?: string; message: string };

/**
 * Applies a request's response_nonce / error_detail to the type's bookkeeping (pure over `ack`).
 * A nonce other than the last one sent is stale: nothing changes.
 */
export function applyNonce(ack: AckState, nonce: string | undefined, errorMessage: string | undefined, at: Date): NonceOutcome {
  if (!nonce) return { kind: 'initial' };
  if (nonce !== ack.lastNonce) return { kind: 'stale', nonce };
  if (errorMessage !== undefined) {
    ack.nack = { ...(ack.sentVersion !== undefined ? { version: ack.sentVersion } : {}), message: errorMessage, at };
    return { kind: 'nack', ...(ack.sentVersion !== undefined ? { version: ack.sentVersion } : {}), message: errorMessage };
  }
  ack.ackedVersion = ack.sentVersion;
  delete ack.nack;
  return { kind: 'ack', ...(ack.sentVersion !== undefined ? { version: ack.sentVersion } : {}) };
}

/** google.protobuf.Value in proto form -> plain JSON value. */
function valueToPlain(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  if ('string_value' in v) return v['string_value'];
  if ('number_value' in v) return v['number_value'];
  if ('bool_value' in v) return v['bool_value'];
  if ('null_value' in v) return null;
  if ('struct_value' in v) return structToPlain(v['struct_value']);
  if ('list_value' in v) {
    const list = v['list_value'] as { values?: unknown[] } | undefined;
    return (list?.values ?? []).map(valueToPlain);
  }
  return null;
}

/** google.protobuf.Struct in proto form ({fields: {k: Value}}) -> plain JSON object. */
export function structToPlain(struct: unknown): Record<string, unknown> {
  const fields = (struct as { fields?: Record<string, unknown> } | undefined)?.fields ?? {};
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, valueToPlain(v)]));
}

/**
 * What the proxy says it is: "envoy 1.40.0" (Envoy sends user_agent_build_version), "meshwork-proxy
 * 0.1.0", "grpc-node-js 1.14.1" (user_agent_version); "-" when the node says nothing.
 */
export function nodeUserAgent(node: XdsNode): string {
  const name = node.user_agent_name ?? '';
  const build = node['user_agent_build_version'] as { version?: { major_number?: number; minor_number?: number; patch?: number } } | undefined;
  const v = build?.version;
  const version = node.user_agent_version || (v ? `${v.major_number ?? 0}.${v.minor_number ?? 0}.${v.patch ?? 0}` : '');
  return [name, version].filter(Boolean).join(' ') || '-';
}

export function nodeCluster(node: XdsNode, metadata: Record<string, unknown>): string {
  if (node.cluster) return node.cluster;
  const id = metadata['CLUSTER_ID'];
  return typeof id === 'string' ? id : '';
}
