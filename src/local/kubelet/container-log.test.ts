import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ContainerLog, readLogFile } from './container-log.js';

describe('container logs rotate as the kubelet rotates them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-logs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the current file under maxBytes and at most maxFiles files; kubectl logs reads the newest lines', async () => {
    const log = new ContainerLog(dir, 'sample', 'chatty-1', 'app', { maxBytes: 4096, maxFiles: 3 });
    log.startInstance();
    const out = new PassThrough();
    const captured = log.capture(out, 'stdout');
    for (let i = 0; i < 2000; i++) out.write(`line ${i} ${'x'.repeat(40)}\n`);
    out.end();
    await captured;
    assert.ok(statSync(log.current).size <= 4096, `current log is ${statSync(log.current).size} bytes`);
    assert.deepEqual(log.rotatedFiles().map((f) => f.slice(log.current.length)), ['.1', '.2']);
    for (const f of log.rotatedFiles()) assert.ok(statSync(f).size <= 4096);
    const lines = readLogFile(log.current);
    assert.equal(lines.at(-1)?.text, `line 1999 ${'x'.repeat(40)}\n`);
    // The newest rotated file ends where the current one begins.
    const rotated = readLogFile(log.rotatedFiles()[0]!);
    assert.equal(Number(/^line (\d+)/.exec(rotated.at(-1)!.text)![1]) + 1, Number(/^line (\d+)/.exec(lines[0]!.text)![1]));
    log.endInstance();
    log.startInstance();
    assert.deepEqual(log.rotatedFiles(), [], 'a new instance starts without rotated files');
    assert.match(readFileSync(log.previous, 'utf8'), /line 1999/);
    log.remove();
  });
});
