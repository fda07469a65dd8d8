// The server's end of a SPDY/3.1 connection as kube-apiserver opens it to a kubelet for exec and
// port-forward (k8s.io/apimachinery's httpstream/spdy over github.com/moby/spdystream): the peer opens
// streams, each gets a SYN_REPLY, then the handlers see them; pings are echoed, GOAWAY ends the socket.
// Framing and header blocks are k8s/streaming/spdy.ts; this adds only the streams over the socket given.
import type { Socket } from 'node:net';
import {
  controlFrame,
  dataFrames,
  FLAG_FIN,
  type Frame,
  FrameReader,
  FrameType,
  HeaderCompressor,
  HeaderDecompressor,
  type Headers,
  uint32s,
} from '../k8s/streaming/spdy.js';

export interface SpdyStream {
  id: number;
  headers: Headers;
}

export interface SpdyConnectionHandlers {
  /** A stream the peer opened (after its SYN_REPLY was sent). */
  onStream(stream: SpdyStream): void;
  onData(streamId: number, data: Buffer, fin: boolean): void;
  onReset(streamId: number): void;
  onClose(): void;
  onError(err: Error): void;
}

/** The server's end of a SPDY connection on an upgraded socket: the peer opens streams, we reply and write. */
export class SpdyServerConnection {
  private readonly reader = new FrameReader();
  private readonly inflate = new HeaderDecompressor();
  private readonly deflate = new HeaderCompressor();
  private work: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly handlers: SpdyConnectionHandlers,
  ) {
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.reader.push(chunk);
      } catch (err) {
        // Bytes that are not SPDY/3 frames: nothing after them can be read either.
        this.handlers.onError(err as Error);
        this.socket.destroy();
        return;
      }
      for (const frame of frames) this.work = this.work.then(() => this.handle(frame)).catch((err: Error) => this.handlers.onError(err));
    });
    socket.on('close', () => this.finish());
    socket.on('error', (err) => this.handlers.onError(err));
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.inflate.close();
    this.deflate.close();
    this.handlers.onClose();
  }

  private async handle(frame: Frame): Promise<void> {
    if (!frame.control) {
      this.handlers.onData(frame.streamId, frame.data, (frame.flags & FLAG_FIN) !== 0);
      return;
    }
    const p = frame.data;
    switch (frame.type) {
      case FrameType.SYN_STREAM: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = await this.inflate.decompress(p.subarray(10));
        await this.reply(id);
        this.handlers.onStream({ id, headers });
        if (frame.flags & FLAG_FIN) this.handlers.onData(id, Buffer.alloc(0), true);
        return;
      }
      case FrameType.HEADERS:
        await this.inflate.decompress(p.subarray(4)); // keeps the zlib context in step; nothing in them matters here
        return;
      case FrameType.PING:
        this.write([controlFrame(FrameType.PING, 0, p)]);
        return;
      case FrameType.RST_STREAM:
        this.handlers.onReset(p.readUInt32BE(0) & 0x7fffffff);
        return;
      case FrameType.GOAWAY:
        this.socket.end();
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE, SYN_REPLY: nothing to do for the streams a kubelet serves
    }
  }

  private async reply(streamId: number): Promise<void> {
    const block = await this.deflate.compress(new Map());
    this.write([controlFrame(FrameType.SYN_REPLY, 0, Buffer.concat([uint32s(streamId & 0x7fffffff), block]))]);
  }

  write(frames: Buffer[]): void {
    if (this.closed || this.socket.destroyed) return;
    for (const f of frames) this.socket.write(f);
  }

  send(streamId: number, data: Buffer, fin = false): void {
    this.write(dataFrames(streamId, data, fin));
  }

  /** GOAWAY, then the socket closes once written. */
  close(): void {
    if (this.closed || this.socket.destroyed) return;
    this.write([controlFrame(FrameType.GOAWAY, 0, uint32s(0, 0))]);
    this.socket.end();
  }
}
