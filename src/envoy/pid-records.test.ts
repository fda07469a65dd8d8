import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killRecordedEnvoys, recordEnvoy } from './pid-records.js';

describe('Envoy pid records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-pids-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('kills a recorded process that still runs with its bootstrap, never a reused pid, and forgets every record', async () => {
    const bootstrap = join(dir, 'edge-bootstrap.json');
    // Stands in for an orphaned Envoy: its command line names the bootstrap, as `envoy -c <bootstrap>` does.
    // (Node keeps its whole argument list in /proc/<pid>/cmdline; `bash -c` may exec its command and lose it.)
    const orphan = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', bootstrap], { stdio: 'ignore' });
    await new Promise((resolve) => orphan.once('spawn', resolve));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => orphan.once('exit', (_code, signal) => resolve(signal)));
    recordEnvoy(dir, orphan.pid!, bootstrap);
    // This test's own pid, recorded with another bootstrap: a reused pid must survive.
    recordEnvoy(dir, process.pid, join(dir, 'other-bootstrap.json'));
    recordEnvoy(dir, 2 ** 22 + 7, bootstrap);
    const lines: string[] = [];
    assert.deepEqual(killRecordedEnvoys(dir, (l) => lines.push(l)), [orphan.pid]);
    assert.equal(await exited, 'SIGKILL');
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.pid')), []);
    assert.match(lines.join('\n'), new RegExp(`killed leftover Envoy ${orphan.pid}`));
    assert.deepEqual(killRecordedEnvoys(join(dir, 'missing'), () => {}), []);
  });
});
