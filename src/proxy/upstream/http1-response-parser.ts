// An incremental HTTP/1.1 response parser (RFC 9112) for the upstream socket pool: status line and
// header fields, then the body framed by Content-Length, chunked transfer coding (with trailers) or the
// end of the connection; no body for HEAD, 204 and 304; 1xx interim responses skipped. It parses one
// response at a time (no pipelining) and stops at its end, so the caller can tell leftover bytes apart.

import type { HeaderRecord } from '../filters/headers.js';

export interface ResponseHead {
  status: number;
  /** Lower-case names; a repeated field becomes an array, in arrival order. */
  headers: HeaderRecord;
  /** The connection may carry another request once this response ended (HTTP/1.1, no `close`, self-delimited body). */
  keepAlive: boolean;
}

export interface ResponseSink {
  onResponseHead(head: ResponseHead): void;
  onResponseBody(chunk: Buffer): void;
  /** Trailers are empty unless a chunked body carried some. */
  onResponseEnd(trailers: HeaderRecord): void;
}

export class HttpParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpParseError';
  }
}

const HEAD = 0;
const BODY_LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_DATA_END = 4;
const TRAILERS = 5;
const BODY_UNTIL_CLOSE = 6;
const DONE = 7;
type State = typeof HEAD | typeof BODY_LENGTH | typeof CHUNK_SIZE | typeof CHUNK_DATA | typeof CHUNK_DATA_END | typeof TRAILERS | typeof BODY_UNTIL_CLOSE | typeof DONE;

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LF = 10;
const CR = 13;
/** A chunk-size line with its extensions; longer ones are refused rather than buffered without end. */
const MAX_CHUNK_LINE = 4096;
/** RFC 9110 5.6.2 tchar: the characters of a field name or method (a table for the parsing loop). */
const TOKEN_CHARS = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN_CHARS[c.charCodeAt(0)] = 1;
/** A whole field name or method. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A Content-Length value we accept. */
export const DIGITS = /^\d{1,15}$/;
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/;

/**
 * Parses `name: value` lines (CRLF-separated, from `from` to the end of `text`) into a record; throws on
 * a malformed line, obsolete line folding, or a bare CR, LF or NUL (request smuggling material). A loop
 * over char codes: regular expressions and split() cost several times more on every response.
 */
function parseFields(text: string, from: number, what: string): HeaderRecord {
  const out: HeaderRecord = {};
  const len = text.length;
  let i = from;
  while (i < len) {
    let j = i;
    let upper = false;
    let c = 0;
    while (j < len) {
      c = text.charCodeAt(j);
      if (c === 58 /* : */) break;
      if (TOKEN_CHARS[c] !== 1) throw new HttpParseError(`malformed ${what} line '${text.slice(i, i + 80).split('\r')[0]}'`);
      if (c >= 65 && c <= 90) upper = true;
      j++;
    }
    if (j === i || j === len) throw new HttpParseError(`malformed ${what} line '${text.slice(i, i + 80).split('\r')[0]}'`);
    const rawName = text.slice(i, j);
    const name = upper ? rawName.toLowerCase() : rawName;
    let k = j + 1;
    while (k < len && ((c = text.charCodeAt(k)) === 32 || c === 9)) k++;
    let end = k;
    let valueEnd = k;
    while (end < len) {
      c = text.charCodeAt(end);
      if (c === 13 /* \r */) {
        if (text.charCodeAt(end + 1) !== 10) throw new HttpParseError(`${what} holds a bare CR`);
        break;
      }
      if (c === 10 || c === 0) throw new HttpParseError(`${what} holds a bare LF or a NUL`);
      end++;
      if (c !== 32 && c !== 9) valueEnd = end;
    }
    const value = text.slice(k, valueEnd);
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (typeof existing === 'string') out[name] = [existing, value];
    else existing.push(value);
    i = end + 2;
  }
  return out;
}

/** `HTTP/1.x NNN reason` up to `end`: [minor version, status], or undefined when malformed. */
function parseStatusLine(text: string, end: number): [number, number] | undefined {
  if (end < 12 || !text.startsWith('HTTP/1.')) return undefined;
  const minor = text.charCodeAt(7) - 48;
  if ((minor !== 0 && minor !== 1) || text.charCodeAt(8) !== 32) return undefined;
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    status = status * 10 + d;
  }
  if (end > 12 && text.charCodeAt(12) !== 32) return undefined;
  for (let i = 13; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return undefined;
  }
  return [minor, status];
}

function hasToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  const joined = typeof value === 'string' ? value : value.join(',');
  // One token (the usual `keep-alive` or `close`): no split.
  if (joined.indexOf(',') < 0) return joined.length === token.length && joined.toLowerCase() === token;
  return joined.split(',').some((t) => t.trim().toLowerCase() === token);
}

function lastCoding(value: string | string[]): string {
  const joined = typeof value === 'string' ? value : value.join(',');
  const parts = joined.split(',');
  return parts[parts.length - 1].trim().toLowerCase();
}

export class Http1ResponseParser {
  private state: State = DONE;
  private headRequest = false;
  /** Bytes of an unfinished head, chunk-size line or trailer section. */
  private pending: Buffer | undefined;
  private remaining = 0;
  private crlfSeen = 0;
  private started = false;

  constructor(
    private readonly sink: ResponseSink,
    private readonly maxHeaderBytes: number,
  ) {}

  /** Ready for the response to a request with `method` (HEAD responses have no body). */
  expect(method: string): void {
    this.state = HEAD;
    this.headRequest = method === 'HEAD';
    this.pending = undefined;
    this.started = false;
  }

  /** Some byte of the response (interim ones included) arrived. */
  get receivedAny(): boolean {
    return this.started;
  }

  /** The response ended (onResponseEnd was called). */
  get done(): boolean {
    return this.state === DONE;
  }

  /** The body runs until the connection closes. */
  get closeDelimited(): boolean {
    return this.state === BODY_UNTIL_CLOSE;
  }

  /**
   * Feeds bytes; returns how many belong to the response. Stops at the response's end: a count below
   * data.length means bytes the server sent after it. Throws HttpParseError on malformed input.
   */
  execute(data: Buffer): number {
    if (data.length > 0) this.started = true;
    let pos = 0;
    while (pos < data.length) {
      switch (this.state) {
        case HEAD:
          pos = this.readHead(data, pos);
          break;
        case BODY_LENGTH: {
          const n = Math.min(this.remaining, data.length - pos);
          this.remaining -= n;
          const chunk = pos === 0 && n === data.length ? data : data.subarray(pos, pos + n);
          pos += n;
          this.sink.onResponseBody(chunk);
          if (this.remaining === 0) this.end({});
          break;
        }
        case CHUNK_SIZE:
          pos = this.readChunkSize(data, pos);
          break;
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, data.length - pos);
          this.remaining -= n;
          const chunk = data.subarray(pos, pos + n);
          pos += n;
          if (this.remaining === 0) {
            this.state = CHUNK_DATA_END;
            this.crlfSeen = 0;
          }
          this.sink.onResponseBody(chunk);
          break;
        }
        case CHUNK_DATA_END: {
          const expected = this.crlfSeen === 0 ? CR : LF;
          if (data[pos] !== expected) throw new HttpParseError('chunk data not followed by CRLF');
          pos++;
          if (++this.crlfSeen === 2) this.state = CHUNK_SIZE;
          break;
        }
        case TRAILERS:
          pos = this.readTrailers(data, pos);
          break;
        case BODY_UNTIL_CLOSE: {
          const chunk = pos === 0 ? data : data.subarray(pos);
          pos = data.length;
          this.sink.onResponseBody(chunk);
          break;
        }
        case DONE:
          return pos;
      }
    }
    return pos;
  }

  /** The server closed the connection: ends a close-delimited body (true), else the response is cut short (false). */
  finish(): boolean {
    if (this.state === BODY_UNTIL_CLOSE) {
      this.end({});
      return true;
    }
    return this.state === DONE;
  }

  /** Takes bytes until the end of the head section; returns the new position in data. */
  private takeSection(data: Buffer, pos: number, what: string): { text: string; next: number } | number {
    let buf = data;
    let start = pos;
    let searchFrom = pos;
    const pending = this.pending;
    if (pending) {
      buf = Buffer.concat([pending, data.subarray(pos)]);
      start = 0;
      searchFrom = Math.max(0, pending.length - 3);
    }
    const end = buf.indexOf(CRLFCRLF, searchFrom);
    if (end < 0) {
      if (buf.length - start > this.maxHeaderBytes) throw new HttpParseError(`upstream ${what} larger than ${this.maxHeaderBytes} bytes`);
      this.pending = pending ? buf : Buffer.from(data.subarray(pos));
      return data.length;
    }
    if (end - start > this.maxHeaderBytes) throw new HttpParseError(`upstream ${what} larger than ${this.maxHeaderBytes} bytes`);
    this.pending = undefined;
    const next = pending ? pos + (end + 4 - pending.length) : end + 4;
    return { text: buf.toString('latin1', start, end), next };
  }

  private readHead(data: Buffer, pos: number): number {
    const section = this.takeSection(data, pos, 'response head');
    if (typeof section === 'number') return section;
    const text = section.text;
    const lineEnd = text.indexOf('\r\n');
    const statusEnd = lineEnd < 0 ? text.length : lineEnd;
    const statusLine = parseStatusLine(text, statusEnd);
    if (!statusLine) throw new HttpParseError(`malformed status line '${text.slice(0, Math.min(statusEnd, 80))}'`);
    const [minor, status] = statusLine;
    const headers = lineEnd < 0 ? {} : parseFields(text, lineEnd + 2, 'response header');
    if (status < 200) {
      // 101 would switch protocols, which this client never asks for; other 1xx precede the real response.
      if (status === 101) throw new HttpParseError('unexpected 101 Switching Protocols');
      return section.next;
    }
    let keepAlive = minor === 1 && !hasToken(headers['connection'], 'close');
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    let state: State;
    if (this.headRequest || status === 204 || status === 304) {
      state = DONE;
    } else if (te !== undefined) {
      // RFC 9112 6.3: Transfer-Encoding overrides Content-Length; a message with both may be an attack,
      // so the connection is not reused after it.
      if (cl !== undefined) keepAlive = false;
      if (lastCoding(te) === 'chunked') state = CHUNK_SIZE;
      else {
        state = BODY_UNTIL_CLOSE;
        keepAlive = false;
      }
    } else if (cl !== undefined) {
      const values = typeof cl === 'string' ? [cl] : cl;
      const first = values[0];
      if (!DIGITS.test(first) || values.some((v) => v !== first)) throw new HttpParseError(`invalid content-length '${values.join(', ')}'`);
      this.remaining = Number(first);
      state = this.remaining === 0 ? DONE : BODY_LENGTH;
    } else {
      state = BODY_UNTIL_CLOSE;
      keepAlive = false;
    }
    this.state = state;
    this.sink.onResponseHead({ status, headers, keepAlive });
    if (state === DONE) this.end({});
    return section.next;
  }

  private readChunkSize(data: Buffer, pos: number): number {
    const lf = data.indexOf(LF, pos);
    if (lf < 0) {
      const pendingLength = (this.pending?.length ?? 0) + data.length - pos;
      if (pendingLength > MAX_CHUNK_LINE) throw new HttpParseError('chunk-size line too long');
      this.pending = this.pending ? Buffer.concat([this.pending, data.subarray(pos)]) : Buffer.from(data.subarray(pos));
      return data.length;
    }
    const lineBuf = this.pending ? Buffer.concat([this.pending, data.subarray(pos, lf + 1)]) : data.subarray(pos, lf + 1);
    this.pending = undefined;
    if (lineBuf.length > MAX_CHUNK_LINE) throw new HttpParseError('chunk-size line too long');
    if (lineBuf.length < 2 || lineBuf[lineBuf.length - 2] !== CR) throw new HttpParseError('chunk-size line not ended by CRLF');
    const line = lineBuf.toString('latin1', 0, lineBuf.length - 2);
    const m = CHUNK_SIZE_LINE.exec(line);
    if (!m) throw new HttpParseError(`malformed chunk-size line '${line.slice(0, 40)}'`);
    const size = parseInt(m[1], 16);
    if (size === 0) {
      this.state = TRAILERS;
    } else {
      this.remaining = size;
      this.state = CHUNK_DATA;
    }
    return lf + 1;
  }

  private readTrailers(data: Buffer, pos: number): number {
    const prior = this.pending;
    const priorLength = prior?.length ?? 0;
    const buf = prior ? Buffer.concat([prior, data.subarray(pos)]) : data.subarray(pos);
    if (buf.length < 2) {
      this.pending = Buffer.from(buf);
      return data.length;
    }
    this.pending = undefined;
    // No trailers: the section is a lone CRLF right after the last chunk.
    if (buf[0] === CR && buf[1] === LF) {
      this.end({});
      return pos + 2 - priorLength;
    }
    const end = buf.indexOf(CRLFCRLF, Math.max(0, priorLength - 3));
    if (end < 0 ? buf.length > this.maxHeaderBytes : end > this.maxHeaderBytes) throw new HttpParseError(`upstream trailers larger than ${this.maxHeaderBytes} bytes`);
    if (end < 0) {
      this.pending = Buffer.from(buf);
      return data.length;
    }
    this.end(parseFields(buf.toString('latin1', 0, end), 0, 'trailer'));
    return pos + end + 4 - priorLength;
  }

  private end(trailers: HeaderRecord): void {
    this.state = DONE;
    this.sink.onResponseEnd(trailers);
  }
}
