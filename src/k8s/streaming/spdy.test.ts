import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  controlFrame,
  dataFrame,
  dataFrames,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FLAG_FIN,
  FrameReader,
  FrameType,
  HeaderCompressor,
  HeaderDecompressor,
  SPDY3_DICTIONARY,
  uint32s,
} from './spdy.js';

describe('SPDY/3.1 framing', () => {
  test('the header dictionary has the size of the SPDY/3 draft (1423 bytes) and ends with "enq=0."', () => {
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    assert.equal(SPDY3_DICTIONARY.subarray(-6).toString('latin1'), 'enq=0.');
    assert.equal(SPDY3_DICTIONARY.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
  });

  test('the header dictionary is byte-exact: its SHA-256 is that of the draft section 2.6.10.1 bytes', () => {
    // The digest of the dictionary as the kubelet-side framing carried it, base64 of the draft's bytes.
    assert.equal(createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });

  test('frames split anywhere across chunks come out whole and in order', () => {
    const bytes = Buffer.concat([controlFrame(FrameType.PING, 0, uint32s(1)), dataFrame(3, FLAG_FIN, Buffer.from('hello')), dataFrame(5, 0, Buffer.alloc(0))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new FrameReader();
      const frames = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      assert.deepEqual(
        frames.map((f) => (f.control ? `control ${f.type} ${f.data.readUInt32BE(0)}` : `data ${f.streamId} ${f.flags} ${f.data.toString()}`)),
        ['control 6 1', 'data 3 1 hello', 'data 5 0 '],
      );
    }
  });

  test('splits bytes into control and data frames, keeping a partial frame for the next chunk', () => {
    const bytes = Buffer.concat([controlFrame(FrameType.PING, 0, Buffer.from([0, 0, 0, 1])), ...dataFrames(3, Buffer.from('hello'), true)]);
    const reader = new FrameReader();
    assert.deepEqual(reader.push(Buffer.concat([bytes, bytes.subarray(0, 5)])), [
      { control: true, type: FrameType.PING, flags: 0, data: Buffer.from([0, 0, 0, 1]) },
      { control: false, streamId: 3, flags: FLAG_FIN, data: Buffer.from('hello') },
    ]);
    assert.equal(bytes.readUInt16BE(0), 0x8003, 'control bit and version 3');
    // The 5 bytes held back complete into the PING with the rest of its frame.
    assert.deepEqual(reader.push(bytes.subarray(5, 12)), [{ control: true, type: FrameType.PING, flags: 0, data: Buffer.from([0, 0, 0, 1]) }]);
  });

  test('a control frame of another SPDY version is refused by name', () => {
    const v2 = controlFrame(FrameType.PING, 0, uint32s(1));
    v2.writeUInt16BE(0x8002, 0);
    assert.throws(() => new FrameReader().push(v2), /SPDY version 2 is not supported \(only 3\)/);
  });

  test('a payload beyond the 24-bit length field is refused, not written with a wrong length', () => {
    assert.throws(() => dataFrame(1, 0, Buffer.alloc(0x1000000)), /exceeds the 24-bit length field/);
    assert.equal(dataFrame(1, 0, Buffer.alloc(0xffffff)).readUIntBE(5, 3), 0xffffff);
  });

  test('sends data in chunks of 32 KiB with FIN on the last only, and an empty FIN frame', () => {
    const frames = dataFrames(5, Buffer.alloc(70 * 1024), true);
    assert.equal(frames.length, 3);
    assert.deepEqual(frames.map((f) => f[4]), [0, 0, 1]);
    assert.deepEqual(frames.map((f) => f.readUIntBE(5, 3)), [32 * 1024, 32 * 1024, 6 * 1024]);
    const [fin] = dataFrames(5, Buffer.alloc(0), true);
    assert.deepEqual([...fin!], [0, 0, 0, 5, 1, 0, 0, 0]);
    assert.deepEqual(dataFrames(5, Buffer.alloc(0), false), [], 'no data and no FIN is no frame');
    assert.deepEqual(dataFrames(5, Buffer.alloc(32 * 1024), false).map((f) => f[4]), [0]);
  });

  test('header blocks round-trip, several values joined by NUL, names in lower case', () => {
    const block = encodeHeaderBlock(new Map([['StreamType', ['stdout']], ['x', ['a', 'b']]]));
    assert.deepEqual(decodeHeaderBlock(block), new Map([['streamtype', ['stdout']], ['x', ['a', 'b']]]));
  });

  test('a truncated header block is an error naming it, not a read past its end', () => {
    const block = encodeHeaderBlock(new Map([['streamtype', ['error']]]));
    for (const cut of [0, 3, 8, block.length - 1]) assert.throws(() => decodeHeaderBlock(block.subarray(0, cut)), /SPDY header block is truncated/);
  });

  test('header blocks share one zlib context per direction: later blocks decode only after earlier ones', async () => {
    const deflate = new HeaderCompressor();
    const inflate = new HeaderDecompressor();
    const blocks = [
      new Map([['streamtype', ['error']], ['port', ['5000']], ['requestid', ['0']]]),
      new Map([['streamtype', ['data']], ['port', ['5000']], ['requestid', ['0']]]),
      new Map([['x-multi', ['a', 'b']]]),
    ];
    const compressed = [];
    for (const b of blocks) compressed.push(await deflate.compress(b));
    for (let i = 0; i < blocks.length; i++) assert.deepEqual(await inflate.decompress(compressed[i]!), blocks[i]);
    // The second block repeats the first's names: the shared context makes it smaller.
    assert.ok(compressed[1]!.length < compressed[0]!.length);
    // Out of order, a later block does not decode: it refers to the earlier ones' window.
    const fresh = new HeaderDecompressor();
    await assert.rejects(fresh.decompress(compressed[1]!));
    fresh.close();
    deflate.close();
    inflate.close();
  });

  test("exec's stream blocks (error, stdout, stderr) flush per block and decode one by one as they arrive", async () => {
    const deflate = new HeaderCompressor();
    const inflate = new HeaderDecompressor();
    for (const type of ['error', 'stdout', 'stderr']) {
      const wire = await deflate.compress(new Map([['streamtype', [type]]]));
      assert.deepEqual((await inflate.decompress(wire)).get('streamtype'), [type]);
    }
    deflate.close();
    inflate.close();
  });
});
