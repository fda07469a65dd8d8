import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { matchImage } from './catalog.js';
import { bindGreeter, createGreeterServer, sayHello } from './grpc-greeter.js';

const MODULE = new URL(`./grpc-greeter${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

test('SayHello answers with the name, version and instance to a plain grpc-js client', async (t) => {
  const server = createGreeterServer({ version: 'v2', instance: 'greeter-v2-abc' });
  const port = await bindGreeter(server, '127.0.0.1', 0);
  t.after(() => server.forceShutdown());
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  assert.deepEqual(await sayHello(client, 'world'), { message: 'Hello world from version: v2, instance: greeter-v2-abc' });
  assert.deepEqual(await sayHello(client, ''), { message: 'Hello  from version: v2, instance: greeter-v2-abc' });
});

test('an unknown method is UNIMPLEMENTED, not answered', async (t) => {
  const server = createGreeterServer({ version: 'v1', instance: 'x' });
  const port = await bindGreeter(server, '127.0.0.1', 0);
  t.after(() => server.forceShutdown());
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const err = await new Promise<grpc.ServiceError | null>((resolve) => {
    client.makeUnaryRequest('/helloworld.Greeter/SayGoodbye', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e));
  });
  assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
});

test('the catalog runs meshwork/examples-grpc-greeter-vN images as this app on port 7070 by default', () => {
  const m = matchImage('docker.io/meshwork/examples-grpc-greeter-v2:1.0');
  assert.ok(m && m.kind === 'app');
  assert.equal(m.app.name, 'grpc-greeter');
  assert.equal(m.app.defaultPort, 7070);
  assert.deepEqual(m.app.args(m.match, 7070, []), ['--version=v2', '--port=7070']);
});

test('as a process it binds MESHWORK_BIND_IP:port, names its pod, and exits when stdin closes', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(MODULE), '--version=v1', `--port=${port}`], {
    env: { ...process.env, MESHWORK_BIND_IP: '127.0.0.1', HOSTNAME: 'greeter-v1-pod', MESHWORK_EXIT_WITH_STDIN: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!stdout.includes('serving')) {
    if (child.exitCode !== null) assert.fail(`grpc-greeter exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) assert.fail(`grpc-greeter did not start: ${stdout}${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    assert.deepEqual(await sayHello(client, 'kubelet'), { message: 'Hello kubelet from version: v1, instance: greeter-v1-pod' });
  } finally {
    client.close();
  }
  const exited = once(child, 'exit');
  child.stdin.end();
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, stderr);
  assert.match(stderr, /stdin closed/);
});
