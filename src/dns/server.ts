// A DNS server (UDP and TCP) that answers from a name table: what the pod's agent serves on
// POD_IP:15053, Istio's DNS proxy port. Names in the table get their A records (authoritative, TTL 30 s
// as Istio's); other names NXDOMAIN: nothing is forwarded (the pod's resolv.conf names the host's own
// nameservers for those).
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { decodeQuery, DnsFormatError, encodeResponse, QCLASS_IN, QTYPE, RCODE, type Query, type Response } from './message.js';

export const DNS_PROXY_PORT = 15053;
export const ANSWER_TTL_SECONDS = 30;
/** A UDP answer larger than this would be truncated (RFC 1035); the tables here are never near it. */
const UDP_MAX_BYTES = 512;

/** The answer to a query from `names` (lower-case names without trailing dot -> IPv4 addresses). Pure. */
export function answerQuery(query: Query, names: ReadonlyMap<string, readonly string[]>): Response {
  const base = { id: query.id, opcode: query.opcode, rd: query.rd, questions: query.questions, answers: [], aa: false };
  if (query.opcode !== 0) return { ...base, rcode: RCODE.NOTIMP };
  if (query.questions.length !== 1) return { ...base, rcode: RCODE.FORMERR };
  const [q] = query.questions;
  if (q.class !== QCLASS_IN) return { ...base, rcode: RCODE.REFUSED };
  const ips = names.get(q.name);
  if (!ips) return { ...base, rcode: RCODE.NXDOMAIN };
  // The name exists: A (or ANY) gets its addresses, other types an empty answer (NODATA).
  const answers = q.type === QTYPE.A || q.type === QTYPE.ANY ? ips.map((address) => ({ name: q.name, ttl: ANSWER_TTL_SECONDS, address })) : [];
  return { ...base, rcode: RCODE.NOERROR, aa: true, answers };
}

/** The bytes to send back for a datagram or TCP message; undefined when not even the header is readable. */
export function respond(message: Buffer, names: ReadonlyMap<string, readonly string[]>): Buffer | undefined {
  try {
    return encodeResponse(answerQuery(decodeQuery(message), names));
  } catch (err) {
    if (err instanceof DnsFormatError && err.id !== undefined) {
      return encodeResponse({ id: err.id, opcode: 0, rd: false, rcode: RCODE.FORMERR, aa: false, questions: [], answers: [] });
    }
    if (err instanceof DnsFormatError) return undefined;
    throw err;
  }
}

export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** The current names; read for every query. */
  names: () => ReadonlyMap<string, readonly string[]>;
  log: (line: string) => void;
}

export interface RunningDnsServer {
  port: number;
  close(): Promise<void>;
}

export async function startDnsServer(opts: DnsServerOptions): Promise<RunningDnsServer> {
  const udp: Socket = createSocket('udp4');
  udp.on('message', (msg, peer) => {
    const out = respond(msg, opts.names());
    if (!out) return;
    // Truncated (TC) answers are not needed: a single name's A records fit in 512 bytes.
    if (out.length > UDP_MAX_BYTES) opts.log(`dns: answer of ${out.length} bytes to ${peer.address} exceeds ${UDP_MAX_BYTES} (sent anyway)`);
    udp.send(out, peer.port, peer.address);
  });
  udp.on('error', (err) => opts.log(`dns: udp: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.port, opts.host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const port = udp.address().port;
  const connections = new Set<TcpSocket>();
  const tcp: Server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => undefined); // a client that goes away mid-answer: nothing to do
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      // RFC 1035 4.2.2: each message is preceded by its length in two bytes.
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const length = pending.readUInt16BE(0);
        const out = respond(pending.subarray(2, 2 + length), opts.names());
        pending = pending.subarray(2 + length);
        if (!out) {
          socket.destroy();
          return;
        }
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(out.length, 0);
        socket.write(Buffer.concat([prefix, out]));
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, opts.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    udp.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closing ??= (async () => {
        for (const s of connections) s.destroy();
        await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
      })();
      return closing;
    },
  };
}
