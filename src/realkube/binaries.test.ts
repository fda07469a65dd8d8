// scripts/ensure-kube-binaries.mjs --where: binaries the user brings (KUBEBUILDER_ASSETS in envtest's
// layout, flags) win over the built ones, and wrong ones are named.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { locateKubeBinaries } from './binaries.js';

const dir = mkdtempSync(join(tmpdir(), 'meshwork-kube-binaries-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fakeBinary(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, 0o755);
  return path;
}

function withAssets<T>(assets: string | undefined, body: () => T): T {
  const saved = process.env['KUBEBUILDER_ASSETS'];
  if (assets === undefined) delete process.env['KUBEBUILDER_ASSETS'];
  else process.env['KUBEBUILDER_ASSETS'] = assets;
  try {
    return body();
  } finally {
    if (saved === undefined) delete process.env['KUBEBUILDER_ASSETS'];
    else process.env['KUBEBUILDER_ASSETS'] = saved;
  }
}

test('KUBEBUILDER_ASSETS (envtest: kube-apiserver, etcd) is used; a flag wins over it', () => {
  const assets = join(dir, 'envtest');
  const apiserver = fakeBinary(join(assets, 'kube-apiserver'));
  const etcd = fakeBinary(join(assets, 'etcd'));
  const ownEtcd = fakeBinary(join(dir, 'own', 'etcd'));
  const found = withAssets(assets, () => locateKubeBinaries({ etcd: ownEtcd }));
  assert.equal(found.version, 'v1.34.4');
  assert.deepEqual(found['kube-apiserver'], { path: apiserver, from: 'KUBEBUILDER_ASSETS' });
  assert.deepEqual(found.etcd, { path: ownEtcd, from: 'flag' });
  assert.notEqual(found.etcd?.path, etcd);
  // envtest ships no kube-controller-manager: it comes from the build cache or is missing, never from assets.
  assert.notEqual(found['kube-controller-manager']?.from, 'KUBEBUILDER_ASSETS');
});

test('a KUBEBUILDER_ASSETS without kube-apiserver, or a flag that is no executable, is named', () => {
  const empty = join(dir, 'empty');
  mkdirSync(empty, { recursive: true });
  assert.throws(() => withAssets(empty, () => locateKubeBinaries()), /KUBEBUILDER_ASSETS=.*empty has no executable kube-apiserver/);
  assert.throws(() => withAssets(undefined, () => locateKubeBinaries({ 'kube-apiserver': join(dir, 'nope') })), /--kube-apiserver .*nope: not an executable file/);
});
