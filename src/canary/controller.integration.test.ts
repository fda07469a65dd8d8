// The Canary controller against two real local API servers: it drives a VirtualService copy in both
// clusters through every step, rolls back on a failing canary, pauses on a human edit and resumes on a
// spec change, and a new controller instance resumes from the status where a stopped one left off.
// The analysis scrapes a real pod of the helloworld Service (found through cluster-2's API) whose tiny
// HTTP server serves Prometheus text the test makes grow like a sidecar's counters.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import { applyObjects } from '../k8s/client/apply.js';
import type { Manifest } from '../k8s/client/manifests.js';
import { startLocalCluster, type LocalCluster } from '../local/cluster.js';
import { buildKubeconfig } from '../k8s/kubeconfig.js';
import { startCanaryController, type CanaryController } from './controller.js';
import { KubeIo } from './kube-io.js';
import { routeWeights } from './routes.js';
import type { Canary, CanarySpec } from '../config/canary/types.js';

const logs: string[] = [];
const log = (line: string): void => void logs.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
let dir: string;
let c1: LocalCluster | undefined;
let c2: LocalCluster | undefined;
const kcs: Record<string, KubeConfig> = {};
let controller: CanaryController | undefined;
let metricsFile: string;
let feeder: NodeJS.Timeout | undefined;

const STABLE = [{ destination: { host: 'helloworld', port: { number: 5000 } } }];

/** Cumulative counters per (version, code), as a sidecar's istio_requests_total grows. */
const counters = new Map<string, number>();
/** Share of the v2 requests answered 500 (0 = a healthy canary). */
let v2ErrorRate = 0;

function metricsText(): string {
  const lines = ['# TYPE istio_requests_total counter', '# TYPE istio_request_duration_milliseconds histogram'];
  for (const [key, count] of counters) {
    const [version, code] = key.split('/') as [string, string];
    const labels = `reporter="destination",destination_service_name="helloworld",destination_service_namespace="sample",destination_version="${version}",response_code="${code}"`;
    lines.push(`istio_requests_total{${labels}} ${count}`);
    lines.push(`istio_request_duration_milliseconds_bucket{${labels},le="5"} ${Math.floor(count / 2)}`);
    lines.push(`istio_request_duration_milliseconds_bucket{${labels},le="10"} ${count}`);
    lines.push(`istio_request_duration_milliseconds_bucket{${labels},le="+Inf"} ${count}`);
  }
  return `${lines.join('\n')}\n`;
}

/** 20 requests per side every 100 ms. */
function feed(): void {
  const add = (key: string, n: number): void => void counters.set(key, (counters.get(key) ?? 0) + n);
  add('v1/200', 20);
  const errors = Math.round(20 * v2ErrorRate);
  add('v2/200', 20 - errors);
  if (errors > 0) add('v2/500', errors);
  writeFileSync(`${metricsFile}.tmp`, metricsText());
  // Atomic replace: a scrape never reads half a file.
  renameSync(`${metricsFile}.tmp`, metricsFile);
}

const obj = (o: Record<string, unknown>): Manifest => ({ object: o as unknown as KubeObject, source: 'test' });

function meshObjects(cluster: 'cluster-1' | 'cluster-2'): Manifest[] {
  const objects = [
    obj({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sample' } }),
    obj({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'helloworld', namespace: 'sample' }, spec: { selector: { app: 'helloworld' }, ports: [{ name: 'http', port: 5000 }] } }),
    obj({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'helloworld', namespace: 'sample' }, spec: { host: 'helloworld', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } }),
    obj({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'helloworld', namespace: 'sample' }, spec: { hosts: ['helloworld'], http: [{ match: [{ uri: { prefix: '/admin' } }], route: [{ destination: { host: 'admin' } }] }, { route: STABLE }] } }),
  ];
  if (cluster === 'cluster-2') {
    const server = "require('http').createServer((q,s)=>{if(q.url!=='/stats/prometheus'){s.statusCode=404;return s.end()}s.setHeader('content-type','text/plain; version=0.0.4');s.end(require('fs').readFileSync(process.env.METRICS_FILE))}).listen(15020,process.env.POD_IP)";
    objects.push(obj({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'helloworld-metrics', namespace: 'sample', labels: { app: 'helloworld', version: 'v2' } },
      spec: { containers: [{ name: 'metrics', image: 'node', command: [process.execPath, '-e', server], env: [{ name: 'METRICS_FILE', value: metricsFile }] }] },
    }));
  }
  return objects;
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}\n${logs.filter((l) => !l.includes('] api ')).slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const custom = (cluster: string): CustomObjectsApi => kcs[cluster]!.makeApiClient(CustomObjectsApi);

async function canary(name: string): Promise<Canary> {
  return (await custom('cluster-1').getNamespacedCustomObject({ group: 'rollouts.meshwork.io', version: 'v1alpha1', namespace: 'sample', plural: 'canaries', name })) as Canary;
}

async function liveRoute(cluster: string): Promise<unknown[]> {
  const vs = (await custom(cluster).getNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', namespace: 'sample', plural: 'virtualservices', name: 'helloworld' })) as { spec: { http: Array<{ route: unknown[] }> } };
  return vs.spec.http[1]!.route;
}

async function resetRoutes(): Promise<void> {
  for (const cluster of ['cluster-1', 'cluster-2']) {
    await custom(cluster).patchNamespacedCustomObject(
      { group: 'networking.istio.io', version: 'v1', namespace: 'sample', plural: 'virtualservices', name: 'helloworld', body: [{ op: 'replace', path: '/spec/http/1/route', value: STABLE }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  }
}

async function createCanary(name: string, analysis: Partial<CanarySpec['analysis']>): Promise<void> {
  const spec: CanarySpec = { host: 'helloworld', baseline: { subset: 'v1' }, canary: { subset: 'v2' }, analysis: { interval: '1s', minRequests: 10, metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }, { name: 'request-duration', thresholdRange: { max: 500 } }], ...analysis } };
  await custom('cluster-1').createNamespacedCustomObject({ group: 'rollouts.meshwork.io', version: 'v1alpha1', namespace: 'sample', plural: 'canaries', body: { apiVersion: 'rollouts.meshwork.io/v1alpha1', kind: 'Canary', metadata: { name, namespace: 'sample' }, spec } });
}

async function patchSpec(name: string, spec: Partial<CanarySpec>): Promise<void> {
  await custom('cluster-1').patchNamespacedCustomObject(
    { group: 'rollouts.meshwork.io', version: 'v1alpha1', namespace: 'sample', plural: 'canaries', name, body: { spec } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function events(name: string): Promise<Array<{ type: string; reason: string; message: string }>> {
  const list = await kcs['cluster-1']!.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'sample' });
  return list.items.filter((e) => e.involvedObject.name === name && e.involvedObject.kind === 'Canary').map((e) => ({ type: e.type ?? '', reason: e.reason ?? '', message: e.message ?? '' }));
}

function auditLines(file: string, name: string): Array<{ action: string; step: number; weights: Record<string, number>; verdict?: string; measurements?: unknown }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l: { canary: string }) => l.canary === `sample/${name}`);
}

let auditLog: string;
let kubeconfigFile: string;
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

function startCli(): { child: ChildProcess; stderr: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'canary', 'controller', '--kubeconfig', kubeconfigFile, '--context', 'cluster-1', '--audit-log', auditLog], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => {
    stderr.push(d.toString());
    log(`cli: ${d.toString().trim()}`);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr, exited };
}

function startController(): CanaryController {
  const members = ['cluster-1', 'cluster-2'].map((c) => new KubeIo(c, kcs[c]!));
  return startCanaryController({ config: members[0]!, members, auditLog, log, scrapeFallbackWindowMs: () => 300, retryMs: 300 });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshwork-canary-'));
  metricsFile = join(dir, 'metrics.txt');
  auditLog = join(dir, 'audit.jsonl');
  feed();
  [c1, c2] = await Promise.all([
    startLocalCluster({ name: 'cluster-1', subnetOctet: 245, dir: join(dir, 'cluster-1'), log }),
    startLocalCluster({ name: 'cluster-2', subnetOctet: 246, dir: join(dir, 'cluster-2'), log }),
  ]);
  const entries = [c1, c2].map((c) => ({ name: c.name, server: c.server, caPem: c.caPem, token: c.token }));
  const file = join(dir, 'kubeconfig');
  kubeconfigFile = file;
  writeFileSync(file, buildKubeconfig(entries, 'cluster-1'), { mode: 0o600 });
  for (const name of ['cluster-1', 'cluster-2'] as const) {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    kc.setCurrentContext(name);
    kcs[name] = kc;
    await applyObjects(kc, meshObjects(name), { namespace: 'sample' });
  }
  await until('the metrics pod runs in cluster-2', async () => {
    const pods = await kcs['cluster-2']!.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'sample' });
    const ip = pods.items.find((p) => p.status?.phase === 'Running')?.status?.podIP;
    if (!ip) return undefined;
    return fetch(`http://${ip}:15020/stats/prometheus`).then((r) => r.ok || undefined, () => undefined);
  }, 20_000);
  feeder = setInterval(feed, 100);
  controller = startController();
});

after(async () => {
  if (feeder) clearInterval(feeder);
  await controller?.stop();
  await Promise.all([c1?.stop(), c2?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (process.exitCode) process.stderr.write(logs.slice(-60).join('\n') + '\n');
  // The controller's own lines, for a look at a run that passed: CANARY_TEST_LOG=file.
  if (process.env.CANARY_TEST_LOG) writeFileSync(process.env.CANARY_TEST_LOG, logs.filter((l) => !l.includes('] api ')).join('\n'));
});

test('a healthy canary is stepped 20 -> 60 -> 100 in both clusters and succeeds, with an Event and an audit line per change', { timeout: 60_000 }, async () => {
  v2ErrorRate = 0;
  await createCanary('hello-ok', { stepWeights: [20, 60] });
  const seen = new Set<string>();
  await until('Succeeded', async () => {
    const [r1, r2] = await Promise.all([liveRoute('cluster-1'), liveRoute('cluster-2')]);
    seen.add(JSON.stringify([routeWeights(r1), routeWeights(r2)]));
    return (await canary('hello-ok')).status?.phase === 'Succeeded' || undefined;
  }, 45_000);
  assert.deepEqual([routeWeights(await liveRoute('cluster-1')), routeWeights(await liveRoute('cluster-2'))], [{ v1: 0, v2: 100 }, { v1: 0, v2: 100 }]);
  // The port and host of the stable destination are kept; the other route of the VirtualService is untouched.
  assert.deepEqual(await liveRoute('cluster-2'), [{ destination: { host: 'helloworld', port: { number: 5000 }, subset: 'v1' }, weight: 0 }, { destination: { host: 'helloworld', port: { number: 5000 }, subset: 'v2' }, weight: 100 }]);
  const vs = (await custom('cluster-1').getNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', namespace: 'sample', plural: 'virtualservices', name: 'helloworld' })) as { metadata: { managedFields?: Array<{ manager: string }> }; spec: { http: Array<{ route: unknown[] }> } };
  assert.deepEqual(vs.spec.http[0]!.route, [{ destination: { host: 'admin' } }]);
  assert.ok(vs.metadata.managedFields?.some((f) => f.manager === 'meshwork-canary'), 'written by field manager meshwork-canary');
  assert.ok(seen.has(JSON.stringify([{ v1: 80, v2: 20 }, { v1: 80, v2: 20 }])), `20 % was in force: ${[...seen].join(' ')}`);
  const ev = await events('hello-ok');
  assert.deepEqual(ev.filter((e) => e.reason === 'WeightChanged').map((e) => e.type), ['Normal', 'Normal', 'Normal']);
  assert.equal(ev.filter((e) => e.reason === 'Promoted').length, 1);
  const audit = auditLines(auditLog, 'hello-ok');
  assert.deepEqual(audit.map((a) => [a.step, a.weights.v2]), [[0, 20], [1, 60], [2, 100]]);
  assert.equal(audit[1]?.verdict, 'pass');
  const status = (await canary('hello-ok')).status!;
  assert.equal(status.lastAnalysis?.source, 'proxies');
  assert.ok((status.lastAnalysis?.canary.requests ?? 0) >= 10, JSON.stringify(status.lastAnalysis));
  assert.equal(status.lastAnalysis?.canary.successRate, 100);
});

test('a failing canary is rolled back after threshold failed checks and the stable routes are restored exactly', { timeout: 60_000 }, async () => {
  await resetRoutes();
  v2ErrorRate = 0.2;
  await createCanary('hello-bad', { stepWeights: [20, 60], threshold: 2 });
  await until('RolledBack with the routes restored', async () => {
    const c = await canary('hello-bad');
    return (c.status?.phase === 'RolledBack' && !c.status.routes.some((r) => r.applied)) || undefined;
  }, 45_000);
  assert.deepEqual([await liveRoute('cluster-1'), await liveRoute('cluster-2')], [STABLE, STABLE]);
  const warning = (await events('hello-bad')).find((e) => e.reason === 'RolledBack');
  assert.equal(warning?.type, 'Warning');
  assert.match(warning!.message, /request-success-rate 8\d(\.\d)? % < min 99 %/);
  const audit = auditLines(auditLog, 'hello-bad');
  assert.deepEqual(audit.map((a) => a.action), ['step', 'rollback', 'restore']);
  assert.equal(audit[1]?.verdict, 'fail');
});

test('a human edit of the weights pauses the canary (nothing written); a spec change resumes it from the live weights', { timeout: 60_000 }, async () => {
  await resetRoutes();
  v2ErrorRate = 0;
  await createCanary('hello-edit', { stepWeights: [10, 20, 30, 40], interval: '2s' });
  await until('step 1 in force', async () => ((await canary('hello-edit')).status?.canaryWeight === 10 ? true : undefined), 20_000);
  // A human (kubectl edit) moves cluster-2 to 30 %.
  await custom('cluster-2').patchNamespacedCustomObject(
    { group: 'networking.istio.io', version: 'v1', namespace: 'sample', plural: 'virtualservices', name: 'helloworld', body: [{ op: 'replace', path: '/spec/http/1/route/0/weight', value: 70 }, { op: 'replace', path: '/spec/http/1/route/1/weight', value: 30 }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  const paused = await until('Paused by the edit', async () => {
    const c = await canary('hello-edit');
    return c.status?.phase === 'Paused' ? c : undefined;
  }, 20_000);
  const cond = paused.status!.conditions.find((c) => c.type === 'ManualWeightChange');
  assert.equal(cond?.status, 'True');
  assert.match(cond!.message, /^cluster-2 VirtualService sample\/helloworld http\[1\] has weights v1=70, v2=30, the controller wrote v1=90, v2=10$/);
  assert.ok((await events('hello-edit')).some((e) => e.type === 'Warning' && e.reason === 'ManualWeightChange'));
  // Two intervals later nothing has been written.
  await new Promise((r) => setTimeout(r, 4_500));
  assert.deepEqual([routeWeights(await liveRoute('cluster-1')), routeWeights(await liveRoute('cluster-2'))], [{ v1: 90, v2: 10 }, { v1: 70, v2: 30 }]);
  assert.equal((await canary('hello-edit')).status?.phase, 'Paused');
  await patchSpec('hello-edit', { paused: true });
  await patchSpec('hello-edit', { paused: false });
  await until('resumed and stepped on from the live weights to 20 % everywhere', async () => {
    const [r1, r2] = await Promise.all([liveRoute('cluster-1'), liveRoute('cluster-2')]);
    return (routeWeights(r1)?.v2 === 20 && routeWeights(r2)?.v2 === 20) || undefined;
  }, 20_000);
  assert.equal((await canary('hello-edit')).status?.conditions.find((c) => c.type === 'ManualWeightChange')?.status, 'False');
  await patchSpec('hello-edit', { abort: true });
  await until('aborted and restored', async () => ((await canary('hello-edit')).status?.phase === 'Aborted' && JSON.stringify(await liveRoute('cluster-2')) === JSON.stringify(STABLE)) || undefined, 20_000);
});

test('a new controller instance resumes from the status: no step repeated or skipped', { timeout: 60_000 }, async () => {
  await resetRoutes();
  v2ErrorRate = 0;
  await createCanary('hello-restart', { stepWeights: [10, 20, 30, 40], interval: '2s' });
  await until('step 2 in force', async () => ((await canary('hello-restart')).status?.currentStep === 1 ? true : undefined), 30_000);
  await controller?.stop();
  const stoppedAt = (await canary('hello-restart')).status!;
  await new Promise((r) => setTimeout(r, 1_000));
  assert.deepEqual((await canary('hello-restart')).status?.currentStep, stoppedAt.currentStep, 'nothing moves while no controller runs');
  controller = startController();
  await until('Succeeded after the restart', async () => ((await canary('hello-restart')).status?.phase === 'Succeeded' ? true : undefined), 45_000);
  const audit = auditLines(auditLog, 'hello-restart');
  assert.deepEqual(audit.map((a) => a.step), [0, 1, 2, 3, 4], 'every step exactly once, in order');
  assert.deepEqual(audit.map((a) => a.weights.v2), [10, 20, 30, 40, 100]);
});

test('meshwork canary controller: killed with SIGKILL mid-run, a new process carries on from the status; SIGTERM stops it cleanly', { timeout: 90_000 }, async () => {
  await controller?.stop();
  controller = undefined;
  await resetRoutes();
  v2ErrorRate = 0;
  await createCanary('hello-kill', { stepWeights: [10, 20, 30, 40], interval: '2s' });
  const first = startCli();
  try {
    await until('step 2 in force under the first process', async () => ((await canary('hello-kill')).status?.currentStep === 1 ? true : undefined), 30_000);
  } finally {
    first.child.kill('SIGKILL');
  }
  assert.equal(await first.exited, null, 'killed by the signal');
  const second = startCli();
  try {
    await until('Succeeded under the second process', async () => ((await canary('hello-kill')).status?.phase === 'Succeeded' ? true : undefined), 45_000);
  } finally {
    second.child.kill('SIGTERM');
  }
  const code = await Promise.race([second.exited, new Promise<string>((r) => setTimeout(() => r('still running 10 s after SIGTERM'), 10_000))]);
  assert.equal(code, 0, second.stderr.join(''));
  assert.match(second.stderr.join(''), /SIGTERM: stopping after the reconcile in flight/);
  const audit = auditLines(auditLog, 'hello-kill');
  assert.deepEqual(audit.map((a) => a.step), [0, 1, 2, 3, 4], 'every step exactly once, in order, across the two processes');
  assert.deepEqual([routeWeights(await liveRoute('cluster-1')), routeWeights(await liveRoute('cluster-2'))], [{ v1: 0, v2: 100 }, { v1: 0, v2: 100 }]);
});

function kubectl(args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfigFile, '--context', 'cluster-1', ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

test('kubectl: `get canary` by its short name, and a Canary with decreasing steps refused with the field and the reason', { timeout: 30_000 }, async () => {
  const list = await kubectl(['get', 'canary', '-n', 'sample']);
  assert.equal(list.code, 0, list.out);
  assert.match(list.out, /^NAME\s+HOST\s+PHASE\s+WEIGHT\s+AGE$/m);
  assert.match(list.out, /^hello-ok\s+helloworld\s+Succeeded\s+100\s+\S+$/m);
  const bad = JSON.stringify({ apiVersion: 'rollouts.meshwork.io/v1alpha1', kind: 'Canary', metadata: { name: 'bad', namespace: 'sample' }, spec: { host: 'helloworld', baseline: { subset: 'v1' }, canary: { subset: 'v1' }, analysis: { interval: '30 s', stepWeights: [50, 20], metrics: [] } } });
  const created = await kubectl(['create', '-f', '-'], bad);
  assert.notEqual(created.code, 0);
  assert.match(created.out, /spec\.analysis\.stepWeights\[1\]: Invalid value: 20: must be greater than the step before it \(50\)/);
  assert.match(created.out, /spec\.canary\.subset: Invalid value: "v1": must differ from spec\.baseline\.subset/);
  assert.match(created.out, /spec\.analysis\.interval: Invalid value: "30 s": must be a Go duration/);
});
