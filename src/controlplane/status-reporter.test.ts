import { EXAMPLE_DIR } from '../../test/helpers/paths.js';
// The control plane writes its analysis findings into the status of its own cluster's Istio config, as
// istiod does: a local cluster, the real kubectl, and a raw ADS client standing in for a sidecar so
// that pushes can be counted. A status write must cause no rebuild and no push.

import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { applyObjects } from '../k8s/client/apply.js';
import { testCacerts } from '../security/pki/test-support.js';
import { parseManifests } from '../k8s/client/manifests.js';
import { startLocalCluster, type LocalCluster } from '../local/cluster.js';
import { buildKubeconfig } from '../k8s/kubeconfig.js';
import { TYPE_URLS } from '../xds/protos.js';
import { runControlPlane, type RunningControlPlane } from './control-plane.js';
import { AdsWatcher } from './testdata/ads-watcher.js';

const logs: string[] = [];
let dir: string;
let cluster: LocalCluster | undefined;
let kubeconfigFile: string;
let cp: RunningControlPlane | undefined;
let watcher: AdsWatcher | undefined;

function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfigFile, '-n', 'sample', ...args], { env: { ...process.env, HOME: dir } }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}${stdout}`)) : resolve(stdout));
    child.stdin?.end(input ?? '');
  });
}

/** Polls an asynchronous check (kubectl) until it holds. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, seen: () => unknown = () => undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${String(seen())}`);
    await sleep(100);
  }
}

interface Status {
  validationMessages?: Array<{ type: { code: string; name: string }; level: string; documentationUrl?: string }>;
  observedGeneration?: number;
  conditions?: Array<{ type: string; message?: string }>;
}

async function statusOf(kind: string, name: string): Promise<{ status?: Status; generation: number; resourceVersion: string }> {
  const o = JSON.parse(await kubectl(['get', kind, name, '-o', 'json'])) as { status?: Status; metadata: { generation: number; resourceVersion: string } };
  return { ...(o.status ? { status: o.status } : {}), generation: o.metadata.generation, resourceVersion: o.metadata.resourceVersion };
}

const codes = (s: Status | undefined): string[] => (s?.validationMessages ?? []).map((m) => `${m.level} ${m.type.code} ${m.type.name}`);

async function counters(): Promise<{ rebuilds: number; pushes: number }> {
  const res = await fetch(`http://127.0.0.1:${cp?.debugPort ?? 0}/debug/syncz`);
  return ((await res.json()) as { pusher: { rebuilds: number; pushes: number } }).pusher;
}

const VS = (subsets: string[]): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - route:
${subsets.map((s, i) => `    - destination: {host: helloworld, subset: ${s}}\n      weight: ${i === 0 ? 100 - 10 * (subsets.length - 1) : 10}`).join('\n')}
`;
const DR = (opts: { subsets: string[]; locality?: boolean }): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
${opts.locality ? '  trafficPolicy:\n    loadBalancer:\n      localityLbSetting: {enabled: true}\n' : ''}  subsets:
${opts.subsets.map((s) => `  - name: ${s}\n    labels: {version: ${s}}`).join('\n')}
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshwork-status-'));
  cluster = await startLocalCluster({ name: 'cluster-1', subnetOctet: 170, dir: join(dir, 'cluster-1'), log: (l) => logs.push(l) });
  kubeconfigFile = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigFile, buildKubeconfig([{ name: cluster.name, server: cluster.server, caPem: cluster.caPem, token: cluster.token }], cluster.name), { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  const helloworld = parseManifests(readFileSync(join(EXAMPLE_DIR, 'helloworld.yaml'), 'utf8'), 'helloworld.yaml');
  await applyObjects(kc, [{ object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sample' } }, source: 'test' }, { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } }, source: 'test' }, (await testCacerts('cluster-1')).manifest, ...helloworld], { namespace: 'sample' });
  cp = await runControlPlane({
    clusterId: 'cluster-1',
    kubeconfig: kubeconfigFile,
    namespace: 'istio-system',
    revision: 'asm-managed-stable',
    xds: { host: '127.0.0.1', securePort: 0, plaintextPort: 0 },
    debug: { host: '127.0.0.1', port: 0 },
    log: (l) => logs.push(l),
  });
  // A sidecar of namespace sample (no such pod: its identity comes from the node id alone).
  watcher = new AdsWatcher(cp.plaintextXdsPort ?? 0, { id: 'sidecar~127.170.0.250~watcher.sample~sample.svc.cluster.local', metadata: { fields: { CLUSTER_ID: { string_value: 'cluster-1' }, NAMESPACE: { string_value: 'sample' } } } }, [
    { typeUrl: TYPE_URLS.cluster, names: [] },
    { typeUrl: TYPE_URLS.listener, names: [] },
    { typeUrl: TYPE_URLS.route, names: ['http_proxy'] },
  ]);
  // Both helloworld versions have endpoints, so the subsets v1 and v2 select something.
  await until('helloworld pods ready', async () => (await kubectl(['get', 'endpointslices', '-o', 'jsonpath={.items[*].endpoints[*].conditions.ready}'])).split(' ').filter((r) => r === 'true').length === 2, 30_000);
});

after(async () => {
  watcher?.close();
  await cp?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (process.exitCode) process.stderr.write(logs.slice(-60).join('\n') + '\n');
});

test('a VirtualService naming an undefined subset gets IST0101 in its status; fixing the DestinationRule takes it away', { timeout: 60_000 }, async (t) => {
  await kubectl(['apply', '-f', '-'], DR({ subsets: ['v1', 'v2'] }));
  await kubectl(['apply', '-f', '-'], VS(['v1', 'v3']));
  const appliedAt = Date.now();
  // The push of the VirtualService (it keeps the route to the missing subset) comes before the status
  // write (the reporter waits for a quiet 200 ms): what was rebuilt and pushed until then is the config's.
  await until('the route to v3 pushed', async () => JSON.stringify(watcher?.resources(TYPE_URLS.route).get('http_proxy') ?? {}).includes('|v3|'), 5_000);
  const atPush = await counters();
  let yaml = '';
  await until('IST0101 in the VirtualService status', async () => /code: IST0101/.test(yaml = await kubectl(['get', 'virtualservice', 'helloworld', '-o', 'yaml'])), 5_000, () => yaml);
  const seenAfterMs = Date.now() - appliedAt;
  assert.match(yaml, /validationMessages:\n\s+- documentationUrl: https:\/\/istio\.io\/latest\/docs\/reference\/config\/analysis\/ist0101\/\n\s+level: ERROR\n\s+type:\n\s+code: IST0101\n\s+name: ReferencedResourceNotFound/);
  const vs = await statusOf('virtualservice', 'helloworld');
  assert.equal(vs.status?.observedGeneration, vs.generation);
  assert.match(vs.status?.conditions?.find((c) => c.type === 'AnalysisMessages')?.message ?? '', /^Error \[IST0101\] .*v3.* \(at spec\.http\[0\]\.route\[1\]\.destination\.subset\)$/);
  assert.equal((await statusOf('destinationrule', 'helloworld')).status, undefined, 'nothing to say about the DestinationRule');

  // The write is not a config change: no rebuild, no push, and no further write (the status is unchanged).
  await sleep(1500);
  assert.deepEqual(await counters(), atPush, 'the status write caused no rebuild and no push');
  const later = await statusOf('virtualservice', 'helloworld');
  assert.equal(later.resourceVersion, vs.resourceVersion, 'written once, not again');
  t.diagnostic(`IST0101 visible in kubectl ${seenAfterMs} ms after the apply`);

  // Fixed by the DestinationRule: the VirtualService's status goes; the new subset selects no pod (MW0004).
  await kubectl(['apply', '-f', '-'], DR({ subsets: ['v1', 'v2', 'v3'] }));
  await until('the VirtualService status cleared', async () => (await statusOf('virtualservice', 'helloworld')).status === undefined, 5_000);
  assert.doesNotMatch(await kubectl(['get', 'virtualservice', 'helloworld', '-o', 'yaml']), /validationMessages/);
  await until('MW0004 on the DestinationRule', async () => codes((await statusOf('destinationrule', 'helloworld')).status).join() === 'WARNING MW0004 SubsetSelectsNoEndpoints', 5_000);
});

test('what a localityLbSetting does here (and that one cluster leaves it nothing to do) are findings in its status', { timeout: 30_000 }, async () => {
  await kubectl(['apply', '-f', '-'], VS(['v1', 'v2']));
  await kubectl(['apply', '-f', '-'], DR({ subsets: ['v1', 'v2'], locality: true }));
  let dr: Awaited<ReturnType<typeof statusOf>> | undefined;
  const expected = 'INFO MW0005 LocalityFailoverByReadiness,WARNING MW0006 LocalityLbSettingHasNoEffect';
  await until('MW0005 and MW0006 on the DestinationRule', async () => codes((dr = await statusOf('destinationrule', 'helloworld')).status).join() === expected, 5_000, () => JSON.stringify(dr));
  assert.equal(dr?.status?.observedGeneration, dr?.generation);
  assert.match(dr?.status?.conditions?.[0]?.message ?? '', /^Info \[MW0005\] locality failover applies without outlierDetection.*\(at spec\.trafficPolicy\.loadBalancer\.localityLbSetting\)\nWarning \[MW0006\] every endpoint this setting governs runs in locality local\/cluster-1 of cluster cluster-1/);
  assert.equal((await statusOf('virtualservice', 'helloworld')).status, undefined);

  await kubectl(['apply', '-f', '-'], DR({ subsets: ['v1', 'v2'] }));
  await until('the DestinationRule status cleared', async () => (await statusOf('destinationrule', 'helloworld')).status === undefined, 5_000);
  assert.ok(!logs.some((l) => /config status: .*failed/.test(l)), logs.filter((l) => l.includes('config status')).join('\n'));
});
