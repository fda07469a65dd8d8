import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeQuery, decodeResponse, DnsFormatError, encodeQuery, encodeResponse, QTYPE, RCODE, readName } from './message.js';

/** What `dig helloworld.sample` sends (id 0x1234, RD, AD, one question, an EDNS OPT record), byte for byte. */
const DIG_QUERY = Buffer.from(
  ['1234 0120 0001 0000 0000 0001', '0a68656c6c6f776f726c64 0673616d706c65 00 0001 0001', '00 0029 04d0 00000000 0000'].join('').replace(/ /g, ''),
  'hex',
);

test('decodes a query as dig sends it, EDNS record and all', () => {
  const q = decodeQuery(DIG_QUERY);
  assert.deepEqual(q, { id: 0x1234, opcode: 0, rd: true, questions: [{ name: 'helloworld.sample', type: QTYPE.A, class: 1 }] });
});

test('names are lower-cased; compression pointers are followed; loops and cut-off names are refused', () => {
  const q = decodeQuery(encodeQuery(7, 'HelloWorld.Sample'));
  assert.equal(q.questions[0].name, 'helloworld.sample');
  // "a" then a pointer to offset 12 (the question name "b.c").
  const msg = Buffer.concat([Buffer.from('000100000001000000000000', 'hex'), Buffer.from([1, 0x62, 1, 0x63, 0]), Buffer.from([1, 0x61, 0xc0, 12])]);
  assert.deepEqual(readName(msg, 17), { name: 'a.b.c', next: 21 });
  const loop = Buffer.concat([Buffer.from('000100000001000000000000', 'hex'), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.throws(() => decodeQuery(loop), (err: unknown) => err instanceof DnsFormatError && /compression loop/.test(err.message) && err.id === 1);
  assert.throws(() => decodeQuery(Buffer.from('00010000000100000000000005616263', 'hex')), /runs past the end/);
  assert.throws(() => decodeQuery(Buffer.from('0001', 'hex')), /shorter than a DNS header/);
  assert.throws(() => decodeQuery(encodeResponse({ id: 1, opcode: 0, rd: false, rcode: 0, aa: false, questions: [], answers: [] })), /is a response/);
});

test('a response carries the question, the A records and the flags a resolver checks', () => {
  const bytes = encodeResponse({
    id: 0xbeef,
    opcode: 0,
    rd: true,
    rcode: RCODE.NOERROR,
    aa: true,
    questions: [{ name: 'helloworld.sample', type: QTYPE.A, class: 1 }],
    answers: [{ name: 'helloworld.sample', ttl: 30, address: '127.11.0.7' }],
  });
  // Header: id, QR|AA|RD|RA, 1 question, 1 answer.
  assert.equal(bytes.subarray(0, 8).toString('hex'), 'beef858000010001');
  assert.deepEqual(decodeResponse(bytes), { id: 0xbeef, rcode: 0, aa: true, answers: [{ name: 'helloworld.sample', ttl: 30, address: '127.11.0.7' }] });
  const nx = decodeResponse(encodeResponse({ id: 2, opcode: 0, rd: false, rcode: RCODE.NXDOMAIN, aa: false, questions: [], answers: [] }));
  assert.deepEqual(nx, { id: 2, rcode: RCODE.NXDOMAIN, aa: false, answers: [] });
  assert.throws(() => encodeResponse({ id: 1, opcode: 0, rd: false, rcode: 0, aa: false, questions: [], answers: [{ name: 'x', ttl: 1, address: '1.2.3' }] }), /not an IPv4 address/);
});
