// Prometheus over the local mesh, as a user runs it: `meshwork prometheus-config` for the two clusters
// of the seed mesh (helloworld v1 in cluster-1, v2 in cluster-2, sleep in cluster-1), Debian's
// Prometheus with that config, and the targets it finds: the annotated pods of both clusters (Istio's
// kubernetes-pods job) and each control plane's /metrics (istiod's pilot_* and citadel_* series).
//
// Debian's Prometheus is built without Kubernetes discovery (its patch "Disable kubernetes SD, until
// dependencies are more reasonable"), so with it the config uses `--discovery file` and `meshwork
// prometheus-targets` keeps the file_sd targets current, with the same __meta_kubernetes_* labels. A
// Prometheus with Kubernetes discovery (MESHWORK_PROMETHEUS=/path/to/upstream/prometheus) gets
// `--discovery kubernetes` and watches the local API servers itself (src/local/apiserver/client-go.test.ts
// holds them to client-go in CI).
//
// Pods are found by the annotations the injector writes, as Istio's: prometheus.io/scrape, port 15020
// (the agent's merged metrics), path /stats/prometheus. Run on one data plane only (Envoy by default).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MERGED_METRICS_PORT } from '../../src/telemetry/istio-metric-names.js';
import { E2E_DATA_PLANE, MeshworkEnv, run } from '../helpers/meshwork.js';
import { MESHWORK_BIN, scenarioDir } from '../helpers/paths.js';
import { hasKubernetesDiscovery, PrometheusProcess } from '../helpers/prometheus.js';
import { podName, sendFromPod } from '../helpers/traffic.js';
import { until } from '../helpers/until.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const VERSION = { 'cluster-1': 'v1', 'cluster-2': 'v2' } as const;
/** Prometheus listens in cluster-1's ClusterIP range of this suite's octets, far above the allocated addresses. */
const PROMETHEUS_HOST = '127.23.200.1';

describe(`Prometheus over the local mesh (${E2E_DATA_PLANE} data plane)`, { timeout: 600_000 }, () => {
  const env = new MeshworkEnv(22);
  const dir = join(env.stateDir, 'prometheus');
  let prometheus: PrometheusProcess | undefined;
  let targetsWriter: ChildProcess | undefined;
  let sleepPod = '';

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    const mesh = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(mesh.code, 0, mesh.stderr + mesh.stdout);
    for (const ctx of CONTEXTS) await env.deployHelloworld(ctx);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
    for (const ctx of CONTEXTS) await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2);
    await env.waitPodsReady('cluster-1', 'sample', 'app=sleep', 2);
    sleepPod = await podName(env, 'cluster-1', 'sample', 'app=sleep');

    const port = await env.kubectlOk('cluster-1', ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'jsonpath={.items[0].metadata.annotations.prometheus\\.io/port}']);
    assert.equal(port.trim(), String(MERGED_METRICS_PORT), 'the injector annotates pods with the merged metrics port');

    const discovery = hasKubernetesDiscovery() ? 'kubernetes' : 'file';
    const config = await env.meshwork(['prometheus-config', '--discovery', discovery, '--dir', dir, '--scrape-interval', '1s']);
    assert.equal(config.code, 0, config.stderr);
    if (discovery === 'file') targetsWriter = spawn(process.execPath, [MESHWORK_BIN, 'prometheus-targets', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    prometheus = await PrometheusProcess.start({ configYaml: config.stdout, host: PROMETHEUS_HOST });
  });

  after(async () => {
    await prometheus?.stop();
    if (targetsWriter?.pid !== undefined && targetsWriter.exitCode === null) process.kill(targetsWriter.pid, 'SIGTERM');
    await env.cleanup();
  });

  /** Samples of `promql`, waited for until `accept` takes them (Prometheus scrapes every second). */
  const waitQuery = (what: string, promql: string, accept: (samples: Awaited<ReturnType<PrometheusProcess['query']>>) => boolean) =>
    until(what, 30_000, async () => {
      const samples = await prometheus!.query(promql);
      return accept(samples) ? samples : undefined;
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nPrometheus log (end):\n${prometheus!.log().slice(-3000)}`);
    });

  test('the helloworld pods of both clusters are scraped at their annotated port, labelled namespace, pod, app, version and cluster', async () => {
    const up = await waitQuery('a helloworld target up in each cluster', 'up{job="kubernetes-pods", app="helloworld"} == 1', (s) => new Set(s.map((x) => x.metric['cluster'])).size === 2);
    for (const ctx of CONTEXTS) {
      const pods = (await env.kubectlOk(ctx, ['get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{"\\n"}{end}'])).trim().split('\n');
      const scraped = up.filter((s) => s.metric['cluster'] === ctx).map((s) => `${s.metric['pod']} ${s.metric['instance']}`).sort();
      const port = MERGED_METRICS_PORT;
      assert.deepEqual(scraped, pods.map((p) => { const [name, ip] = p.split(' '); return `${name} ${ip}:${port}`; }).sort(), `${ctx}: every helloworld pod, at its pod IP`);
      for (const s of up.filter((x) => x.metric['cluster'] === ctx)) {
        assert.equal(s.metric['namespace'], 'sample');
        assert.equal(s.metric['version'], VERSION[ctx]);
      }
    }
    // What the pods serve is in Prometheus, per cluster (the data plane's and the agent's series).
    const series = await waitQuery('series from each cluster\'s helloworld pods', 'count by (cluster) ({job="kubernetes-pods", app="helloworld", __name__!="up"})', (s) => s.length === 2);
    for (const s of series) assert.ok(Number(s.value[1]) > 5, `${s.metric['cluster']}: only ${s.value[1]} series scraped from helloworld`);
  });

  test('each control plane\'s /metrics: connected proxies by version, pushes, no NACK, certificates issued; a config change is measured to convergence', async () => {
    await waitQuery('istiod up in both clusters', 'up{job="istiod"} == 1', (s) => s.length === 2);
    const xds = await waitQuery('connected proxies in both clusters', 'sum by (cluster) (pilot_xds)', (s) => s.length === 2);
    for (const s of xds) assert.ok(Number(s.value[1]) >= (s.metric['cluster'] === 'cluster-1' ? 2 : 1), `${s.metric['cluster']}: pilot_xds ${s.value[1]}`);
    const pushes = await prometheus!.query('sum by (cluster, type) (pilot_xds_pushes)');
    for (const ctx of CONTEXTS) {
      const types = pushes.filter((s) => s.metric['cluster'] === ctx && Number(s.value[1]) > 0).map((s) => s.metric['type']).sort();
      for (const t of ['cds', 'eds', 'lds', 'rds']) assert.ok(types.includes(t), `${ctx}: no ${t} pushes counted (${types.join(', ')})`);
    }
    assert.deepEqual((await prometheus!.query('sum(pilot_total_xds_rejects) > 0')).map((s) => s.value[1]), [], 'no NACK');
    const issued = await prometheus!.query('sum by (cluster) (citadel_server_success_cert_issuance_count)');
    assert.equal(issued.filter((s) => Number(s.value[1]) > 0).length, 2, `certificates issued in both clusters: ${JSON.stringify(issued)}`);

    const before = await prometheus!.query('sum(pilot_proxy_convergence_time_count{cluster="cluster-1"})');
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: helloworld, namespace: sample}
spec:
  hosts: [helloworld.sample.svc.cluster.local]
  http: [{route: [{destination: {host: helloworld.sample.svc.cluster.local}}], timeout: 7s}]
`;
    await env.kubectlOk('cluster-1', ['apply', '-f', '-'], vs);
    const was = Number(before[0]?.value[1] ?? 0);
    const after = await waitQuery('convergence measured for the change', 'sum(pilot_proxy_convergence_time_count{cluster="cluster-1"})', (s) => Number(s[0]?.value[1] ?? 0) > was);
    assert.ok(Number(after[0]!.value[1]) > was);
    const p99 = await prometheus!.query('histogram_quantile(0.99, sum by (le) (pilot_proxy_convergence_time_bucket{cluster="cluster-1"}))');
    assert.ok(Number(p99[0]?.value[1]) <= 30, `convergence p99 within istiod's buckets: ${JSON.stringify(p99)}`);
  });

  test('the token Prometheus reads with may list pods cluster-wide and nothing of Secrets', async () => {
    const token = readFileSync(join(dir, 'cluster-1', 'token'), 'utf8').trim();
    const as = (args: string[]) => run('kubectl', ['--context', 'cluster-1', '--token', token, ...args], { env: { KUBECONFIG: env.kubeconfig } });
    const pods = await as(['get', 'pods', '-A', '-o', 'name']);
    assert.equal(pods.code, 0, pods.stderr);
    assert.match(pods.stdout, /pod\/helloworld-v1-/);
    const secrets = await as(['get', 'secrets', '-A']);
    assert.notEqual(secrets.code, 0);
    assert.match(secrets.stderr, /forbidden: User "system:serviceaccount:istio-system:prometheus" cannot list resource "secrets"/);
  });

  test('istio_requests_total from the pods: the v2 share of sleep\'s requests is seen', async () => {
    const split = await sendFromPod(env, 'cluster-1', 'sample', sleepPod, 'http://helloworld.sample:5000/hello', 200);
    assert.equal(split.failures, 0);
    assert.ok((split.byVersion['v2'] ?? 0) > 0, `some requests reach v2: ${JSON.stringify(split.byVersion)}`);
    await waitQuery('a v2 request rate', 'sum(rate(istio_requests_total{destination_version="v2"}[30s]))', (s) => Number(s[0]?.value[1] ?? 0) > 0);
    // Both reporters, each version in its own cluster, the sleep workload as the source (Kiali's and Flagger's selectors).
    const series = await waitQuery('both versions at both reporters', 'sum by (reporter, destination_version, destination_cluster, source_workload) (istio_requests_total{destination_service_name="helloworld"})', (s) => s.length === 4);
    const seen = series.map((s) => `${s.metric['reporter']} ${s.metric['source_workload']} -> ${s.metric['destination_version']}@${s.metric['destination_cluster']}`).sort();
    assert.deepEqual(seen, ['destination sleep -> v1@cluster-1', 'destination sleep -> v2@cluster-2', 'source sleep -> v1@cluster-1', 'source sleep -> v2@cluster-2']);
  });
});
