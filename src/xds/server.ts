// The ADS gRPC server: glue between @grpc/grpc-js streams and the protocol engines (sotw.ts,
// delta.ts). It serves whatever the SnapshotSource holds and knows nothing about mesh config.

import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../clock.js';
import { rateLimitedLog } from '../logging/rate-limited.js';
import type { SnapshotSource } from './cache.js';
import { DeltaStream } from './delta.js';
import {
  adsServiceDefinition,
  SHORT_TYPE_NAMES,
  type ShortTypeName,
  type TypeUrl,
  type AdsServiceDefinition,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type XdsNode,
} from './protos.js';
import { SotwStream } from './sotw.js';
import { connectionState, nodeAnswers, structToPlain, type ConnectedProxy, type DisconnectedProxy, type NodeAnswers } from './status.js';
import type { AdsStream, StreamContext, StreamIdentity, XdsCounters, XdsObserver } from './stream.js';

export interface XdsServerOptions {
  /** Usually a SnapshotCache. */
  cache: SnapshotSource;
  /** A stream's first request named this node; a control plane builds its snapshot here (setSnapshot may be called synchronously). */
  /** `authenticated`: the stream came through `authorize` (a token-checked TLS port), not plaintext. */
  onStreamOpen?(node: XdsNode, stream: { authenticated: boolean }): void;
  onStreamClosed?(node: XdsNode): void;
  /** NACKs, unsupported types, stream errors. Defaults to stderr. */
  log?: (line: string) => void;
  /** For tests. */
  now?: () => Date;
  /** How long a sent version may go unanswered before the proxy is STALE (default STALE_AFTER_MS). */
  staleAfterMs?: number;
  /** Proxies that went away are listed this long (default 10 min), at most `max` of them (default 1000, oldest dropped). */
  disconnected?: { retentionMs: number; max: number };
  /** The clock of the repeated-line rate limit (tests). */
  logClock?: Clock;
  /** Told of every response written and every NACK (metrics). */
  observer?: XdsObserver;
  /** A stream of the node handled a request (maybe an ACK or NACK) or a new snapshot: nodeAnswers may have moved. */
  onStreamActivity?(nodeId: string): void;
}

/** gRPC libraries take at most 4 MiB per message unless told otherwise (grpc-js, gRPC C-core, gRPC Go). */
export const GRPC_DEFAULT_RECEIVE_LIMIT = 4 * 1024 * 1024;

/**
 * How large a message this client can receive: proxyless gRPC clients have gRPC's 4 MiB default; Envoy
 * and the meshwork proxy take any size (Envoy's xDS client sets no limit; ours asks for none).
 */
export function receiveLimit(node: XdsNode): number | undefined {
  const metadata = structToPlain(node.metadata);
  const proxyless = metadata['GENERATOR'] === 'grpc' || /^grpc/i.test(node.user_agent_name ?? '');
  return proxyless ? GRPC_DEFAULT_RECEIVE_LIMIT : undefined;
}

interface XdsResponse {
  type_url?: string;
  resources?: Array<{ value?: Uint8Array; type_url?: string; resource?: { value?: Uint8Array; type_url?: string }; name?: string; version?: string }>;
}

/** The encoded size of a response, near enough to compare with a limit (the resources dominate it). */
export function responseBytes(response: XdsResponse): number {
  let bytes = 64 + (response.type_url?.length ?? 0);
  for (const r of response.resources ?? []) {
    const any = r.resource ?? r;
    bytes += (any.value?.length ?? 0) + (any.type_url?.length ?? 0) + (r.name?.length ?? 0) + (r.version?.length ?? 0) + 16;
  }
  return bytes;
}

/**
 * The user agent of a pod agent's own stream, on which it asks for its name table (NDS) only. Istio's
 * agent sends NDS on the stream it proxies for Envoy; ours opens a stream of its own beside the data
 * plane's, under the same node id. It is not a proxy: proxy status, and what counts as a proxy that went
 * away, do not list it; the control plane serves it from the node's snapshot all the same.
 */
export const AGENT_USER_AGENT = 'meshwork-agent';

export function isAgentStream(node: XdsNode): boolean {
  return node.user_agent_name === AGENT_USER_AGENT;
}

/** How long after a stream's end a 'cancelled' is still taken as the reason (it follows within ~1 ms locally). */
const END_GRACE_MS = 100;

/**
 * Decides whether a stream may be served, once its first request names the node: undefined to serve
 * it, else the status that ends it (UNAUTHENTICATED, PERMISSION_DENIED). Given the call's metadata
 * (the caller's `authorization`).
 */
export type StreamAuthorizer = (node: XdsNode, metadata: grpc.Metadata) => Promise<{ code: grpc.status; details: string } | undefined>;

export interface XdsServer {
  readonly definition: AdsServiceDefinition;
  /** The handlers without authorization (plaintext xDS). */
  readonly handlers: grpc.UntypedServiceImplementation;
  /** server.addService(definition, handlers), each stream first passed by `authorize` when given. */
  addTo(server: grpc.Server, authorize?: StreamAuthorizer): void;
  /** One entry per open proxy stream (a node may have two while it reconnects); agents' streams are not proxies. */
  status(): ConnectedProxy[];
  /** Proxies whose last stream closed within the retention time, most recent first; a reconnect removes the node. */
  disconnected(): DisconnectedProxy[];
  counters(): Readonly<XdsCounters>;
  /** Where all open streams of the node (its agent's too) stand; undefined when it has none. */
  nodeAnswers(nodeId: string): NodeAnswers | undefined;
}

type AdsCall<Req, Res> = grpc.ServerDuplexStream<Req, Res>;

export function createXdsServer(opts: XdsServerOptions): XdsServer {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const counters: XdsCounters = { responses: 0, acks: 0, nacks: 0, staleNonces: 0, unknownTypes: 0, oversized: 0 };
  const logRepeated = rateLimitedLog(log, opts.logClock ? { clock: opts.logClock } : {});
  const observer = opts.observer;
  const ctx: StreamContext = { source: opts.cache, log, logRepeated, now: opts.now ?? (() => new Date()), counters, ...(observer ? { observer } : {}) };
  /** Why the last response of a stream was not sent (it exceeded the client's receive limit), and its type. */
  const sendErrors = new Map<number, { type: ShortTypeName | undefined; message: string }>();
  const open = new Map<number, { nodeId: string; engine: AdsStream<unknown>; agent: boolean }>();
  /** Open proxy streams per node id (agent streams are not counted). */
  const streamsOf = new Map<string, number>();
  /** Open streams per node id, agents' included. */
  const streamIdsOf = new Map<string, Set<number>>();
  const gone = new DisconnectedProxies(opts.disconnected ?? { retentionMs: 10 * 60_000, max: 1000 });
  let nextStreamId = 1;

  /** The engine's view of a stream with the response it holds back, if any. */
  const streamStatus = (streamId: number, engine: AdsStream<unknown>) => {
    const status = engine.status();
    const sendError = sendErrors.get(streamId);
    return sendError ? { ...status, sendError: sendError.message } : status;
  };

  function serve<Req extends { node?: XdsNode }, Res>(
    call: AdsCall<Req, Res>,
    protocol: string,
    makeEngine: (identity: StreamIdentity, send: (response: Res) => void) => AdsStream<Req>,
    authorize: StreamAuthorizer | undefined,
  ): void {
    const streamId = nextStreamId++;
    const connectedAt = ctx.now();
    let engine: AdsStream<Req> | undefined;
    let identity: StreamIdentity | undefined;
    let unsubscribe: (() => void) | undefined;
    let closed = false;
    /** When the request or snapshot now being answered began (performance.now()), for push times. */
    let causeStartedAt = 0;

    const close = (why: string): void => {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      const heldBack = sendErrors.get(streamId);
      const last = engine ? streamStatus(streamId, engine) : undefined;
      open.delete(streamId);
      sendErrors.delete(streamId);
      if (!identity) return;
      const nodeId = identity.nodeId;
      const ids = streamIdsOf.get(nodeId);
      ids?.delete(streamId);
      if (ids?.size === 0) streamIdsOf.delete(nodeId);
      // The node's other streams (a reconnect overlapping) may now be all it has answered on.
      else opts.onStreamActivity?.(nodeId);
      if (isAgentStream(identity.node)) {
        log(`xds: ${protocol} agent stream ${streamId} of node ${nodeId} closed (${why})`);
        opts.onStreamClosed?.(identity.node);
        return;
      }
      const left = (streamsOf.get(nodeId) ?? 1) - 1;
      if (left > 0) streamsOf.set(nodeId, left);
      else streamsOf.delete(nodeId);
      // A node that still has a stream (it reconnected before the old one closed) has not gone away.
      if (last && left === 0) {
        // The held-back response itself stays in the record's sendError.
        const reason = heldBack ? `${why}, after its ${heldBack.type ?? ''} response over its receive limit was held back` : why;
        gone.add({ ...last, state: 'DISCONNECTED', disconnectedAt: ctx.now(), reason }, ctx.now());
      }
      log(`xds: ${protocol} stream ${streamId} of node ${nodeId} closed (${why})`);
      opts.onStreamClosed?.(identity.node);
    };

    const fail = (code: grpc.status, details: string): void => {
      log(`xds: ${protocol} stream ${streamId}: ${details}`);
      // Closed first: the error event below would otherwise record the close without its reason.
      close(`closed by the control plane: ${details}`);
      call.emit('error', { code, details });
    };

    // Requests that arrive while the first one is being authorized wait for the decision, in order.
    let authorizing: Req[] | undefined;
    let authorized = authorize === undefined;
    call.on('data', (request: Req) => {
      if (closed) return;
      if (authorizing) {
        authorizing.push(request);
        return;
      }
      if (!authorized && request.node?.id) {
        authorizing = [request];
        authorize!(request.node, call.metadata).then(
          (denied) => {
            const queued = authorizing ?? [];
            authorizing = undefined;
            if (closed) return;
            if (denied) {
              fail(denied.code, denied.details);
              return;
            }
            authorized = true;
            for (const r of queued) handle(r);
          },
          (err: unknown) => fail(grpc.status.UNAVAILABLE, `authorizing the stream failed: ${err instanceof Error ? err.message : String(err)}`),
        );
        return;
      }
      handle(request);
    });

    function handle(request: Req): void {
      if (closed) return;
      try {
        if (!engine) {
          const node = request.node;
          if (!node?.id) {
            fail(grpc.status.INVALID_ARGUMENT, 'the first request of an ADS stream must carry node.id');
            return;
          }
          identity = { streamId, node, nodeId: node.id, connectedAt };
          const limit = receiveLimit(node);
          const created = makeEngine(identity, (response) => {
            if (closed) return;
            // Only clients with a receive limit pay for measuring (Envoy and our proxy have none).
            const bytes = limit === undefined ? 0 : responseBytes(response as XdsResponse);
            if (limit !== undefined && bytes > limit) {
              // Sending it would only make the client drop the stream and reconnect into the same wall.
              const short = SHORT_TYPE_NAMES[(response as XdsResponse).type_url as TypeUrl] as ShortTypeName | undefined;
              const type = short ?? (response as XdsResponse).type_url;
              const why = `${type} response of ${bytes} bytes not sent: over the client's receive limit of ${limit} bytes (gRPC's default); narrow its config (e.g. a Sidecar resource, fewer or smaller VirtualServices)`;
              counters.oversized++;
              sendErrors.set(streamId, { type: short, message: why });
              logRepeated(`oversized ${type}`, `xds: ${protocol} stream ${streamId} of node ${node.id}: ${why}`);
              return;
            }
            sendErrors.delete(streamId);
            call.write(response);
            const type = SHORT_TYPE_NAMES[(response as XdsResponse).type_url as TypeUrl] as ShortTypeName | undefined;
            if (observer && type) observer.responseSent(type, (performance.now() - causeStartedAt) / 1000);
          });
          engine = created;
          const agent = isAgentStream(node);
          open.set(streamId, { nodeId: node.id, engine: created, agent });
          const ids = streamIdsOf.get(node.id) ?? new Set<number>();
          streamIdsOf.set(node.id, ids.add(streamId));
          if (!agent) {
            streamsOf.set(node.id, (streamsOf.get(node.id) ?? 0) + 1);
            gone.remove(node.id);
          }
          const nodeId = node.id;
          unsubscribe = ctx.source.subscribe(nodeId, (prepared) => {
            causeStartedAt = observer?.pushStartedAt?.() ?? performance.now();
            try {
              created.onSnapshot(prepared);
              opts.onStreamActivity?.(nodeId);
            } catch (err) {
              fail(grpc.status.INTERNAL, `pushing a snapshot failed: ${String(err)}`);
            }
          });
          opts.onStreamOpen?.(node, { authenticated: authorize !== undefined });
        }
        causeStartedAt = performance.now();
        engine.handle(request);
        if (identity) opts.onStreamActivity?.(identity.nodeId);
      } catch (err) {
        fail(grpc.status.INTERNAL, `handling a request failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
    call.on('end', () => {
      // A cancelled call (or a lost connection) ends the stream too, and 'cancelled' follows a moment
      // later: wait for it before recording a clean close.
      const timer = setTimeout(() => {
        if (closed) return;
        close('closed by the proxy');
        call.end();
      }, END_GRACE_MS);
      timer.unref();
    });
    // The proxy cancelled the call, or its connection went away (a killed process, a reset).
    call.on('cancelled', () => close('cancelled by the proxy or connection lost'));
    call.on('error', (err: Error) => close(`stream error: ${err.message}`));
  }

  const handlersWith = (authorize: StreamAuthorizer | undefined): grpc.UntypedServiceImplementation => ({
    StreamAggregatedResources: (call: AdsCall<DiscoveryRequest, DiscoveryResponse>) =>
      serve(call, 'SotW', (identity, send) => new SotwStream(identity, ctx, send), authorize),
    DeltaAggregatedResources: (call: AdsCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) =>
      serve(call, 'Delta', (identity, send) => new DeltaStream(identity, ctx, send), authorize),
  });
  const handlers = handlersWith(undefined);
  const definition = adsServiceDefinition();

  return {
    definition,
    handlers,
    addTo: (server, authorize) => server.addService(definition, authorize ? handlersWith(authorize) : handlers),
    status: () => {
      const now = ctx.now();
      return [...open.entries()]
        .filter(([, s]) => !s.agent)
        .map(([streamId, s]) => connectionState(streamStatus(streamId, s.engine), sendErrors.get(streamId)?.type, now, opts.staleAfterMs))
        .sort((a, b) => a.streamId - b.streamId);
    },
    disconnected: () => gone.list(ctx.now()),
    counters: () => ({ ...counters }),
    nodeAnswers: (nodeId) => {
      const ids = streamIdsOf.get(nodeId);
      if (!ids) return undefined;
      const streams = [...ids].flatMap((id) => {
        const s = open.get(id);
        return s ? [{ status: streamStatus(id, s.engine), agent: s.agent }] : [];
      });
      return nodeAnswers(streams);
    },
  };
}

/** Proxies that went away, by node id, oldest first; bounded in time and count. */
class DisconnectedProxies {
  private readonly byNode = new Map<string, DisconnectedProxy>();

  constructor(private readonly limits: { retentionMs: number; max: number }) {}

  add(proxy: DisconnectedProxy, now: Date): void {
    this.byNode.delete(proxy.nodeId);
    this.byNode.set(proxy.nodeId, proxy);
    this.prune(now);
  }

  remove(nodeId: string): void {
    this.byNode.delete(nodeId);
  }

  list(now: Date): DisconnectedProxy[] {
    this.prune(now);
    return [...this.byNode.values()].reverse();
  }

  private prune(now: Date): void {
    for (const [nodeId, p] of this.byNode) {
      if (this.byNode.size <= this.limits.max && now.getTime() - p.disconnectedAt.getTime() <= this.limits.retentionMs) break;
      this.byNode.delete(nodeId);
    }
  }
}

export interface StartXdsServerOptions extends XdsServerOptions {
  /** A loopback address, e.g. 127.0.0.1. */
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface RunningXdsServer {
  port: number;
  xds: XdsServer;
  /** Cancels every open stream and stops listening. */
  close(): Promise<void>;
}

export async function startXdsServer(opts: StartXdsServerOptions): Promise<RunningXdsServer> {
  const xds = createXdsServer(opts);
  const listening = await listenGrpc(opts.host, opts.port, grpc.ServerCredentials.createInsecure(), (server) => xds.addTo(server));
  return { ...listening, xds };
}

/** A gRPC server on host:port (0 picks one) with the services `register` adds. */
export async function listenGrpc(
  host: string,
  port: number,
  credentials: grpc.ServerCredentials,
  register: (server: grpc.Server) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = new grpc.Server();
  register(server);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        // ADS streams never end by themselves, so a graceful shutdown would wait forever.
        server.forceShutdown();
        resolve();
      }),
  };
}
