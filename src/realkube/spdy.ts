// SPDY/3.1 framing, as far as kube-apiserver speaks it to a kubelet for exec (k8s.io/apimachinery's
// httpstream/spdy over github.com/moby/spdystream): control frames (SYN_STREAM, SYN_REPLY, RST_STREAM,
// SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE) and data frames; name/value header blocks compressed
// with one zlib context per direction and SPDY's dictionary (spec section 2.6.10.1). No I/O beyond the
// socket given.
import type { Socket } from 'node:net';
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';

/** SPDY/3's zlib dictionary for header blocks (the bytes of the draft's section 2.6.10.1). */
const DICTIONARY = Buffer.from('AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2VwdC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UAAAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNlAAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBTYXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==', 'base64');

export const enum FrameType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

const FLAG_FIN = 0x01;
const VERSION = 3;
/** Data frames are sent in chunks of at most this (the protocol allows 16 MB). */
const MAX_DATA = 32 * 1024;

export type Headers = Map<string, string[]>;

export type SpdyFrame =
  | { kind: 'control'; type: number; flags: number; payload: Buffer }
  | { kind: 'data'; streamId: number; fin: boolean; data: Buffer };

/** Splits the bytes read so far into whole frames; returns them and what is left over. */
export function parseFrames(buffer: Buffer): { frames: SpdyFrame[]; rest: Buffer } {
  const frames: SpdyFrame[] = [];
  let offset = 0;
  while (buffer.length - offset >= 8) {
    const length = buffer.readUIntBE(offset + 5, 3);
    if (buffer.length - offset < 8 + length) break;
    const flags = buffer[offset + 4]!;
    const payload = buffer.subarray(offset + 8, offset + 8 + length);
    if (buffer[offset]! & 0x80) frames.push({ kind: 'control', type: buffer.readUInt16BE(offset + 2), flags, payload });
    else frames.push({ kind: 'data', streamId: buffer.readUInt32BE(offset) & 0x7fffffff, fin: (flags & FLAG_FIN) !== 0, data: payload });
    offset += 8 + length;
  }
  return { frames, rest: buffer.subarray(offset) };
}

export function controlFrame(type: FrameType, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | VERSION, 0);
  head.writeUInt16BE(type, 2);
  head[4] = flags;
  head.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([head, payload]);
}

export function dataFrames(streamId: number, data: Buffer, fin: boolean): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < data.length || (fin && frames.length === 0); offset += MAX_DATA) {
    const chunk = data.subarray(offset, offset + MAX_DATA);
    const last = offset + MAX_DATA >= data.length;
    const head = Buffer.alloc(8);
    head.writeUInt32BE(streamId & 0x7fffffff, 0);
    head[4] = fin && last ? FLAG_FIN : 0;
    head.writeUIntBE(chunk.length, 5, 3);
    frames.push(Buffer.concat([head, chunk]));
    if (chunk.length === 0) break;
  }
  return frames;
}

/** A name/value block: count, then length-prefixed names and values (several values joined by NUL). */
export function encodeHeaderBlock(headers: Headers): Buffer {
  const parts: Buffer[] = [u32(headers.size)];
  for (const [name, values] of headers) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(values.join('\0'));
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): Headers {
  const headers: Headers = new Map();
  const count = block.readUInt32BE(0);
  let offset = 4;
  for (let i = 0; i < count; i++) {
    const nameLength = block.readUInt32BE(offset);
    const name = block.subarray(offset + 4, offset + 4 + nameLength).toString();
    offset += 4 + nameLength;
    const valueLength = block.readUInt32BE(offset);
    const value = block.subarray(offset + 4, offset + 4 + valueLength).toString();
    offset += 4 + valueLength;
    headers.set(name, value.split('\0'));
  }
  return headers;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** One direction's zlib context: every header block of a connection continues the same stream. */
class ZlibContext {
  private readonly chunks: Buffer[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly stream: Inflate | Deflate) {
    stream.on('data', (c: Buffer) => this.chunks.push(c));
  }

  /** Feeds the input and returns what comes out after a sync flush; calls are taken in order. */
  run(input: Buffer): Promise<Buffer> {
    const next = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const onError = (err: Error) => reject(err);
          this.stream.once('error', onError);
          this.stream.write(input);
          this.stream.flush(constants.Z_SYNC_FLUSH, () => {
            this.stream.off('error', onError);
            resolve(Buffer.concat(this.chunks.splice(0)));
          });
        }),
    );
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.stream.destroy();
  }
}

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
  private readonly inflate = new ZlibContext(createInflate({ dictionary: DICTIONARY }));
  private readonly deflate = new ZlibContext(createDeflate({ dictionary: DICTIONARY, level: 9 }));
  private pending: Buffer = Buffer.alloc(0);
  private work: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly handlers: SpdyConnectionHandlers,
  ) {
    socket.on('data', (chunk: Buffer) => {
      const { frames, rest } = parseFrames(Buffer.concat([this.pending, chunk]));
      this.pending = rest;
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

  private async handle(frame: SpdyFrame): Promise<void> {
    if (frame.kind === 'data') {
      this.handlers.onData(frame.streamId, frame.data, frame.fin);
      return;
    }
    const p = frame.payload;
    switch (frame.type) {
      case FrameType.SynStream: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflate.run(p.subarray(10)));
        await this.reply(id);
        this.handlers.onStream({ id, headers });
        if (frame.flags & FLAG_FIN) this.handlers.onData(id, Buffer.alloc(0), true);
        return;
      }
      case FrameType.Headers:
        await this.inflate.run(p.subarray(4)); // keeps the zlib context in step; nothing in them matters here
        return;
      case FrameType.Ping:
        this.write([controlFrame(FrameType.Ping, 0, p)]);
        return;
      case FrameType.RstStream:
        this.handlers.onReset(p.readUInt32BE(0) & 0x7fffffff);
        return;
      case FrameType.GoAway:
        this.socket.end();
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE, SYN_REPLY: nothing to do for the streams a kubelet serves
    }
  }

  private async reply(streamId: number): Promise<void> {
    const block = await this.deflate.run(encodeHeaderBlock(new Map()));
    this.write([controlFrame(FrameType.SynReply, 0, Buffer.concat([u32(streamId & 0x7fffffff), block]))]);
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
    this.write([controlFrame(FrameType.GoAway, 0, Buffer.concat([u32(0), u32(0)]))]);
    this.socket.end();
  }
}
