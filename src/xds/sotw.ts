// State-of-the-world ADS (StreamAggregatedResources) for one stream.
//
// Per type: the subscribed names (LDS/CDS: empty or '*' = wildcard; explicit names honoured, as
// proxyless gRPC sends them; RDS/EDS/SDS: the names requested), the last nonce and the version
// sent. The version of a response is derived from exactly the resources it carries, so a
// response is sent only when that set changes -- a NACKed version is never resent, and a
// snapshot change that does not touch what this stream subscribed to sends nothing.

import { SHORT_TYPE_NAMES, TYPE_URL_ORDER, TYPE_URLS, type DiscoveryRequest, type DiscoveryResponse, type TypeUrl } from './protos.js';
import { versionOf, type PreparedResource, type PreparedSnapshot } from './snapshot.js';
import { applyNonce, nodeCluster, structToPlain, typeStatus, type AckState, type ProxyStatus } from './status.js';
import { acceptTypeUrl, errorDetailMessage, type AdsStream, type StreamContext, type StreamIdentity } from './stream.js';

const WILDCARD_TYPES: ReadonlySet<TypeUrl> = new Set([TYPE_URLS.listener, TYPE_URLS.cluster]);

interface SotwTypeState extends AckState {
  wildcard: boolean;
  names: Set<string>;
}

/** The resources of one type that a subscription selects, in name order. */
export function selectResources(all: ReadonlyMap<string, PreparedResource> | undefined, wildcard: boolean, names: ReadonlySet<string>): PreparedResource[] {
  if (!all) return [];
  const picked = wildcard ? [...all.values()] : [...names].flatMap((n) => (all.has(n) ? [all.get(n) as PreparedResource] : []));
  return picked.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export class SotwStream implements AdsStream<DiscoveryRequest> {
  private readonly types = new Map<TypeUrl, SotwTypeState>();
  private nonceCounter = 0;

  constructor(
    private readonly identity: StreamIdentity,
    private readonly ctx: StreamContext,
    private readonly send: (response: DiscoveryResponse) => void,
  ) {}

  handle(request: DiscoveryRequest): void {
    const typeUrl = request.type_url ?? '';
    const who = `node=${this.identity.nodeId} stream=${this.identity.streamId}`;
    if (!acceptTypeUrl(this.ctx, who, typeUrl)) return;
    const short = SHORT_TYPE_NAMES[typeUrl];
    let state = this.types.get(typeUrl);
    const isNew = state === undefined;
    if (!state) {
      state = { wildcard: false, names: new Set() };
      this.types.set(typeUrl, state);
    }
    const outcome = applyNonce(state, request.response_nonce, errorDetailMessage(request.error_detail), this.ctx.now());
    switch (outcome.kind) {
      case 'stale':
        // A response crossed this request; the client will answer the newer one.
        this.ctx.counters.staleNonces++;
        return;
      case 'nack':
        this.ctx.counters.nacks++;
        this.ctx.log(`xds: NACK ${who} type=${short} version=${outcome.version ?? '-'}: ${outcome.message}`);
        break;
      case 'ack':
        this.ctx.counters.acks++;
        break;
      case 'initial':
        break;
    }
    const names = request.resource_names ?? [];
    state.wildcard = WILDCARD_TYPES.has(typeUrl) && (names.length === 0 || names.includes('*'));
    state.names = new Set(names.filter((n) => n !== '*'));
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
    const resources = selectResources(prepared.types.get(typeUrl), state.wildcard, state.names);
    const version = versionOf(resources);
    if (!force && version === state.sentVersion) return;
    const nonce = String(++this.nonceCounter);
    state.lastNonce = nonce;
    state.sentVersion = version;
    this.ctx.counters.responses++;
    this.send({ version_info: version, resources: resources.map((r) => r.any), type_url: typeUrl, nonce });
  }

  status(): ProxyStatus {
    const metadata = structToPlain(this.identity.node.metadata);
    const types: ProxyStatus['types'] = {};
    for (const [typeUrl, state] of this.types) types[SHORT_TYPE_NAMES[typeUrl]] = typeStatus(state);
    return {
      streamId: this.identity.streamId,
      protocol: 'SotW',
      nodeId: this.identity.nodeId,
      cluster: nodeCluster(this.identity.node, metadata),
      metadata,
      connectedAt: this.identity.connectedAt,
      types,
    };
  }
}
