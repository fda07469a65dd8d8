// The DNS wire format (RFC 1035) as far as a name-table server needs it: decode a query (names with
// compression pointers, EDNS records skipped), encode a response with A records. Pure.

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const QTYPE = { A: 1, CNAME: 5, AAAA: 28, ANY: 255 } as const;
export const QCLASS_IN = 1;

export interface Question {
  /** Lower case, no trailing dot ('' for the root). */
  name: string;
  type: number;
  class: number;
}

export interface Query {
  id: number;
  opcode: number;
  /** Recursion desired: echoed in the answer. */
  rd: boolean;
  questions: Question[];
}

export interface ARecord {
  name: string;
  ttl: number;
  /** Dotted IPv4. */
  address: string;
}

export interface Response {
  id: number;
  opcode: number;
  rd: boolean;
  rcode: number;
  /** Authoritative answer: the name table is the authority for the names in it. */
  aa: boolean;
  questions: Question[];
  answers: ARecord[];
}

export class DnsFormatError extends Error {
  constructor(
    message: string,
    /** The query's id, when the header could be read: a FORMERR answer can name it. */
    readonly id?: number,
  ) {
    super(message);
    this.name = 'DnsFormatError';
  }
}

const HEADER_BYTES = 12;
const MAX_POINTERS = 64;

/** Reads a (possibly compressed) name at `offset`; returns it and the offset after it in the message. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next: number | undefined;
  for (let jumps = 0; ; ) {
    if (pos >= buf.length) throw new DnsFormatError(`name at byte ${offset} runs past the end of the message`);
    const len = buf[pos];
    if (len === 0) {
      next ??= pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsFormatError(`compression pointer at byte ${pos} is cut off`);
      if (++jumps > MAX_POINTERS) throw new DnsFormatError(`name at byte ${offset} has a compression loop`);
      next ??= pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError(`unsupported label type 0x${len.toString(16)} at byte ${pos}`);
    if (pos + 1 + len > buf.length) throw new DnsFormatError(`label at byte ${pos} runs past the end of the message`);
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  const name = labels.join('.');
  if (name.length > 253) throw new DnsFormatError(`name at byte ${offset} is longer than 253 characters`);
  return { name, next };
}

export function decodeQuery(buf: Buffer): Query {
  if (buf.length < HEADER_BYTES) throw new DnsFormatError(`message of ${buf.length} bytes is shorter than a DNS header`);
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError('message is a response, not a query', id);
  const qdcount = buf.readUInt16BE(4);
  const questions: Question[] = [];
  let pos = HEADER_BYTES;
  try {
    for (let i = 0; i < qdcount; i++) {
      const { name, next } = readName(buf, pos);
      if (next + 4 > buf.length) throw new DnsFormatError(`question ${i + 1} is cut off`);
      questions.push({ name: name.toLowerCase(), type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
      pos = next + 4;
    }
  } catch (err) {
    if (err instanceof DnsFormatError) throw new DnsFormatError(err.message, id);
    throw err;
  }
  // Answer, authority and additional records (EDNS OPT) are not needed to answer: not read.
  return { id, opcode: (flags >> 11) & 0xf, rd: (flags & 0x0100) !== 0, questions };
}

function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.').filter(Boolean)) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length > 63) throw new Error(`label ${JSON.stringify(label)} is longer than 63 bytes`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function encodeIpv4(address: string): Buffer {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return Buffer.from(octets);
}

export function encodeResponse(res: Response): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(res.id, 0);
  // QR=1, opcode, AA, RD echoed, RA=1 (the server answers what it knows), rcode.
  const flags = 0x8000 | ((res.opcode & 0xf) << 11) | (res.aa ? 0x0400 : 0) | (res.rd ? 0x0100 : 0) | 0x0080 | (res.rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(res.questions.length, 4);
  header.writeUInt16BE(res.answers.length, 6);
  const parts: Buffer[] = [header];
  for (const q of res.questions) {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(q.type, 0);
    tail.writeUInt16BE(q.class, 2);
    parts.push(encodeName(q.name), tail);
  }
  for (const a of res.answers) {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(QTYPE.A, 0);
    fixed.writeUInt16BE(QCLASS_IN, 2);
    fixed.writeUInt32BE(a.ttl, 4);
    fixed.writeUInt16BE(4, 8);
    parts.push(encodeName(a.name), fixed, encodeIpv4(a.address));
  }
  return Buffer.concat(parts);
}

/** A query (for tests and clients): one question, recursion desired. */
export function encodeQuery(id: number, name: string, type: number = QTYPE.A): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(QCLASS_IN, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Decodes a response as far as a test or client needs: id, rcode, flags, A answers. */
export function decodeResponse(buf: Buffer): { id: number; rcode: number; aa: boolean; answers: ARecord[] } {
  if (buf.length < HEADER_BYTES) throw new DnsFormatError(`message of ${buf.length} bytes is shorter than a DNS header`);
  const flags = buf.readUInt16BE(2);
  if (!(flags & 0x8000)) throw new DnsFormatError('message is a query, not a response');
  let pos = HEADER_BYTES;
  for (let i = buf.readUInt16BE(4); i > 0; i--) pos = readName(buf, pos).next + 4;
  const answers: ARecord[] = [];
  for (let i = buf.readUInt16BE(6); i > 0; i--) {
    const { name, next } = readName(buf, pos);
    if (next + 10 > buf.length) throw new DnsFormatError('answer record is cut off');
    const type = buf.readUInt16BE(next);
    const ttl = buf.readUInt32BE(next + 4);
    const length = buf.readUInt16BE(next + 8);
    const data = next + 10;
    if (data + length > buf.length) throw new DnsFormatError('answer data is cut off');
    if (type === QTYPE.A && length === 4) answers.push({ name, ttl, address: [...buf.subarray(data, data + 4)].join('.') });
    pos = data + length;
  }
  return { id: buf.readUInt16BE(0), rcode: flags & 0xf, aa: (flags & 0x0400) !== 0, answers };
}
