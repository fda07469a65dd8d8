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
  type TypeUrl,
  type AdsServiceDefinition,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type XdsNode,
} from './protos.js';
import { SotwStream } from './sotw.js';
import { structToPlain, type ProxyStatus } from './status.js';
import type { AdsStream, StreamContext, StreamIdentity, XdsCounters } from './stream.js';

export interface XdsServerOptions {
  /** Usually a SnapshotCache. */
  cache: SnapshotSource;
  /** A stream's first request named this node; a control plane builds its snapshot here (setSnapshot may be called synchronously). */
  onStreamOpen?(node: XdsNode): void;
  onStreamClosed?(node: XdsNode): void;
  /** NACKs, unsupported types, stream errors. Defaults to stderr. */
  log?: (line: string) => void;
  /** For tests. */
  now?: () => Date;
  /** The clock of the repeated-line rate limit (tests). */
  logClock?: Clock;
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

export interface XdsServer {
  readonly definition: AdsServiceDefinition;
  readonly handlers: grpc.UntypedServiceImplementation;
  /** server.addService(definition, handlers). */
  addTo(server: grpc.Server): void;
  /** One entry per open stream (a node may have two while it reconnects). */
  status(): ProxyStatus[];
  counters(): Readonly<XdsCounters>;
}

type AdsCall<Req, Res> = grpc.ServerDuplexStream<Req, Res>;

export function createXdsServer(opts: XdsServerOptions): XdsServer {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const counters: XdsCounters = { responses: 0, acks: 0, nacks: 0, staleNonces: 0, unknownTypes: 0, oversized: 0 };
  const logRepeated = rateLimitedLog(log, opts.logClock ? { clock: opts.logClock } : {});
  const ctx: StreamContext = { source: opts.cache, log, logRepeated, now: opts.now ?? (() => new Date()), counters };
  /** Why the last response of a stream was not sent (it exceeded the client's receive limit). */
  const sendErrors = new Map<number, string>();
  const open = new Map<number, AdsStream<unknown>>();
  let nextStreamId = 1;

  function serve<Req extends { node?: XdsNode }, Res>(
    call: AdsCall<Req, Res>,
    protocol: string,
    makeEngine: (identity: StreamIdentity, send: (response: Res) => void) => AdsStream<Req>,
  ): void {
    const streamId = nextStreamId++;
    const connectedAt = ctx.now();
    let engine: AdsStream<Req> | undefined;
    let identity: StreamIdentity | undefined;
    let unsubscribe: (() => void) | undefined;
    let closed = false;

    const close = (why: string): void => {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      open.delete(streamId);
      sendErrors.delete(streamId);
      if (identity) {
        log(`xds: ${protocol} stream ${streamId} of node ${identity.nodeId} closed (${why})`);
        opts.onStreamClosed?.(identity.node);
      }
    };

    const fail = (code: grpc.status, details: string): void => {
      log(`xds: ${protocol} stream ${streamId}: ${details}`);
      call.emit('error', { code, details });
      close(details);
    };

    call.on('data', (request: Req) => {
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
              const type = SHORT_TYPE_NAMES[(response as XdsResponse).type_url as TypeUrl] ?? (response as XdsResponse).type_url;
              const why = `${type} response of ${bytes} bytes not sent: over the client's receive limit of ${limit} bytes (gRPC's default); narrow its config (e.g. a Sidecar resource, fewer or smaller VirtualServices)`;
              counters.oversized++;
              sendErrors.set(streamId, why);
              logRepeated(`oversized ${type}`, `xds: ${protocol} stream ${streamId} of node ${node.id}: ${why}`);
              return;
            }
            sendErrors.delete(streamId);
            call.write(response);
          });
          engine = created;
          open.set(streamId, created);
          unsubscribe = ctx.source.subscribe(node.id, (prepared) => {
            try {
              created.onSnapshot(prepared);
            } catch (err) {
              fail(grpc.status.INTERNAL, `pushing a snapshot failed: ${String(err)}`);
            }
          });
          opts.onStreamOpen?.(node);
        }
        engine.handle(request);
      } catch (err) {
        fail(grpc.status.INTERNAL, `handling a request failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    });
    call.on('end', () => {
      close('client closed');
      call.end();
    });
    call.on('cancelled', () => close('cancelled'));
    call.on('error', (err: Error) => close(`error: ${err.message}`));
  }

  const handlers: grpc.UntypedServiceImplementation = {
    StreamAggregatedResources: (call: AdsCall<DiscoveryRequest, DiscoveryResponse>) =>
      serve(call, 'SotW', (identity, send) => new SotwStream(identity, ctx, send)),
    DeltaAggregatedResources: (call: AdsCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) =>
      serve(call, 'Delta', (identity, send) => new DeltaStream(identity, ctx, send)),
  };
  const definition = adsServiceDefinition();

  return {
    definition,
    handlers,
    addTo: (server) => server.addService(definition, handlers),
    status: () =>
      [...open.values()]
        .map((s) => {
          const status = s.status();
          const sendError = sendErrors.get(status.streamId);
          return sendError ? { ...status, sendError } : status;
        })
        .sort((a, b) => a.streamId - b.streamId),
    counters: () => ({ ...counters }),
  };
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
  const server = new grpc.Server();
  xds.addTo(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    port,
    xds,
    close: () =>
      new Promise<void>((resolve) => {
        // ADS streams never end by themselves, so a graceful shutdown would wait forever.
        server.forceShutdown();
        resolve();
      }),
  };
}
