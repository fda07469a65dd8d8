import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { type KubeconfigEntry, buildKubeconfig, mergeKubeconfigFile } from './kubeconfig.js';

const run = promisify(execFile);

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

function entry(name: string, octet: number): KubeconfigEntry {
  return { name, server: `https://127.${octet}.0.1:6443`, caPem: CA_PEM, token: `token-${name}` };
}

async function kubectl(file: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', ['--kubeconfig', file, ...args], { timeout: 20_000 });
  return stdout;
}

describe('kubeconfig', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshwork-kubeconfig-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds a kubeconfig kubectl reads: contexts, server, CA data, token', async () => {
    const file = join(dir, 'built');
    writeFileSync(file, buildKubeconfig([entry('cluster-1', 10), entry('cluster-2', 20)], 'cluster-2'));
    assert.equal(await kubectl(file, 'config', 'get-contexts', '-o', 'name'), 'cluster-1\ncluster-2\n');
    assert.equal(await kubectl(file, 'config', 'current-context'), 'cluster-2\n');
    const view = JSON.parse(await kubectl(file, 'config', 'view', '--raw', '-o', 'json', '--context', 'cluster-1', '--minify'));
    assert.equal(view.clusters[0].cluster.server, 'https://127.10.0.1:6443');
    assert.equal(Buffer.from(view.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8'), CA_PEM);
    assert.equal(view.users[0].user.token, 'token-cluster-1');
    assert.deepEqual(view.contexts[0].context, { cluster: 'cluster-1', user: 'cluster-1' });
  });

  it('refuses a current context that is not defined', () => {
    assert.throws(() => buildKubeconfig([entry('cluster-1', 10)], 'cluster-9'), /current context "cluster-9"/);
  });

  it('merges into an existing file, keeping unrelated entries, with mode 0600', async () => {
    const file = join(dir, 'config');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: prod',
        '  cluster: {server: "https://10.9.9.9"}',
        '- name: cluster-1',
        '  cluster: {server: "https://old"}',
        'contexts:',
        '- name: prod',
        '  context: {cluster: prod, user: admin, namespace: web}',
        'users:',
        '- name: admin',
        '  user: {token: keep-me}',
        'current-context: prod',
        'preferences: {colors: true}',
        'extensions: []',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    mergeKubeconfigFile(file, [entry('cluster-1', 10), entry('cluster-2', 20)], 'cluster-1');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(await kubectl(file, 'config', 'get-contexts', '-o', 'name'), 'cluster-1\ncluster-2\nprod\n');
    assert.equal(await kubectl(file, 'config', 'current-context'), 'cluster-1\n');
    const doc = parse(readFileSync(file, 'utf8'));
    assert.deepEqual(
      doc.clusters.map((c: { name: string; cluster: { server: string } }) => `${c.name} ${c.cluster.server}`),
      ['prod https://10.9.9.9', 'cluster-1 https://127.10.0.1:6443', 'cluster-2 https://127.20.0.1:6443'],
    );
    assert.deepEqual(doc.users.map((u: { name: string }) => u.name), ['admin', 'cluster-1', 'cluster-2']);
    assert.equal(doc.users[0].user.token, 'keep-me');
    assert.deepEqual(doc.preferences, { colors: true });
    assert.equal(doc.contexts[0].context.namespace, 'web');

    mergeKubeconfigFile(file, [{ ...entry('cluster-2', 30), token: 'rotated' }], 'cluster-2');
    const again = parse(readFileSync(file, 'utf8'));
    assert.equal(again.clusters.length, 3, 'no duplicate entries on a second merge');
    assert.equal(again.users.find((u: { name: string }) => u.name === 'cluster-2').user.token, 'rotated');
    assert.equal(await kubectl(file, 'config', 'current-context'), 'cluster-2\n');
  });

  it('creates a missing file and its folder', async () => {
    const file = join(dir, 'new', 'sub', 'config');
    mergeKubeconfigFile(file, [entry('cluster-1', 10)], 'cluster-1');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(await kubectl(file, 'config', 'get-contexts', '-o', 'name'), 'cluster-1\n');
  });

  it('leaves a file that is not a kubeconfig untouched', () => {
    const file = join(dir, 'broken');
    writeFileSync(file, '- just\n- a list\n');
    assert.throws(() => mergeKubeconfigFile(file, [entry('cluster-1', 10)], 'cluster-1'), /not a kubeconfig/);
    assert.equal(readFileSync(file, 'utf8'), '- just\n- a list\n');
  });
});
