// The DNS server with real sockets, asked by an independent client: Node's c-ares resolver (UDP), and
// RFC 1035 TCP framing by hand.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import { decodeResponse, encodeQuery, QTYPE, RCODE } from './message.js';
import { startDnsServer, type RunningDnsServer } from './server.js';

const HOST = '127.0.0.1';
let server: RunningDnsServer;
let names = new Map<string, string[]>([['helloworld.sample', ['127.11.0.7']], ['db.sample.svc.cluster.local', ['127.10.0.3', '127.10.0.9']]]);

before(async () => {
  server = await startDnsServer({ host: HOST, port: 0, names: () => names, log: () => {} });
});
after(() => server.close());

function resolver(): Resolver {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`${HOST}:${server.port}`]);
  return r;
}

test('answers A queries over UDP from the current names; names outside them are NXDOMAIN', async () => {
  assert.deepEqual(await resolver().resolve4('helloworld.sample', { ttl: true }), [{ address: '127.11.0.7', ttl: 30 }]);
  assert.deepEqual((await resolver().resolve4('DB.sample.svc.cluster.local.')).sort(), ['127.10.0.3', '127.10.0.9']);
  await assert.rejects(resolver().resolve4('www.example.com'), { code: 'ENOTFOUND' });
  // A known name has no IPv6 address: an empty answer, not NXDOMAIN.
  await assert.rejects(resolver().resolve6('helloworld.sample'), { code: 'ENODATA' });
  names = new Map([['helloworld.sample', ['127.11.0.8']]]);
  assert.deepEqual(await resolver().resolve4('helloworld.sample'), ['127.11.0.8'], 'a new table is answered at once');
});

test('answers over TCP, several length-prefixed queries on one connection, and FORMERR for a malformed one', async () => {
  const frame = (msg: Buffer) => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);
  const broken = Buffer.from('0042000000010000000000000561', 'hex'); // id 0x42, a label cut off
  const socket = connect(server.port, HOST);
  const replies: Buffer[] = [];
  let pending = Buffer.alloc(0);
  const done = new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (replies.length === 3) resolve();
    });
  });
  // Written in one chunk, the second query split from the third: framing, not packets, delimits them.
  socket.write(Buffer.concat([frame(encodeQuery(1, 'helloworld.sample')), frame(encodeQuery(2, 'nope.sample', QTYPE.A)), frame(broken)]));
  await done;
  socket.destroy();
  const [a, b, c] = replies.map(decodeResponse);
  assert.deepEqual(a, { id: 1, rcode: RCODE.NOERROR, aa: true, answers: [{ name: 'helloworld.sample', ttl: 30, address: '127.11.0.8' }] });
  assert.deepEqual(b, { id: 2, rcode: RCODE.NXDOMAIN, aa: false, answers: [] });
  assert.deepEqual(c, { id: 0x42, rcode: RCODE.FORMERR, aa: false, answers: [] });
});
