import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeImage } from '../apps/catalog.js';
import { planContainer, resolveExecutable } from './launch-plan.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

test('normalizeImage drops registry, library/, tag and digest', () => {
  assert.equal(normalizeImage('docker.io/istio/examples-helloworld-v1:1.0'), 'istio/examples-helloworld-v1');
  assert.equal(normalizeImage('istio/examples-helloworld-v2'), 'istio/examples-helloworld-v2');
  assert.equal(normalizeImage('index.docker.io/library/busybox@sha256:abc'), 'busybox');
  assert.equal(normalizeImage('localhost:5000/curl'), 'localhost:5000/curl');
});

test('helloworld images become the built-in app with version and port', () => {
  const p1 = planContainer({ name: 'h', image: 'docker.io/istio/examples-helloworld-v1', ports: [{ containerPort: 5000 }] }, env, '/');
  assert.equal(p1.kind, 'process');
  if (p1.kind !== 'process') return;
  assert.equal(p1.exitWithKubelet, true);
  assert.equal(p1.readyPort, 5000);
  assert.ok(p1.argv.some((a) => /helloworld\.(ts|js)$/.test(a)));
  assert.ok(p1.argv.includes('--version=v1'));
  const p2 = planContainer({ name: 'h', image: 'istio/examples-helloworld-v2:latest', ports: [{ containerPort: 9080 }] }, env, '/');
  assert.ok(p2.kind === 'process' && p2.argv.includes('--version=v2') && p2.argv.includes('--port=9080'));
  const p3 = planContainer({ name: 'h', image: 'istio/examples-helloworld-v1' }, env, '/');
  assert.ok(p3.kind === 'process' && p3.readyPort === 5000);
});

test('a command found on this machine runs for real, whatever the image', () => {
  const p = planContainer({ name: 's', image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'] }, env, '/');
  assert.deepEqual(p.kind === 'process' && p.argv, ['/bin/sleep', 'infinity']);
  const q = planContainer({ name: 's', image: 'busybox', args: ['sleep', '5'] }, env, '/');
  assert.ok(q.kind === 'process' && q.argv[0].endsWith('/sleep') && q.argv[1] === '5');
});

test('tool images without a command idle and die with the kubelet', () => {
  const p = planContainer({ name: 's', image: 'curlimages/curl' }, env, '/');
  assert.ok(p.kind === 'process' && p.exitWithKubelet && p.argv[0].endsWith('/cat'));
});

test('anything else is unavailable with a message listing the built-ins', () => {
  const p = planContainer({ name: 'x', image: 'nginx:1.25' }, env, '/');
  assert.equal(p.kind, 'unavailable');
  assert.match(p.kind === 'unavailable' ? p.message : '', /"nginx:1.25" is neither a built-in app.*examples-helloworld-v1/);
  const q = planContainer({ name: 'x', image: 'curlimages/curl', command: ['no-such-binary-here'] }, env, '/');
  assert.match(q.kind === 'unavailable' ? q.message : '', /command "no-such-binary-here" is not an executable/);
});

test('resolveExecutable', () => {
  assert.equal(resolveExecutable('sh', '/nonexistent:/bin', '/'), '/bin/sh');
  const dir = mkdtempSync(join(tmpdir(), 'launch-plan-'));
  writeFileSync(join(dir, 'data'), 'x', { mode: 0o644 });
  assert.equal(resolveExecutable(join(dir, 'data'), '/bin', '/'), undefined, 'not executable');
  assert.equal(resolveExecutable('data', dir, '/'), undefined, 'not executable via PATH either');
  rmSync(dir, { recursive: true });
  assert.equal(resolveExecutable('nope-nope', '/bin', '/'), undefined);
});
