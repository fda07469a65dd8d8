import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { buildKubeconfig } from '../kubeconfig.js';
import { kubeconfigPath, loadKubeConfig } from './client.js';

const dir = mkdtempSync(join(tmpdir(), 'meshwork-client-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfigFile(name: string, context: string): string {
  const file = join(dir, name);
  writeFileSync(file, buildKubeconfig([{ name: context, server: 'https://127.210.0.1:6443', caPem: '', token: 't' }], context));
  return file;
}

describe('which kubeconfig a client reads: the local clusters\' only when the caller names it', () => {
  let saved: { KUBECONFIG?: string; HOME?: string };
  beforeEach(() => {
    saved = { ...(process.env.KUBECONFIG !== undefined ? { KUBECONFIG: process.env.KUBECONFIG } : {}), ...(process.env.HOME !== undefined ? { HOME: process.env.HOME } : {}) };
    delete process.env.KUBECONFIG;
    process.env.HOME = join(dir, 'home');
  });
  afterEach(() => {
    delete process.env.KUBECONFIG;
    Object.assign(process.env, saved);
  });

  it('no --kubeconfig, no $KUBECONFIG: the local clusters\' kubeconfig the caller passes', () => {
    const local = kubeconfigFile('local', 'cluster-1');
    assert.equal(loadKubeConfig({ localKubeconfig: local }).getCurrentContext(), 'cluster-1');
    assert.equal(kubeconfigPath({ localKubeconfig: local }), resolve(local));
  });

  it('$KUBECONFIG and --kubeconfig come first', () => {
    const local = kubeconfigFile('local', 'cluster-1');
    process.env.KUBECONFIG = kubeconfigFile('env', 'from-env');
    assert.equal(loadKubeConfig({ localKubeconfig: local }).getCurrentContext(), 'from-env');
    assert.equal(loadKubeConfig({ kubeconfig: kubeconfigFile('flag', 'from-flag'), localKubeconfig: local }).getCurrentContext(), 'from-flag');
    assert.equal(kubeconfigPath({ localKubeconfig: local }), resolve(join(dir, 'env')));
  });

  it('without the caller naming one, the state folder in the working directory is not read', () => {
    const cwd = process.cwd();
    mkdirSync(join(dir, '.meshwork'), { recursive: true });
    kubeconfigFile('.meshwork/kubeconfig', 'state-folder');
    process.chdir(dir);
    try {
      assert.equal(kubeconfigPath({}), join(dir, 'home', '.kube', 'config'));
      assert.equal(kubeconfigPath({ localKubeconfig: join(dir, 'missing') }), join(dir, 'home', '.kube', 'config'), 'a local kubeconfig that does not exist is passed over');
      assert.equal(kubeconfigPath({ localKubeconfig: '.meshwork/kubeconfig' }), join(dir, '.meshwork', 'kubeconfig'));
    } finally {
      process.chdir(cwd);
    }
  });
});
