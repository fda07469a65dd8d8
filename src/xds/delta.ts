// Incremental ADS (DeltaAggregatedResources) for one stream.
//
// Per type: wildcard (LDS/CDS whose first request subscribes nothing, or anyone subscribing '*'),
// the explicitly subscribed names, and what the client has (name -> version: seeded from
// initial_resource_versions, then updated by every response we send). A response carries the
// resources whose version differs from the client's and removed_resources for names the client
// has that are gone. Subscription changes are honoured in every request; response_nonce only
// ACKs/NACKs (a stale nonce is ignored for ACK purposes).

import { TYPE_URL_ORDER, TYPE_URLS, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type TypeUrl } from './protos.js';
import { EMPTY_TYPE, versionOfEntries, type PreparedResource, type PreparedSnapshot, type PreparedType } from './snapshot.js';
import { applyNonce, type AckState, type ProxyStatus } from './status.js';
import {
  acceptTypeUrl,
  endpointsOfChangedClusters,
  errorDetailMessage,
  recordOutcome,
  recordSent,
  streamStatus,
  WILDCARD_TYPES,
  type AdsStream,
  type StreamContext,
  type StreamIdentity,
} from './stream.js';

interface DeltaTypeState extends AckState {
  wildcard: boolean;
  names: Set<string>;
  /** What the client holds, name -> version. */
  client: Map<string, string>;
  /** The node's prepared type last answered from: the same object again means nothing changed. */
  answeredFrom?: PreparedType;
  /** The subscription changed since the last answer. */
  resubscribed: boolean;
}


export interface DeltaChanges {
  updated: PreparedResource[];
  removed: string[];
}

/** What to send so that the client's view matches the subscribed part of `all` (pure). */
export function deltaChanges(
  all: PreparedType,
  wildcard: boolean,
  names: ReadonlySet<string>,
  client: ReadonlyMap<string, string>,
): DeltaChanges {
  const available = all;
  const wanted = new Set<string>(names);
  if (wildcard) for (const resource of available.values()) wanted.add(resource.name);
  const updated: PreparedResource[] = [];
  const removed: string[] = [];
  for (const name of [...wanted].sort()) {
    const resource = available.get(name);
    if (resource && client.get(name) !== resource.version) updated.push(resource);
  }
  for (const name of [...client.keys()].sort()) {
    if (!available.has(name) && (wildcard || names.has(name))) removed.push(name);
  }
  return { updated, removed };
}

export class DeltaStream implements AdsStream<DeltaDiscoveryRequest> {
  private readonly types = new Map<TypeUrl, DeltaTypeState>();
  private nonceCounter = 0;
  /** Endpoints to send again with the next EDS response: their clusters changed (endpointsOfChangedClusters). */
  private endpointsToResend = new Set<string>();

  /** The subscribed names among the endpoints to send again (and forgets them). */
  private takeEndpointsToResend(state: DeltaTypeState): string[] {
    if (this.endpointsToResend.size === 0) return [];
    const names = [...this.endpointsToResend].filter((name) => state.wildcard || state.names.has(name));
    this.endpointsToResend = new Set();
    return names;
  }

  constructor(
    private readonly identity: StreamIdentity,
    private readonly ctx: StreamContext,
    private readonly send: (response: DeltaDiscoveryResponse) => void,
  ) {}

  handle(request: DeltaDiscoveryRequest): void {
    const typeUrl = request.type_url ?? '';
    const who = `node=${this.identity.nodeId} stream=${this.identity.streamId} (delta)`;
    if (!acceptTypeUrl(this.ctx, who, typeUrl)) return;
    const subscribe = request.resource_names_subscribe ?? [];
    const unsubscribe = request.resource_names_unsubscribe ?? [];
    let state = this.types.get(typeUrl);
    if (!state) {
      state = {
        wildcard: WILDCARD_TYPES.has(typeUrl) && subscribe.length === 0,
        names: new Set(),
        client: new Map(Object.entries(request.initial_resource_versions ?? {})),
        resubscribed: true,
      };
      this.types.set(typeUrl, state);
    }
    const outcome = applyNonce(state, request.response_nonce, errorDetailMessage(request.error_detail), this.ctx.now());
    // Only ACKs a nonce; subscription changes count even in a request with a stale one.
    recordOutcome(this.ctx, who, typeUrl, outcome);
    if (subscribe.length > 0 || unsubscribe.length > 0) state.resubscribed = true;
    for (const name of subscribe) {
      if (name === '*') state.wildcard = true;
      else state.names.add(name);
    }
    for (const name of unsubscribe) {
      if (name === '*') state.wildcard = false;
      else {
        state.names.delete(name);
        state.client.delete(name);
      }
    }
    this.respond(typeUrl, state);
  }

  onSnapshot(prepared: PreparedSnapshot | undefined): void {
    if (!prepared) return;
    for (const typeUrl of TYPE_URL_ORDER) {
      const state = this.types.get(typeUrl);
      if (state) this.respond(typeUrl, state, prepared);
    }
  }

  private respond(typeUrl: TypeUrl, state: DeltaTypeState, prepared = this.ctx.source.getPrepared(this.identity.nodeId)): void {
    if (!prepared) return;
    const type = prepared.types.get(typeUrl) ?? EMPTY_TYPE;
    const resend = typeUrl === TYPE_URLS.endpoint ? this.takeEndpointsToResend(state) : [];
    if (!state.resubscribed && type === state.answeredFrom && resend.length === 0) return;
    const before = state.answeredFrom;
    state.answeredFrom = type;
    // The client holds these, but must get them again: their clusters changed.
    for (const name of resend) state.client.delete(name);
    state.resubscribed = false;
    const { updated, removed } = deltaChanges(type, state.wildcard, state.names, state.client);
    // The first answer goes out even when empty: a client waits for it (Envoy stays INITIALIZING until
    // its wildcard LDS/CDS subscriptions are answered, e.g. a gateway no Gateway resource selects yet).
    if (updated.length === 0 && removed.length === 0 && state.sentVersion !== undefined) return;
    for (const r of updated) state.client.set(r.name, r.version);
    for (const name of removed) state.client.delete(name);
    if (typeUrl === TYPE_URLS.cluster) for (const name of endpointsOfChangedClusters(before, updated)) this.endpointsToResend.add(name);
    // The version of the client's whole view of the type, for status and system_version_info.
    const version = versionOfEntries(state.client);
    const nonce = String(++this.nonceCounter);
    recordSent(this.ctx, state, version, nonce);
    this.send({
      system_version_info: version,
      resources: updated.map((r) => ({ name: r.name, version: r.version, resource: r.any })),
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
    });
  }

  status(): ProxyStatus {
    return streamStatus(this.identity, 'Delta', this.types);
  }
}
