import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { locateEnvoy } from './locate.js';

const dir = mkdtempSync(join(tmpdir(), 'meshwork-locate-'));
function fakeEnvoy(sub: string): string {
  mkdirSync(join(dir, sub), { recursive: true });
  const path = join(dir, sub, 'envoy');
  writeFileSync(path, '#!/bin/sh\necho "envoy  version: abc/1.40.0/Clean/RELEASE/BoringSSL"\n');
  chmodSync(path, 0o755);
  return path;
}

describe('locateEnvoy', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));
  const explicit = fakeEnvoy('explicit');
  const fromEnv = fakeEnvoy('env');
  const project = fakeEnvoy('project');
  const onPath = fakeEnvoy('path');

  it('takes --envoy, then MESHWORK_ENVOY, then the project folder, then PATH', () => {
    const env = { MESHWORK_ENVOY: fromEnv, PATH: join(dir, 'path') };
    assert.deepEqual(locateEnvoy({ explicit, env, projectPath: project }), { path: explicit, source: '--envoy' });
    assert.deepEqual(locateEnvoy({ env, projectPath: project }), { path: fromEnv, source: 'MESHWORK_ENVOY' });
    assert.deepEqual(locateEnvoy({ env: { PATH: env.PATH }, projectPath: project }), { path: project, source: 'project' });
    assert.deepEqual(locateEnvoy({ env: { PATH: env.PATH }, projectPath: join(dir, 'none') }), { path: onPath, source: 'PATH' });
    assert.equal(locateEnvoy({ env: { PATH: join(dir, 'none') }, projectPath: join(dir, 'none') }), undefined);
  });

  it('a path the user named must be an executable: no silent fall-through to another Envoy', () => {
    assert.throws(() => locateEnvoy({ explicit: join(dir, 'missing'), projectPath: project }), /--envoy names .*missing, which is not an executable file/);
    assert.throws(() => locateEnvoy({ env: { MESHWORK_ENVOY: join(dir, 'missing') }, projectPath: project }), /MESHWORK_ENVOY names/);
  });
});
