// Istio's kubernetes-pods relabelling and the control plane job, run by the real Prometheus over file_sd
// targets with the pod role's labels: which pods are scraped, where, and with which labels.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { PrometheusProcess } from '../../test/helpers/prometheus.js';
import { until } from '../../test/helpers/until.js';
import { podTargetGroups } from './pod-targets.js';
import { prometheusConfig, type ScrapedCluster } from './prometheus-config.js';

const HOST = '127.33.201';
const METRICS_PORT = 15020;

function pod(name: string, namespace: string, ip: string, opts: { labels?: Record<string, string>; annotations?: Record<string, string>; phase?: string; ports?: number[] } = {}): V1Pod {
  return {
    metadata: { name, namespace, uid: `uid-${name}`, labels: opts.labels ?? {}, annotations: opts.annotations ?? {} },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'x', ports: (opts.ports ?? [8080]).map((containerPort) => ({ containerPort })) }] },
    status: { podIP: ip, hostIP: '127.33.0.1', phase: opts.phase ?? 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const scraped = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(METRICS_PORT), 'prometheus.io/path': '/stats/prometheus' };

test('pod targets carry the pod role\'s labels, one target per container port, none without an IP', () => {
  const groups = podTargetGroups([
    pod('hello-1', 'sample', '127.1.0.5', { labels: { app: 'helloworld', 'topology.istio.io/cluster': 'c1' }, annotations: scraped, ports: [5000, 15090] }),
    { ...pod('pending', 'sample', ''), status: { phase: 'Pending' } },
  ]);
  assert.deepEqual(groups.map((g) => g.targets), [['127.1.0.5:5000'], ['127.1.0.5:15090']]);
  const labels = groups[0]!.labels;
  assert.equal(labels['__meta_kubernetes_namespace'], 'sample');
  assert.equal(labels['__meta_kubernetes_pod_label_topology_istio_io_cluster'], 'c1');
  assert.equal(labels['__meta_kubernetes_pod_labelpresent_app'], 'true');
  assert.equal(labels['__meta_kubernetes_pod_annotation_prometheus_io_port'], String(METRICS_PORT));
  assert.equal(labels['__meta_kubernetes_pod_ready'], 'true');
  assert.equal(labels['__meta_kubernetes_pod_container_port_number'], '5000');
  assert.equal(labels['__meta_kubernetes_pod_container_port_protocol'], 'TCP');
});

test('bad input is refused, naming it', () => {
  const c: ScrapedCluster = { name: 'c', apiServer: 'https://x', caFile: 'ca', tokenFile: 't', targetsFile: 'f' };
  assert.throws(() => prometheusConfig({ clusters: [c], discovery: 'file', scrapeInterval: '2 seconds' }), /"2 seconds" is not a Prometheus duration/);
  assert.throws(() => prometheusConfig({ clusters: [c, c], discovery: 'file' }), /cluster "c" is given twice/);
  assert.throws(() => prometheusConfig({ clusters: [], discovery: 'kubernetes' }), /no clusters to scrape/);
  const kube = prometheusConfig({ clusters: [c], discovery: 'kubernetes' }) as { scrape_configs: Array<Record<string, unknown>> };
  assert.deepEqual(kube.scrape_configs[0]!['kubernetes_sd_configs'], [{ role: 'pod', api_server: 'https://x', tls_config: { ca_file: 'ca' }, authorization: { credentials_file: 't' } }]);
});

describe('the configuration, run by Prometheus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-prom-config-'));
  const servers: Server[] = [];
  let prometheus: PrometheusProcess | undefined;
  let configYaml = '';

  /** An HTTP server on ip:port answering `path` with a counter naming the server. */
  async function serve(ip: string, port: number, path: string, metric: string): Promise<void> {
    const server = createServer((req, res) => {
      if (req.url !== path) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`# TYPE ${metric} counter\n${metric} 7\n`);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, ip, resolve));
    servers.push(server);
  }

  before(async () => {
    const clusters: ScrapedCluster[] = ['cluster-a', 'cluster-b'].map((name) => ({ name, apiServer: 'https://unused', caFile: 'unused', tokenFile: 'unused', targetsFile: join(dir, `${name}.json`) }));
    const version = { 'cluster-a': 'v1', 'cluster-b': 'v2' } as const;
    for (const [i, cluster] of clusters.entries()) {
      const ip = `${HOST}.${10 + i}`;
      const istiodIp = `${HOST}.${20 + i}`;
      await serve(ip, METRICS_PORT, '/stats/prometheus', 'app_requests');
      await serve(istiodIp, 15014, '/metrics', 'pilot_xds_pushes');
      const pods = [
        pod(`hello-${i}`, 'sample', ip, { labels: { app: 'helloworld', version: version[cluster.name as keyof typeof version] }, annotations: scraped, ports: [5000] }),
        // Not annotated: not scraped. Pending: dropped.
        pod(`quiet-${i}`, 'sample', `${HOST}.${30 + i}`),
        pod(`pending-${i}`, 'sample', `${HOST}.${40 + i}`, { annotations: scraped, phase: 'Pending' }),
        pod(`istiod-${i}`, 'istio-system', istiodIp, { labels: { app: 'istiod', 'istio.io/rev': 'asm-managed-stable' }, ports: [15010, 15012, 15014, 15017] }),
      ];
      writeFileSync(cluster.targetsFile, JSON.stringify(podTargetGroups(pods)));
    }
    configYaml = stringify(prometheusConfig({ clusters, discovery: 'file', scrapeInterval: '1s' }));
    prometheus = await PrometheusProcess.start({ configYaml, host: `${HOST}.1` });
  });

  after(async () => {
    await prometheus?.stop();
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('promtool accepts it', async () => {
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, configYaml);
    const { stdout } = await promisify(execFile)('/usr/bin/promtool', ['check', 'config', '--syntax-only', file]);
    assert.match(stdout, /SUCCESS/);
  });

  test('annotated running pods are scraped at their annotated port and path, labelled namespace, pod, app, version, cluster; the control planes at 15014/metrics', async () => {
    const up = await until('both jobs scraped in both clusters', 20_000, async () => {
      const samples = await prometheus!.query('up == 1');
      return samples.length === 4 ? samples : undefined;
    });
    const pods = up.filter((s) => s.metric['job'] === 'kubernetes-pods').map((s) => s.metric).sort((a, b) => a['cluster']!.localeCompare(b['cluster']!));
    assert.deepEqual(pods.map((m) => [m['cluster'], m['namespace'], m['pod'], m['app'], m['version'], m['instance']]), [
      ['cluster-a', 'sample', 'hello-0', 'helloworld', 'v1', `${HOST}.10:${METRICS_PORT}`],
      ['cluster-b', 'sample', 'hello-1', 'helloworld', 'v2', `${HOST}.11:${METRICS_PORT}`],
    ]);
    const istiod = up.filter((s) => s.metric['job'] === 'istiod').map((s) => [s.metric['cluster'], s.metric['instance'], s.metric['revision']]).sort();
    assert.deepEqual(istiod, [
      ['cluster-a', `${HOST}.20:15014`, 'asm-managed-stable'],
      ['cluster-b', `${HOST}.21:15014`, 'asm-managed-stable'],
    ]);
    const targets = await prometheus!.targets();
    assert.equal(targets.length, 4, `only the annotated running pods and istiod: ${targets.map((t) => t.scrapeUrl).join(', ')}`);
    const rate = await prometheus!.query('sum by (cluster) (app_requests)');
    assert.deepEqual(rate.map((s) => s.metric['cluster']).sort(), ['cluster-a', 'cluster-b']);
  });
});
