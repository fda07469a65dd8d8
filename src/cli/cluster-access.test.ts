import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chosenKubeconfig, clusterAccessProblem, kubeconfigOrLocal } from './cluster-access.js';

const dir = mkdtempSync(join(tmpdir(), 'meshwork-access-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function stateDir(name: string, pid: number): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  writeFileSync(join(d, 'state.json'), JSON.stringify({ pid, startedAt: 'x', ready: true, clusters: [] }));
  return d;
}

describe('can a command reach its clusters', () => {
  const home = join(dir, 'home');

  it('no KUBECONFIG, no state folder, no ~/.kube/config: names both files it looked for', () => {
    const problem = clusterAccessProblem({ stateDir: join(dir, 'none'), home });
    assert.equal(problem, `no kubeconfig: KUBECONFIG is not set, and neither ${join(dir, 'none', 'kubeconfig')} nor ${join(home, '.kube', 'config')} exists. Start local clusters with \`meshwork up -d\` (in this folder), or pass --kubeconfig / set KUBECONFIG`);
  });

  it('a stopped state folder (no live hosting process) says to run meshwork up, with its --state-dir', () => {
    const stopped = stateDir('stopped', 0);
    assert.equal(chosenKubeconfig({ stateDir: stopped, home }), join(stopped, 'kubeconfig'));
    assert.match(clusterAccessProblem({ stateDir: stopped, home }) ?? '', new RegExp(`^the local clusters of ${stopped} are stopped .*run \`meshwork up -d --state-dir ${stopped}\``));
    // The same through KUBECONFIG or --kubeconfig.
    assert.match(clusterAccessProblem({ env: join(stopped, 'kubeconfig'), stateDir: join(dir, 'none'), home }) ?? '', /are stopped/);
    assert.match(clusterAccessProblem({ kubeconfig: join(stopped, 'kubeconfig'), stateDir: join(dir, 'none'), home }) ?? '', /are stopped/);
  });

  it('running clusters, or a kubeconfig outside any state folder, are no problem; a named file that is absent is', () => {
    assert.equal(clusterAccessProblem({ stateDir: stateDir('running', process.pid), home }), undefined);
    const plain = join(dir, 'plain.yaml');
    writeFileSync(plain, 'apiVersion: v1\nkind: Config\n');
    assert.equal(clusterAccessProblem({ kubeconfig: plain, stateDir: join(dir, 'none'), home }), undefined);
    assert.equal(clusterAccessProblem({ kubeconfig: join(dir, 'gone'), stateDir: join(dir, 'none'), home }), `kubeconfig ${join(dir, 'gone')} (from --kubeconfig) does not exist`);
  });
});

describe('kubeconfigOrLocal: what a cluster command hands to the client', () => {
  it('--kubeconfig, else the state folder\'s kubeconfig when $KUBECONFIG is unset and it exists, else none', () => {
    const saved = process.env.KUBECONFIG;
    try {
      delete process.env.KUBECONFIG;
      const running = stateDir('handed', process.pid);
      assert.equal(kubeconfigOrLocal('/x/kubeconfig', running), '/x/kubeconfig');
      assert.equal(kubeconfigOrLocal(undefined, running), join(running, 'kubeconfig'));
      assert.equal(kubeconfigOrLocal(undefined, join(dir, 'none')), undefined);
      process.env.KUBECONFIG = '/y/kubeconfig';
      assert.equal(kubeconfigOrLocal(undefined, running), undefined, 'client-node reads $KUBECONFIG itself');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});
