// pods/portforward: the portforward.k8s.io protocol over SPDY/3.1, reached either through a WebSocket
// whose binary messages carry the SPDY bytes (subprotocol "SPDY/3.1+portforward.k8s.io", what kubectl
// 1.31+ tries first) or through a plain SPDY upgrade (its fallback). For every connection accepted on
// the local port the client opens two streams with headers streamType (error|data), port and
// requestID; the server dials the pod's IP at that port and copies bytes on the data stream. When the
// pod side ends, both streams are finished; a failure is written on the error stream as text, which
// kubectl prints as "an error occurred forwarding L -> P: <text>".
//
// The kubelet does this dial to localhost inside the pod's network namespace, where the app's ports and
// the sidecar's are all reachable. Local pods have no namespace: with a sidecar, the app binds its shadow
// IP (appIpFor) and the sidecar the pod IP, so the dial tries the app's address first and the pod IP on
// a refused connection, which reaches what "localhost" would. No kubelet is involved.
import { connect, type Socket } from 'node:net';
import { badRequest } from '../../k8s/status.js';
import { appIpFor } from '../addresses.js';
import { SIDECAR_CONTAINER } from '../../registry/build.js';
import type { ApiContext } from './options.js';
import type { ResourceRoute } from './routes.js';
import {
  controlFrame,
  dataFrame,
  dataFrames,
  FLAG_FIN,
  type Frame,
  FrameReader,
  FrameType,
  HeaderCompressor,
  HeaderDecompressor,
  RstStatus,
  uint32s,
} from '../../k8s/streaming/spdy.js';
import { getStoredOr404 } from './update.js';

export const PORTFORWARD_PROTOCOL = 'portforward.k8s.io';
export const PORTFORWARD_TUNNEL_PROTOCOL = `SPDY/3.1+${PORTFORWARD_PROTOCOL}`;

export interface PortForwardTarget {
  namespace: string;
  pod: string;
  podIP: string;
  /** Where to dial, in order: what "localhost" in the pod reaches. */
  addresses: string[];
}

/** Checks the pod before the upgrade, so a missing or unscheduled pod is a plain HTTP error. */
export function portForwardTarget(ctx: ApiContext, route: ResourceRoute): PortForwardTarget {
  const pod = getStoredOr404(ctx, route) as { spec?: { containers?: Array<{ name?: string }> }; status?: { podIP?: string; phase?: string } };
  const podIP = pod.status?.podIP;
  if (!podIP) throw badRequest(`pod ${route.name} has no IP yet (phase ${pod.status?.phase ?? 'Pending'}): wait until it runs`);
  const hasSidecar = (pod.spec?.containers ?? []).some((c) => c.name === SIDECAR_CONTAINER);
  return { namespace: route.namespace ?? '', pod: route.name ?? '', podIP, addresses: hasSidecar ? [appIpFor(podIP), podIP] : [podIP] };
}

/** The byte pipe SPDY runs over: a WebSocket (tunnel) or the upgraded socket itself. */
export interface SpdyTransport {
  send(bytes: Buffer): void;
  close(): void;
}

interface Forward {
  errorStream?: number;
  dataStream?: number;
  socket?: Socket;
  /** Client bytes held until the pod side connects: a refused first address must not lose them. */
  pending?: Buffer[];
  clientDone: boolean;
  finished: boolean;
}

/** One SPDY connection of port forwarding; `receive` takes the client's bytes, `closed` ends everything. */
export class PortForwardSession {
  private readonly reader = new FrameReader();
  private readonly inflate = new HeaderDecompressor();
  private readonly deflate = new HeaderCompressor();
  private readonly forwards = new Map<string, Forward>();
  /** stream id -> request id, for data frames and resets. */
  private readonly streams = new Map<number, string>();
  private queue: Promise<void> = Promise.resolve();
  private done = false;

  constructor(
    private readonly target: PortForwardTarget,
    private readonly transport: SpdyTransport,
    private readonly log: (msg: string) => void,
  ) {}

  receive(bytes: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(bytes);
    } catch (err) {
      this.fail(err);
      return;
    }
    // Header blocks decompress asynchronously; frames are handled strictly in arrival order.
    for (const frame of frames) this.queue = this.queue.then(() => this.handle(frame)).catch((err: unknown) => this.fail(err));
  }

  closed(): void {
    if (this.done) return;
    this.done = true;
    for (const f of this.forwards.values()) f.socket?.destroy();
    this.forwards.clear();
    this.inflate.close();
    this.deflate.close();
  }

  private fail(err: unknown): void {
    this.log(`portforward ${this.target.namespace}/${this.target.pod}: ${err instanceof Error ? err.message : String(err)}`);
    this.transport.close();
    this.closed();
  }

  private send(bytes: Buffer): void {
    if (!this.done) this.transport.send(bytes);
  }

  private async handle(frame: Frame): Promise<void> {
    if (this.done) return;
    if (!frame.control) return this.onData(frame.streamId, frame.flags, frame.data);
    switch (frame.type) {
      case FrameType.SYN_STREAM:
        return this.onSynStream(frame.flags, frame.data);
      case FrameType.RST_STREAM:
        return this.onReset(frame.data.readUInt32BE(0) & 0x7fffffff);
      case FrameType.PING:
        // Pings from the client carry odd ids and are echoed unchanged.
        this.send(controlFrame(FrameType.PING, 0, frame.data));
        return;
      case FrameType.GOAWAY:
        this.transport.close();
        this.closed();
        return;
      case FrameType.HEADERS:
        await this.inflate.decompress(frame.data.subarray(4)); // keeps the shared zlib context in step
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE: the client (spdystream) does no flow control either
    }
  }

  private async onSynStream(flags: number, data: Buffer): Promise<void> {
    const streamId = data.readUInt32BE(0) & 0x7fffffff;
    const headers = await this.inflate.decompress(data.subarray(10));
    this.send(controlFrame(FrameType.SYN_REPLY, 0, Buffer.concat([uint32s(streamId), await this.deflate.compress(new Map())])));
    const one = (name: string): string | undefined => headers.get(name)?.[0];
    const streamType = one('streamtype');
    const port = Number(one('port'));
    const requestId = one('requestid') ?? `port-${one('port')}`;
    if ((streamType !== 'error' && streamType !== 'data') || !Number.isInteger(port) || port < 1 || port > 65535) {
      this.log(`portforward ${this.target.namespace}/${this.target.pod}: stream ${streamId} refused: streamType=${streamType} port=${one('port')}`);
      this.send(controlFrame(FrameType.RST_STREAM, 0, uint32s(streamId, RstStatus.REFUSED_STREAM)));
      return;
    }
    this.streams.set(streamId, requestId);
    const fwd = this.forwards.get(requestId) ?? { finished: false, clientDone: false };
    this.forwards.set(requestId, fwd);
    if (streamType === 'error') {
      fwd.errorStream = streamId;
      return;
    }
    fwd.dataStream = streamId;
    fwd.clientDone = (flags & FLAG_FIN) !== 0;
    fwd.pending = [];
    this.dial(fwd, port);
  }

  private dial(fwd: Forward, port: number, attempt = 0): void {
    const streamId = fwd.dataStream as number;
    const host = this.target.addresses[attempt] ?? this.target.podIP;
    const socket = connect({ host, port });
    fwd.socket = socket;
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      for (const chunk of fwd.pending ?? []) socket.write(chunk);
      fwd.pending = undefined;
      if (fwd.clientDone) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      for (const frame of dataFrames(streamId, chunk, false)) this.send(frame);
    });
    socket.on('end', () => this.finish(fwd));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && err.code === 'ECONNREFUSED' && attempt + 1 < this.target.addresses.length) {
        socket.removeAllListeners('close');
        this.dial(fwd, port, attempt + 1);
        return;
      }
      const message = `error forwarding port ${port} to pod ${this.target.pod} (${host}): ${err.message}`;
      this.log(`portforward ${this.target.namespace}/${this.target.pod}: ${message}`);
      this.finish(fwd, message);
    });
    socket.on('close', () => this.finish(fwd));
  }

  /** Ends both streams of one forwarded connection, with the error text if there is one. */
  private finish(fwd: Forward, error?: string): void {
    if (fwd.finished) return;
    fwd.finished = true;
    if (fwd.dataStream !== undefined) this.send(dataFrame(fwd.dataStream, FLAG_FIN, Buffer.alloc(0)));
    if (fwd.errorStream !== undefined) {
      if (error) this.send(dataFrame(fwd.errorStream, 0, Buffer.from(error)));
      this.send(dataFrame(fwd.errorStream, FLAG_FIN, Buffer.alloc(0)));
    }
    fwd.socket?.destroy();
    this.forget(fwd);
  }

  private forget(fwd: Forward): void {
    for (const id of [fwd.dataStream, fwd.errorStream]) {
      const requestId = id === undefined ? undefined : this.streams.get(id);
      if (id !== undefined) this.streams.delete(id);
      if (requestId !== undefined) this.forwards.delete(requestId);
    }
  }

  private onData(streamId: number, flags: number, data: Buffer): void {
    const requestId = this.streams.get(streamId);
    const fwd = requestId === undefined ? undefined : this.forwards.get(requestId);
    if (!fwd || streamId !== fwd.dataStream) return; // the error stream carries nothing from the client
    if (flags & FLAG_FIN) fwd.clientDone = true;
    if (fwd.pending) {
      if (data.length > 0) fwd.pending.push(data);
      return;
    }
    if (data.length > 0) fwd.socket?.write(data);
    if (fwd.clientDone) fwd.socket?.end();
  }

  private onReset(streamId: number): void {
    const requestId = this.streams.get(streamId);
    if (requestId === undefined) return;
    const fwd = this.forwards.get(requestId);
    if (!fwd) return;
    // A reset stream gets no more frames: the connection to the pod goes, without FINs.
    fwd.finished = true;
    fwd.socket?.destroy();
    this.forget(fwd);
  }
}
