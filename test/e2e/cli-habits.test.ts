// istioctl's and kubectl's habits on the real `meshwork` CLI against two local clusters: the
// `proxy-config TYPE POD.NS` form and the pc/ps aliases, one proxy's proxy-status diff, -n, `version`
// of the mesh, `analyze -f` merged with the clusters (and alone with --use-kube=false), `up -d` on
// running clusters, a cluster whose control plane is gone, and commands after `down` or without any
// kubeconfig.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshworkEnv, E2E_DATA_PLANE } from '../helpers/meshwork.js';
import { MESHWORK_BIN, scenarioDir } from '../helpers/paths.js';
import { podName } from '../helpers/traffic.js';
import { until } from '../helpers/until.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;

describe(`istioctl's and kubectl's habits on the meshwork CLI (${E2E_DATA_PLANE} data plane)`, { timeout: 600_000 }, () => {
  const env = new MeshworkEnv(50);
  const scratch = mkdtempSync(join(tmpdir(), 'meshwork-habits-'));
  const file = (name: string) => join(scenarioDir(), name);
  let sleep1 = '';

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', file('helloworld-destinationrule.yaml')]);
    }
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', file('sleep.yaml')]);
    const created = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(created.code, 0, created.stderr);
    for (const ctx of CONTEXTS) await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2, 90_000);
    await env.waitPodsReady('cluster-1', 'sample', 'app=sleep', 2, 90_000);
    sleep1 = await podName(env, 'cluster-1', 'sample', 'app=sleep');
  });
  after(async () => {
    await env.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('up -d on running clusters says they run and how to stop them; no second host is started', async () => {
    const before = JSON.parse(readFileSync(join(env.stateDir, 'state.json'), 'utf8')) as { pid: number };
    const again = await env.up(2);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`already running \\(pid ${before.pid},`));
    assert.match(again.stdout, /cluster-1: running at https:\/\/127\.50\.0\.1:6443/);
    assert.match(again.stdout, /Stop them with: meshwork down --state-dir /);
    const after = JSON.parse(readFileSync(join(env.stateDir, 'state.json'), 'utf8')) as { pid: number };
    assert.equal(after.pid, before.pid);
  });

  test('proxy-config TYPE POD.NS (and the pc alias) shows what proxy-config POD -n NS --type TYPE shows', async () => {
    const istioctlForm = await env.meshwork(['pc', 'routes', `${sleep1}.sample`, '--context', 'cluster-1']);
    assert.equal(istioctlForm.code, 0, istioctlForm.stderr);
    const flagForm = await env.meshwork(['proxy-config', sleep1, '-n', 'sample', '--type', 'routes', '--context', 'cluster-1']);
    assert.equal(flagForm.code, 0, flagForm.stderr);
    assert.equal(istioctlForm.stdout, flagForm.stdout);
    assert.match(istioctlForm.stdout, /helloworld\.sample\.svc\.cluster\.local:5000/);

    const clusters = await env.meshwork(['proxy-config', 'cluster', `${sleep1}.sample`, '--context', 'cluster-1']);
    assert.equal(clusters.code, 0, clusters.stderr);
    assert.match(clusters.stdout, /^SERVICE FQDN/);
    assert.match(clusters.stdout, /helloworld\.sample\.svc\.cluster\.local\s+5000\s+v2\s+outbound\s+EDS/);

    const wrong = await env.meshwork(['pc', 'rutes', `${sleep1}.sample`, '--context', 'cluster-1']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /unknown config type "rutes": use all, listeners, routes/);
  });

  test('ps lists the proxies of both clusters; -n narrows them to a namespace', async () => {
    const all = await env.meshwork(['ps']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, new RegExp(`^${sleep1}\\.sample\\s+cluster-1\\s+CONNECTED`, 'm'));
    assert.match(all.stdout, /^helloworld-v2-\S+\.sample\s+cluster-2\s+CONNECTED/m);
    await env.kubectlOk('cluster-1', ['create', 'namespace', 'other']);
    const inOther = await env.meshwork(['ps', '-n', 'other']);
    assert.equal(inOther.code, 0, inOther.stderr);
    assert.doesNotMatch(inOther.stdout, /\.sample\s/);
    const both = await env.meshwork(['ps', '-n', 'sample', '-A']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /-A\/--all-namespaces and -n\/--namespace exclude each other/);
  });

  test('proxy-status POD.NS compares the proxy\'s config with what its control plane sends, type by type', async () => {
    // The proxy may still be taking the last push of create-mesh: it matches once it has.
    const res = await until('every type to match', 30_000, async () => {
      const r = await env.meshwork(['proxy-status', `${sleep1}.sample`, '--context', 'cluster-1']);
      return r.code === 0 && !/Don't Match/.test(r.stdout) ? r : undefined;
    });
    assert.match(res.stdout, /^Clusters Match$/m);
    assert.match(res.stdout, /^Listeners Match$/m);
    assert.match(res.stdout, /^Routes Match \(RDS last loaded at .+\)$/m);
    assert.match(res.stdout, /^Endpoints Match$/m);

    const json = await env.meshwork(['ps', sleep1, '-n', 'sample', '--context', 'cluster-1', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const types = (JSON.parse(json.stdout) as { types: Array<{ type: string; match: boolean }> }).types;
    assert.deepEqual(types.map((t) => t.type), ['Clusters', 'Listeners', 'Routes', 'Endpoints']);
  });

  test('version: the client, the control plane of each cluster, the data plane versions counted over the connected proxies', async () => {
    const ps = await env.meshwork(['ps', '-o', 'json']);
    const rows = JSON.parse(ps.stdout) as Array<{ version: string; status: { state: string } }>;
    const connected = rows.filter((r) => r.status.state !== 'DISCONNECTED');
    const res = await env.meshwork(['version']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^client version: \d+\.\d+\.\d+/m);
    for (const ctx of CONTEXTS) assert.match(res.stdout, new RegExp(`^control plane version \\(${ctx}\\): \\d+\\.\\d+\\.\\d+ \\(istiod-asm-managed-stable-\\S+, revision asm-managed-stable\\)$`, 'm'));
    const versions = [...new Set(connected.map((r) => r.version))];
    assert.equal(versions.length, 1, JSON.stringify(versions));
    assert.match(res.stdout, new RegExp(`^data plane version: ${versions[0]} \\(${connected.length} proxies\\)$`, 'm'));
  });

  test('analyze -f merges the file with both clusters (their DestinationRule, their pods); --use-kube=false analyzes it alone; a misspelt field is named with the right one', async () => {
    const typo = join(scratch, 'typo.yaml');
    writeFileSync(typo, [
      'apiVersion: networking.istio.io/v1', 'kind: VirtualService', 'metadata: {name: helloworld-typo, namespace: sample}',
      'spec:', '  hosts: [helloworld]', '  http:', '  - route:', '    - destination: {host: helloworld, subset: v9}', '      wieght: 100', '',
    ].join('\n'));
    const merged = await env.meshwork(['analyze', '-f', typo]);
    assert.equal(merged.code, 79, merged.stderr);
    assert.match(merged.stdout, /^Error \[IST0106\] \(VirtualService sample\/helloworld-typo\) Schema validation error: unknown field "wieght" in VirtualService; did you mean "weight"\? \(at spec\.http\[0\]\.route\[0\]\.wieght\)$/m);
    // The cluster's DestinationRule is known: the subset is checked against it.
    assert.match(merged.stdout, /subset "v9" is not defined in DestinationRule sample\/helloworld \(it defines v1, v2\)/);
    // v2 runs in cluster-2 only: merged with both clusters, its subset has endpoints.
    assert.doesNotMatch(merged.stdout, /subset "v2" selects no endpoint/);
    assert.match(merged.stderr, /with the \d+ of context\(s\) cluster-1, cluster-2/);

    const alone = await env.meshwork(['analyze', '-f', typo, '--use-kube=false']);
    assert.equal(alone.code, 79, alone.stderr);
    assert.match(alone.stdout, /unknown field "wieght" in VirtualService; did you mean "weight"\?/);
    assert.match(alone.stdout, /destination host "helloworld" \(resolved to helloworld\.sample\.svc\.cluster\.local\) matches no service in the mesh/);
  });

  test('proxy-status names a cluster whose control plane is gone, and still lists the other cluster\'s proxies', async () => {
    await env.kubectlOk('cluster-2', ['scale', 'deployment', 'istiod-asm-managed-stable', '-n', 'istio-system', '--replicas=0']);
    await until('the control plane of cluster-2 to be gone', 60_000, async () =>
      (await env.kubectlOk('cluster-2', ['get', 'pods', '-n', 'istio-system', '-l', 'app=istiod', '-o', 'name'])).trim() === '' ? true : undefined);
    const res = await env.meshwork(['ps']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /^warning: proxies of cluster-2 are not listed: no running control plane/m);
    assert.match(res.stdout, new RegExp(`^${sleep1}\\.sample\\s+cluster-1\\s+CONNECTED`, 'm'));
    assert.doesNotMatch(res.stdout, /\scluster-2\s/);
  });

  test('after down, a command says the clusters are stopped and what starts them; without any kubeconfig, which files it looked for', async () => {
    const down = await env.meshwork(['down']);
    assert.equal(down.code, 0, down.stderr);
    for (const args of [['ps'], ['pc', 'routes', `${sleep1}.sample`], ['analyze'], ['apply', '-f', file('sleep.yaml')]]) {
      const res = await env.meshwork(args);
      assert.equal(res.code, 1, `${args.join(' ')}: ${res.stdout}`);
      assert.match(res.stderr, new RegExp(`the local clusters of ${env.stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} are stopped .*run \`meshwork up -d --state-dir `), args.join(' '));
    }
    const home = join(scratch, 'home');
    const nowhere = spawnSync(process.execPath, [MESHWORK_BIN, 'ps'], { cwd: scratch, env: { ...process.env, KUBECONFIG: '', HOME: home }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(nowhere.status, 1, nowhere.stdout);
    assert.match(nowhere.stderr, new RegExp(`no kubeconfig: KUBECONFIG is not set, and neither ${scratch}/\\.meshwork/kubeconfig nor ${home}/\\.kube/config exists`));
    assert.match(nowhere.stderr, /meshwork up -d/);
  });
});
