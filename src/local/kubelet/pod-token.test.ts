import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { ManualClock } from '../../clock.js';
import { honourTokenFiles } from '../../k8s/client/client.js';
import { PodServiceAccountToken, refreshDelayMs, type PodTokenIssuer } from './pod-token.js';

const POD = { namespace: 'sample', name: 'hello-1', uid: 'uid-1', serviceAccountName: 'default' };

describe('a pod\'s service-account token', () => {
  it('is written with the CA, the namespace and a kubeconfig that reads it, and refreshed at 80 % of its life', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pod-token-'));
    try {
      const clock = new ManualClock(1_000_000);
      let issued = 0;
      const issuer: PodTokenIssuer = {
        clusterName: 'cluster-1',
        server: 'https://127.10.0.1:6443',
        caPem: 'CA',
        issue: (pod, seconds) => ({ token: `token-${++issued}-${pod.name}`, expirationTimestamp: clock.now() + seconds * 1000 }),
      };
      const errors: string[] = [];
      const token = new PodServiceAccountToken(dir, POD, issuer, clock, (m) => errors.push(m));
      token.start();
      assert.equal(readFileSync(token.files.token, 'utf8'), 'token-1-hello-1');
      assert.equal(readFileSync(token.files.caCert, 'utf8'), 'CA');
      assert.equal(readFileSync(token.files.namespace, 'utf8'), 'sample');
      const kc = parse(readFileSync(token.files.kubeconfig, 'utf8')) as { users: Array<{ user: Record<string, string> }>; contexts: Array<{ context: { namespace: string } }> };
      assert.deepEqual(kc.users[0]?.user, { tokenFile: token.files.token });
      assert.equal(kc.contexts[0]?.context.namespace, 'sample');
      clock.advance(2880_000 - 1);
      assert.equal(readFileSync(token.files.token, 'utf8'), 'token-1-hello-1');
      clock.advance(1);
      assert.equal(readFileSync(token.files.token, 'utf8'), 'token-2-hello-1');
      token.stop();
      clock.advance(3600_000);
      assert.equal(issued, 2);
      assert.deepEqual(errors, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says why when no token can be issued, and tries again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pod-token-'));
    try {
      const clock = new ManualClock(0);
      let fail = true;
      const issuer: PodTokenIssuer = {
        clusterName: 'c',
        server: 'https://x',
        caPem: 'CA',
        issue: () => {
          if (fail) throw new Error('serviceaccount "default" not found in namespace sample');
          return { token: 't', expirationTimestamp: 3600_000 };
        },
      };
      const errors: string[] = [];
      const token = new PodServiceAccountToken(dir, POD, issuer, clock, (m) => errors.push(m));
      token.start();
      assert.deepEqual(errors, ['MountVolume.SetUp failed for volume "kube-api-access": serviceaccount "default" not found in namespace sample']);
      fail = false;
      clock.advance(10_000);
      assert.equal(readFileSync(token.files.token, 'utf8'), 't');
      token.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(refreshDelayMs(0, 3600_000), 2880_000);
  });

  it('client-node reads a kubeconfig\'s tokenFile user through its token-file provider', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pod-token-'));
    try {
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, 'the-pod-token');
      const file = join(dir, 'kubeconfig');
      writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {tokenFile: token}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`);
      const kc = new KubeConfig();
      kc.loadFromFile(file);
      honourTokenFiles(kc, [file]);
      const opts: { headers: Record<string, string> } = { headers: {} };
      await kc.applyToHTTPSOptions(opts);
      assert.equal(opts.headers.Authorization, 'Bearer the-pod-token');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
