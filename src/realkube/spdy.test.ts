import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants, createDeflate, createInflate } from 'node:zlib';
import { controlFrame, dataFrames, decodeHeaderBlock, encodeHeaderBlock, FrameType, parseFrames } from './spdy.js';

describe('SPDY/3.1 framing', () => {
  it('splits bytes into control and data frames, keeping a partial frame for later', () => {
    const bytes = Buffer.concat([controlFrame(FrameType.Ping, 0, Buffer.from([0, 0, 0, 1])), ...dataFrames(3, Buffer.from('hello'), true)]);
    const { frames, rest } = parseFrames(Buffer.concat([bytes, bytes.subarray(0, 5)]));
    assert.deepEqual(frames, [
      { kind: 'control', type: FrameType.Ping, flags: 0, payload: Buffer.from([0, 0, 0, 1]) },
      { kind: 'data', streamId: 3, fin: true, data: Buffer.from('hello') },
    ]);
    assert.equal(rest.length, 5);
    assert.equal(bytes.readUInt16BE(0), 0x8003, 'control bit and version 3');
  });

  it('sends data in chunks of 32 KiB with FIN on the last only, and an empty FIN frame', () => {
    const frames = dataFrames(5, Buffer.alloc(70 * 1024), true);
    assert.equal(frames.length, 3);
    assert.deepEqual(frames.map((f) => f[4]), [0, 0, 1]);
    const [fin] = dataFrames(5, Buffer.alloc(0), true);
    assert.deepEqual([...fin!], [0, 0, 0, 5, 1, 0, 0, 0]);
  });

  it('header blocks round-trip, several values joined by NUL, names in lower case', () => {
    const block = encodeHeaderBlock(new Map([['StreamType', ['stdout']], ['x', ['a', 'b']]]));
    assert.deepEqual(decodeHeaderBlock(block), new Map([['streamtype', ['stdout']], ['x', ['a', 'b']]]));
  });

  it('header blocks of a connection share one zlib context with the dictionary, flushed per block', async () => {
    const dictionary = Buffer.from('streamtypestdoutstderr');
    const deflate = createDeflate({ dictionary });
    const inflate = createInflate({ dictionary });
    const through = (stream: typeof deflate | typeof inflate, input: Buffer) =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        const onData = (c: Buffer) => chunks.push(c);
        stream.on('data', onData);
        stream.write(input);
        stream.flush(constants.Z_SYNC_FLUSH, () => {
          stream.off('data', onData);
          resolve(Buffer.concat(chunks));
        });
      });
    for (const type of ['error', 'stdout', 'stderr']) {
      const block = encodeHeaderBlock(new Map([['streamtype', [type]]]));
      const wire = await through(deflate, block);
      assert.deepEqual(decodeHeaderBlock(await through(inflate, wire)).get('streamtype'), [type]);
    }
    deflate.destroy();
    inflate.destroy();
  });
});
