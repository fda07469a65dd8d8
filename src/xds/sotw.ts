// State-of-the-world ADS (StreamAggregatedResources) for one stream.
//
// Per type: the subscribed names (LDS/CDS: empty or '*' = wildcard; explicit names honoured, as
// proxyless gRPC sends them; RDS/EDS/SDS: the names requested), the last nonce and the version
// sent. LDS and CDS responses carry the whole subscribed set, and only when its version changes, so a
// NACKed version is never resent. RDS and EDS responses carry only the resources whose bytes changed
// since they were last sent (the xDS spec allows it for these types; Envoy, grpc-js-xds and Istio work
// this way), so one changed endpoint is one ClusterLoadAssignment on the wire, not all of them.
// A type whose prepared content is the very object last answered from is skipped in O(1).

import { TYPE_URL_ORDER, TYPE_URLS, type DiscoveryRequest, type DiscoveryResponse, type TypeUrl } from './protos.js';
import { EMPTY_TYPE, versionOf, type PreparedGroup, type PreparedResource, type PreparedSnapshot, type PreparedType } from './snapshot.js';
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

interface SotwTypeState extends AckState {
  wildcard: boolean;
  /** Shared between streams (internNames): never mutated. */
  names: ReadonlySet<string>;
  /**
   * The node's prepared type last answered from, and the names subscribed then: the client holds
   * those resources as they are in it. The same object again (same names) means nothing changed.
   */
  answeredFrom?: PreparedType;
  answeredNames: ReadonlySet<string>;
  /** The subscription changed since the last answer. */
  resubscribed: boolean;
}

/** The named resources present in `type`, in subscription order. */
export function pickResources(type: PreparedType, names: Iterable<string>): PreparedResource[] {
  const picked: PreparedResource[] = [];
  for (const name of names) {
    const resource = type.get(name);
    if (resource) picked.push(resource);
  }
  return picked;
}

const groupDiffs = new WeakMap<PreparedGroup, WeakMap<PreparedGroup, string[]>>();

/** Names in `next` that are new or have another version than in `previous` (memoised per pair). */
function groupDiff(previous: PreparedGroup, next: PreparedGroup): string[] {
  let byNext = groupDiffs.get(previous);
  if (!byNext) {
    byNext = new WeakMap();
    groupDiffs.set(previous, byNext);
  }
  let names = byNext.get(next);
  if (!names) {
    names = [];
    for (const [name, resource] of next.resources) if (previous.resources.get(name)?.version !== resource.version) names.push(name);
    byNext.set(next, names);
  }
  return names;
}

/** What differs between two prepared types of a node, group by group; undefined when their groups do not line up. */
function changedNames(previous: PreparedType, next: PreparedType): string[] | undefined {
  if (previous.groups.length !== next.groups.length) return undefined;
  return next.groups.flatMap((group, i) => (group === previous.groups[i] ? [] : groupDiff(previous.groups[i], group)));
}

function sameNames(requested: readonly string[], current: ReadonlySet<string>): boolean {
  return requested.length === current.size && requested.every((name) => current.has(name));
}

/**
 * One Set per distinct subscription, shared by every stream that has it: a thousand sidecars each
 * subscribing the same two thousand EDS names would otherwise hold two million entries (and strings).
 */
const subscriptions = new Map<string, WeakRef<ReadonlySet<string>>>();
const forgetSubscription = new FinalizationRegistry<string>((key) => {
  if (subscriptions.get(key)?.deref() === undefined) subscriptions.delete(key);
});

export function internNames(requested: readonly string[]): ReadonlySet<string> {
  const sorted = [...new Set(requested)].sort();
  const key = sorted.join('\n');
  const known = subscriptions.get(key)?.deref();
  if (known) return known;
  const names: ReadonlySet<string> = new Set(sorted);
  subscriptions.set(key, new WeakRef(names));
  forgetSubscription.register(names, key);
  return names;
}

export class SotwStream implements AdsStream<DiscoveryRequest> {
  private readonly types = new Map<TypeUrl, SotwTypeState>();
  private nonceCounter = 0;
  /** Endpoints to send again with the next EDS response: their clusters changed (endpointsOfChangedClusters). */
  private endpointsToResend = new Set<string>();

  constructor(
    private readonly identity: StreamIdentity,
    private readonly ctx: StreamContext,
    private readonly send: (response: DiscoveryResponse) => void,
  ) {}

  handle(request: DiscoveryRequest): void {
    const typeUrl = request.type_url ?? '';
    const who = `node=${this.identity.nodeId} stream=${this.identity.streamId}`;
    if (!acceptTypeUrl(this.ctx, who, typeUrl)) return;
    let state = this.types.get(typeUrl);
    const isNew = state === undefined;
    if (!state) {
      state = { wildcard: false, names: new Set(), answeredNames: new Set(), resubscribed: true };
      this.types.set(typeUrl, state);
    }
    const outcome = applyNonce(state, request.response_nonce, errorDetailMessage(request.error_detail), this.ctx.now());
    recordOutcome(this.ctx, who, typeUrl, outcome);
    // A response crossed this request; the client will answer the newer one.
    if (outcome.kind === 'stale') return;
    const names = request.resource_names ?? [];
    const wildcard = WILDCARD_TYPES.has(typeUrl) && (names.length === 0 || names.includes('*'));
    const requested = names.filter((n) => n !== '*');
    if (wildcard !== state.wildcard || !sameNames(requested, state.names)) {
      state.resubscribed = true;
      state.wildcard = wildcard;
      state.names = internNames(requested);
    }
    // A request without a nonce (re)starts the type: answer it even if the content is the same.
    this.respond(typeUrl, state, outcome.kind === 'initial' && !isNew);
  }

  onSnapshot(prepared: PreparedSnapshot | undefined): void {
    if (!prepared) return;
    for (const typeUrl of TYPE_URL_ORDER) {
      const state = this.types.get(typeUrl);
      if (state) this.respond(typeUrl, state, false, prepared);
    }
  }

  private respond(typeUrl: TypeUrl, state: SotwTypeState, force: boolean, prepared = this.ctx.source.getPrepared(this.identity.nodeId)): void {
    // No snapshot yet: the request waits; onSnapshot answers it.
    if (!prepared) return;
    const type = prepared.types.get(typeUrl) ?? EMPTY_TYPE;
    const resend = typeUrl === TYPE_URLS.endpoint ? this.takeEndpointsToResend(state) : [];
    if (!force && !state.resubscribed && type === state.answeredFrom && resend.length === 0) return;
    const before = { type: state.answeredFrom, names: state.answeredNames };
    state.answeredFrom = type;
    state.answeredNames = state.names;
    state.resubscribed = false;
    if (WILDCARD_TYPES.has(typeUrl)) {
      const resources = state.wildcard ? [...type.values()] : pickResources(type, state.names);
      const version = state.wildcard ? type.version : versionOf(resources);
      if (!force && version === state.sentVersion) return;
      if (typeUrl === TYPE_URLS.cluster) for (const name of endpointsOfChangedClusters(before.type, resources)) this.endpointsToResend.add(name);
      this.write(typeUrl, state, version, resources);
      return;
    }
    const changed = this.changedForClient(type, before, state.names, force);
    for (const resource of pickResources(type, resend)) if (!changed.includes(resource)) changed.push(resource);
    // The first answer goes out even when empty: the client learns that nothing it asked for exists yet.
    if (changed.length === 0 && !force && state.sentVersion !== undefined) return;
    // The node's whole type: opaque to clients, and the same for every subscription of it.
    this.write(typeUrl, state, type.version, changed);
  }

  /** The subscribed names among the endpoints to send again (and forgets them). */
  private takeEndpointsToResend(state: SotwTypeState): string[] {
    if (this.endpointsToResend.size === 0) return [];
    const names = [...this.endpointsToResend].filter((name) => state.names.has(name));
    this.endpointsToResend = new Set();
    return names;
  }

  /** RDS/EDS: the subscribed resources of `type` that the client does not hold as they are. */
  private changedForClient(type: PreparedType, before: { type: PreparedType | undefined; names: ReadonlySet<string> }, names: ReadonlySet<string>, force: boolean): PreparedResource[] {
    if (force || !before.type) return pickResources(type, names);
    // Same subscription: only what differs between the two types can be new to the client, and that
    // difference is computed once per pair of groups for all the streams that share them.
    const differing = before.names === names ? changedNames(before.type, type) : undefined;
    if (differing) return pickResources(type, differing.filter((name) => names.has(name)));
    const previous = before.type;
    return pickResources(type, names).filter((r) => !(before.names.has(r.name) && previous.get(r.name)?.version === r.version));
  }

  private write(typeUrl: TypeUrl, state: SotwTypeState, version: string, resources: PreparedResource[]): void {
    const nonce = String(++this.nonceCounter);
    recordSent(this.ctx, state, version, nonce);
    this.send({ version_info: version, resources: resources.map((r) => r.any), type_url: typeUrl, nonce });
  }

  status(): ProxyStatus {
    return streamStatus(this.identity, 'SotW', this.types);
  }
}
