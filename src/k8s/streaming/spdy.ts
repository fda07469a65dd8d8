// SPDY/3.1 framing, the server's half, as far as Kubernetes streaming needs it: a moby/spdystream client
// (k8s.io/apimachinery's httpstream/spdy) whose streams carry raw bytes. Two servers speak it: the
// embedded API server's pods/portforward (local/apiserver/portforward.ts, for kubectl) and the node's
// kubelet port, where kube-apiserver opens exec and port-forward streams (realkube/spdy-connection.ts).
// Pure framing and header-block coding; the byte pipe is the caller's. Frames:
//   control: 1 bit 1 | 15 bits version (3) | 16 bits type | 8 bits flags | 24 bits length | data
//   data:    1 bit 0 | 31 bits stream id                 | 8 bits flags | 24 bits length | data
// Header blocks are zlib streams (one per direction, shared by all frames of the connection) primed
// with the SPDY/3 dictionary; each block is a 32-bit count of (32-bit length + name, 32-bit length + value).
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
/** Largest data frame `dataFrames` sends (SPDY allows 16 MB): keeps one busy stream from holding the connection. */
export const MAX_DATA_FRAME = 32 * 1024;
/** A frame's length field is 24 bits. */
const MAX_FRAME_LENGTH = 0xffffff;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** RST_STREAM status codes used here. */
export const RstStatus = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6 } as const;

export type Frame =
  | { control: true; type: number; flags: number; data: Buffer }
  | { control: false; streamId: number; flags: number; data: Buffer };

/** Splits a byte stream into frames; bytes of an unfinished frame wait for the next push. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= 8) {
      const length = this.pending.readUIntBE(5, 3);
      if (this.pending.length < 8 + length) break;
      const flags = this.pending[4];
      const data = this.pending.subarray(8, 8 + length);
      if (this.pending[0] & 0x80) {
        const version = this.pending.readUInt16BE(0) & 0x7fff;
        if (version !== SPDY_VERSION) throw new Error(`SPDY version ${version} is not supported (only 3)`);
        frames.push({ control: true, type: this.pending.readUInt16BE(2), flags, data });
      } else {
        frames.push({ control: false, streamId: this.pending.readUInt32BE(0) & 0x7fffffff, flags, data });
      }
      this.pending = this.pending.subarray(8 + length);
    }
    return frames;
  }
}

function frameHead(length: number): Buffer {
  if (length > MAX_FRAME_LENGTH) throw new Error(`SPDY frame payload of ${length} bytes exceeds the 24-bit length field (${MAX_FRAME_LENGTH}): split it`);
  const head = Buffer.alloc(8);
  head.writeUIntBE(length, 5, 3);
  return head;
}

export function controlFrame(type: number, flags: number, data: Buffer): Buffer {
  const head = frameHead(data.length);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head[4] = flags;
  return Buffer.concat([head, data]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const head = frameHead(data.length);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head[4] = flags;
  return Buffer.concat([head, data]);
}

/** `data` as frames of at most MAX_DATA_FRAME bytes, FIN on the last if `fin`; no data and `fin` is one empty FIN frame. */
export function dataFrames(streamId: number, data: Buffer, fin: boolean): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_DATA_FRAME) {
    const last = at + MAX_DATA_FRAME >= data.length;
    frames.push(dataFrame(streamId, fin && last ? FLAG_FIN : 0, data.subarray(at, at + MAX_DATA_FRAME)));
  }
  if (fin && frames.length === 0) frames.push(dataFrame(streamId, FLAG_FIN, Buffer.alloc(0)));
  return frames;
}

export function uint32s(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

// The SPDY/3 header dictionary (draft-mbelshe-httpbis-spdy-00, 2.6.10.1): length-prefixed words, then
// one run of text. It must be byte-exact, or the peer's inflate fails on the first header block.
const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const DICTIONARY_TEXT =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,' +
  'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const SPDY3_DICTIONARY = Buffer.concat([
  ...DICTIONARY_WORDS.map((w) => Buffer.concat([uint32s(Buffer.byteLength(w)), Buffer.from(w, 'latin1')])),
  Buffer.from(DICTIONARY_TEXT, 'latin1'),
]);

export type Headers = Map<string, string[]>;

export function encodeHeaderBlock(headers: Headers): Buffer {
  const parts: Buffer[] = [uint32s(headers.size)];
  for (const [name, values] of headers) {
    const n = Buffer.from(name.toLowerCase());
    // Several values of one name travel NUL-separated in one value.
    const v = Buffer.from(values.join('\0'));
    parts.push(uint32s(n.length), n, uint32s(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): Headers {
  const headers: Headers = new Map();
  let at = 0;
  const take = (): Buffer => {
    if (at + 4 > block.length) throw new Error('SPDY header block is truncated');
    const len = block.readUInt32BE(at);
    at += 4;
    if (at + len > block.length) throw new Error('SPDY header block is truncated');
    const out = block.subarray(at, at + len);
    at += len;
    return out;
  };
  if (block.length < 4) throw new Error('SPDY header block is truncated');
  const count = block.readUInt32BE(0);
  at = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toString().toLowerCase();
    const values = take().toString().split('\0');
    headers.set(name, [...(headers.get(name) ?? []), ...values]);
  }
  return headers;
}

/** One direction's zlib context: SPDY compresses all header blocks of a connection as one stream. */
abstract class ZlibContext<T extends Deflate | Inflate> {
  private chain: Promise<unknown> = Promise.resolve();
  private output: Buffer[] = [];

  constructor(protected readonly z: T) {
    z.on('data', (chunk: Buffer) => this.output.push(chunk));
    z.on('error', () => undefined); // surfaced by the flush of the block that caused it
  }

  /** Feeds one block and returns what the context emitted for it; blocks are handled in order. */
  protected run(input: Buffer): Promise<Buffer> {
    const next = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const onError = (err: Error): void => reject(err);
          this.z.once('error', onError);
          this.z.write(input);
          this.z.flush(constants.Z_SYNC_FLUSH, () => {
            this.z.off('error', onError);
            const out = Buffer.concat(this.output);
            this.output = [];
            resolve(out);
          });
        }),
    );
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.z.close();
  }
}

export class HeaderCompressor extends ZlibContext<Deflate> {
  constructor() {
    super(createDeflate({ dictionary: SPDY3_DICTIONARY }));
  }
  compress(headers: Headers): Promise<Buffer> {
    return this.run(encodeHeaderBlock(headers));
  }
}

export class HeaderDecompressor extends ZlibContext<Inflate> {
  constructor() {
    super(createInflate({ dictionary: SPDY3_DICTIONARY }));
  }
  async decompress(block: Buffer): Promise<Headers> {
    return decodeHeaderBlock(await this.run(block));
  }
}
