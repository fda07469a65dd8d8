// The supervised controller process with a stand-in command (a Node process that waits): recorded by pid,
// restarted after a kill -9, stopped without restart, a leftover of a killed host replaced.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordEnvoy } from '../envoy/pid-records.js';
import { processRunning } from '../os/proc.js';
import { ControllerProcess, controllerArgs } from './canary-controller-process.js';

const recorded = (dir: string) => {
  try {
    return readdirSync(dir).map((f) => Number(f.replace('.pid', '')));
  } catch {
    return [];
  }
};

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('the controller command line is the contract\'s', () => {
  assert.deepEqual(controllerArgs({ kubeconfig: '/s/kubeconfig', context: 'cluster-1', auditLog: '/s/canary-audit.log' }), ['canary', 'controller', '--kubeconfig', '/s/kubeconfig', '--context', 'cluster-1', '--audit-log', '/s/canary-audit.log']);
});

test('recorded by pid, restarted with back-off after kill -9, stopped for good by stop(); a leftover is replaced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'canary-controller-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const auditLog = join(dir, 'canary-audit.log');
  const pids = join(dir, 'controller-pids');
  const command = { file: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', auditLog] };
  // A controller a killed earlier host left running, recorded with this folder's audit log.
  const leftover = spawn(command.file, command.args, { stdio: 'ignore' });
  recordEnvoy(pids, leftover.pid!, auditLog);
  const lines: string[] = [];
  const ctl = new ControllerProcess({ kubeconfig: join(dir, 'kubeconfig'), context: 'cluster-1', auditLog, logFile: join(dir, 'c.log'), pidRecords: pids, log: (l) => lines.push(l), command, backoff: { initialMs: 50, maxMs: 200, multiplier: 2, jitter: 0 } });
  t.after(() => ctl.stop());
  ctl.start();
  await until('the leftover to die', () => leftover.exitCode !== null || leftover.signalCode !== null);
  assert.match(lines.join('\n'), new RegExp(`killed leftover canary controller ${leftover.pid}`));
  const first = ctl.pid!;
  assert.deepEqual(recorded(pids), [first]);

  process.kill(first, 'SIGKILL');
  await until('a new controller', () => ctl.pid !== undefined && ctl.pid !== first);
  const second = ctl.pid!;
  await until('the new pid recorded', () => recorded(pids).join() === String(second));
  assert.equal(ctl.restarts, 1);
  assert.match(lines.join('\n'), /canary controller exited \(SIGKILL\); restarting in 50 ms \(restart 1\)/);

  await ctl.stop();
  assert.equal(processRunning(second), false);
  await sleep(150);
  assert.equal(ctl.pid, undefined, 'no restart after stop');
  assert.deepEqual(recorded(pids), []);
});
