// kubectl exec and kubectl logs against the server, with a pod runtime that runs commands on this host.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { findByPlural } from '../../k8s/kinds.js';
import { notFound, StatusError } from '../../k8s/status.js';
import type { ExecRequest, LogRequest, PodRuntime } from '../kubelet/runtime.js';
import type { TestCluster } from './test-support.js';
import { startTestCluster } from './test-support.js';

const PODS = findByPlural('', 'pods')!;

/** Runs exec'd commands as local processes; logs are fixed lines (and a tick per 50 ms with follow). */
class LocalRuntime implements PodRuntime {
  readonly logRequests: LogRequest[] = [];
  readonly execRequests: Array<Omit<ExecRequest, 'stdin' | 'stdout' | 'stderr' | 'signal'>> = [];

  exec(req: ExecRequest): Promise<{ exitCode: number }> {
    this.execRequests.push({ namespace: req.namespace, pod: req.pod, container: req.container, command: req.command, tty: req.tty });
    if (req.container === 'missing') throw new StatusError(400, 'BadRequest', `container missing is not valid for pod ${req.pod}`);
    return new Promise((resolve) => {
      const child = spawn(req.command[0], req.command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], signal: req.signal });
      if (req.stdin) req.stdin.pipe(child.stdin);
      else child.stdin.end();
      child.stdout.pipe(req.stdout, { end: false });
      child.stderr.pipe(req.stderr, { end: false });
      child.on('error', () => resolve({ exitCode: 127 }));
      child.on('close', (code) => resolve({ exitCode: code ?? 137 }));
    });
  }

  logs(req: LogRequest): Readable {
    this.logRequests.push(req);
    if (req.pod === 'ghost') throw notFound(PODS, 'ghost');
    const lines = ['line 1', 'line 2', 'line 3'].slice(-(req.tailLines ?? 3)).map((l) => (req.timestamps ? `2024-01-01T00:00:00Z ${l}` : l));
    if (!req.follow) return Readable.from(lines.map((l) => `${l}\n`));
    let n = 0;
    const stream = new Readable({ read() {} });
    for (const l of lines) stream.push(`${l}\n`);
    const timer = setInterval(() => {
      n++;
      stream.push(`tick ${n}\n`);
      if (n === 3) {
        clearInterval(timer);
        stream.push(null);
      }
    }, 50);
    req.signal.addEventListener('abort', () => clearInterval(timer));
    return stream;
  }
}

describe('pods/exec and pods/log', () => {
  let c: TestCluster;
  const runtime = new LocalRuntime();

  before(async () => {
    c = await startTestCluster({ podRuntime: runtime });
    c.store.create(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sleep', namespace: 'default' },
      spec: { containers: [{ name: 'sleep', image: 'curl' }] },
      status: { phase: 'Running' },
    });
  });
  after(() => c.close());

  test('kubectl exec runs the command and prints its output', async () => {
    const r = await c.kubectl(['exec', 'sleep', '--', 'sh', '-c', 'echo hello; echo oops >&2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    assert.match(r.stderr, /oops/);
    assert.deepEqual(runtime.execRequests.at(-1)?.command, ['sh', '-c', 'echo hello; echo oops >&2']);
    assert.equal(runtime.execRequests.at(-1)?.pod, 'sleep');
  });

  test('the exit code of the command is kubectl exec\'s exit code', async () => {
    const r = await c.kubectl(['exec', 'sleep', '--', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /command terminated with exit code 3/);
  });

  test('kubectl exec -i streams stdin to the command and sees its end', async () => {
    const input = 'first line\nsecond line\n'.repeat(200);
    const r = await c.kubectl(['exec', '-i', 'sleep', '-c', 'sleep', '--', 'cat'], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, input);
    assert.equal(runtime.execRequests.at(-1)?.container, 'sleep');
  });

  test('errors of the runtime reach kubectl', async () => {
    const r = await c.kubectl(['exec', 'sleep', '-c', 'missing', '--', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /container missing is not valid for pod sleep/);
  });

  test('exec into a pod that does not exist is 404 before any upgrade', async () => {
    const r = await c.kubectl(['exec', 'nope', '--', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pods "nope" not found/);
  });

  test('a SPDY upgrade gets a clear error', async () => {
    const res = await new Promise<{ status: number; body: string }>(async (resolve, reject) => {
      const { request } = await import('node:https');
      const req = request(`${c.server.url}/api/v1/namespaces/default/pods/sleep/exec?command=true&stdout=true`, {
        method: 'POST',
        ca: c.caPem,
        headers: { Authorization: 'Bearer test-token-0123456789', Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
      });
      req.on('response', (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('unexpected upgrade')));
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 400);
    assert.match(res.body, /SPDY is not supported/);
  });

  test('kubectl logs with tail and timestamps', async () => {
    const r = await c.kubectl(['logs', 'sleep', '--tail=2', '--timestamps']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2024-01-01T00:00:00Z line 2\n2024-01-01T00:00:00Z line 3\n');
    const req = runtime.logRequests.at(-1)!;
    assert.equal(req.tailLines, 2);
    assert.equal(req.timestamps, true);
    assert.equal(req.follow, false);
  });

  test('kubectl logs -f follows until the stream ends', async () => {
    const r = await c.kubectl(['logs', '-f', 'sleep', '-c', 'sleep']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'line 1\nline 2\nline 3\ntick 1\ntick 2\ntick 3\n');
    assert.equal(runtime.logRequests.at(-1)?.follow, true);
    assert.equal(runtime.logRequests.at(-1)?.container, 'sleep');
  });

  test('logs of a pod the runtime does not know are its 404', async () => {
    c.store.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ghost', namespace: 'default' }, spec: { containers: [{ name: 'a', image: 'x' }] } });
    const r = await c.kubectl(['logs', 'ghost']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pods "ghost" not found/);
  });

  test('every request is in the audit log with kubectl\'s command', () => {
    assert.ok(c.auditLines.some((l) => /GET \/api\/v1\/namespaces\/default\/pods\/sleep\/log\S* 200 .*kubectl-command="kubectl logs"/.test(l)), c.auditLines.join('\n'));
    assert.ok(c.auditLines.some((l) => /\/pods\/sleep\/exec\S* 101 .*kubectl-command="kubectl exec"/.test(l)));
  });
});
