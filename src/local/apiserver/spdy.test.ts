import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { controlFrame, dataFrame, FLAG_FIN, FrameReader, FrameType, HeaderCompressor, HeaderDecompressor, SPDY3_DICTIONARY, uint32s } from './spdy.js';

describe('SPDY/3.1 framing', () => {
  test('the header dictionary has the size of the SPDY/3 draft (1423 bytes) and ends with "enq=0."', () => {
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    assert.equal(SPDY3_DICTIONARY.subarray(-6).toString('latin1'), 'enq=0.');
    assert.equal(SPDY3_DICTIONARY.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
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
    for (let i = 0; i < blocks.length; i++) assert.deepEqual(await inflate.decompress(compressed[i]), blocks[i]);
    // The second block repeats the first's names: the shared context makes it smaller.
    assert.ok(compressed[1].length < compressed[0].length);
    deflate.close();
    inflate.close();
  });
});
