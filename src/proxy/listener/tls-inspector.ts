// Envoy's tls_inspector: read (never consume) the first bytes of a connection and tell whether they are
// a TLS ClientHello, and if so the server name it asks for (SNI) and the protocols it offers (ALPN).
// Nothing is terminated: the bytes are
// handed on unchanged to whatever the chosen filter chain does with them.

/** ClientHellos larger than this are refused (Envoy's inspector reads at most 64 KiB). */
export const MAX_CLIENT_HELLO = 64 * 1024;

export type Inspection =
  | { kind: 'need-more' }
  | { kind: 'tls'; serverName: string | undefined; alpn: string[] }
  | { kind: 'not-tls' }
  /** It starts like TLS but the ClientHello does not parse (or is too large): Envoy closes such a connection. */
  | { kind: 'invalid'; reason: string };

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME_EXTENSION = 0x0000;
const ALPN_EXTENSION = 0x0010;
const HOST_NAME = 0x00;

/** Inspects the bytes read so far; call again with more bytes while it says 'need-more'. */
export function inspectClientHello(bytes: Buffer): Inspection {
  if (bytes.length === 0) return { kind: 'need-more' };
  // A TLS record: content type handshake, then a 3.x protocol version.
  if (bytes[0] !== HANDSHAKE) return { kind: 'not-tls' };
  if (bytes.length >= 2 && bytes[1] !== 0x03) return { kind: 'not-tls' };
  // The handshake message may span several records: gather their fragments.
  const handshake: Buffer[] = [];
  let have = 0;
  let offset = 0;
  let needed: number | undefined;
  for (;;) {
    if (bytes.length < offset + 5) return { kind: 'need-more' };
    if (bytes[offset] !== HANDSHAKE) return { kind: 'invalid', reason: 'a record other than handshake inside the ClientHello' };
    const length = bytes.readUInt16BE(offset + 3);
    if (bytes.length < offset + 5 + length) {
      return offset + 5 + length > MAX_CLIENT_HELLO ? { kind: 'invalid', reason: 'ClientHello too large' } : { kind: 'need-more' };
    }
    handshake.push(bytes.subarray(offset + 5, offset + 5 + length));
    have += length;
    offset += 5 + length;
    if (needed === undefined && have >= 4) {
      const head = Buffer.concat(handshake);
      if (head[0] !== CLIENT_HELLO) return { kind: 'not-tls' };
      needed = 4 + head.readUIntBE(1, 3);
      if (needed > MAX_CLIENT_HELLO) return { kind: 'invalid', reason: 'ClientHello too large' };
    }
    if (needed !== undefined && have >= needed) break;
  }
  try {
    return { kind: 'tls', ...helloExtensions(Buffer.concat(handshake).subarray(4, needed)) };
  } catch (e) {
    return { kind: 'invalid', reason: (e as Error).message };
  }
}

/** The host_name of the server_name extension of a ClientHello body (lower-cased) and its ALPN protocol names. */
function helloExtensions(hello: Buffer): { serverName: string | undefined; alpn: string[] } {
  let serverName: string | undefined;
  const alpn: string[] = [];
  let at = 2 + 32; // client_version, random
  const skip = (lengthBytes: 1 | 2): void => {
    if (at + lengthBytes > hello.length) throw new Error('truncated ClientHello');
    const n = lengthBytes === 1 ? hello[at]! : hello.readUInt16BE(at);
    at += lengthBytes + n;
    if (at > hello.length) throw new Error('truncated ClientHello');
  };
  skip(1); // session_id
  skip(2); // cipher_suites
  skip(1); // compression_methods
  if (at === hello.length) return { serverName, alpn }; // no extensions
  if (at + 2 > hello.length) throw new Error('truncated ClientHello extensions');
  const end = at + 2 + hello.readUInt16BE(at);
  if (end > hello.length) throw new Error('truncated ClientHello extensions');
  at += 2;
  while (at + 4 <= end) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    const body = at + 4;
    at = body + length;
    if (at > end) throw new Error('truncated ClientHello extension');
    if (type === SERVER_NAME_EXTENSION) {
      // ServerNameList: a 2-byte length, then entries of (type, 2-byte length, name).
      let entry = body + 2;
      while (entry + 3 <= at) {
        const nameType = hello[entry]!;
        const nameLength = hello.readUInt16BE(entry + 1);
        const name = hello.subarray(entry + 3, entry + 3 + nameLength);
        if (entry + 3 + nameLength > at) throw new Error('truncated server_name');
        if (nameType === HOST_NAME) {
          serverName = name.toString('latin1').toLowerCase();
          break;
        }
        entry += 3 + nameLength;
      }
    } else if (type === ALPN_EXTENSION) {
      // ProtocolNameList: a 2-byte length, then entries of (1-byte length, name).
      let entry = body + 2;
      while (entry + 1 <= at) {
        const length = hello[entry]!;
        if (entry + 1 + length > at) throw new Error('truncated application_layer_protocol_negotiation');
        alpn.push(hello.subarray(entry + 1, entry + 1 + length).toString('latin1'));
        entry += 1 + length;
      }
    }
  }
  return { serverName, alpn };
}
