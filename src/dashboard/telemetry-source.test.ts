// Both telemetry sources against the same counters: a metrics endpoint on loopback whose
// istio_requests_total grows 10 per second, read by scraping (ScrapeTelemetry) and by a real Prometheus
// scraping it every second (PrometheusTelemetry, its PromQL). Both must give the series with Istio's
// labels and an increase near 10/s over the window. Loopback octet 127.244.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrometheusProcess } from '../../test/helpers/prometheus.js';
import { PrometheusTelemetry, ScrapeTelemetry } from './telemetry-source.js';

const HOST = '127.244.0.1';
const LABELS = 'reporter="destination",source_workload="sleep",source_workload_namespace="sample",source_app="sleep",source_version="unknown",source_cluster="cluster-1",destination_workload="helloworld-v1",destination_workload_namespace="sample",destination_app="helloworld",destination_version="v1",destination_service="helloworld.sample.svc.cluster.local",destination_cluster="cluster-1",response_code="200",connection_security_policy="mutual_tls",request_protocol="http"';

describe('telemetry sources: pods scraped, or Prometheus', { timeout: 120_000 }, () => {
  let server: Server;
  let port = 0;
  const started = Date.now();
  let prometheus: PrometheusProcess | undefined;

  before(async () => {
    server = createServer((_req, res) => {
      const n = Math.floor(((Date.now() - started) / 1000) * 10);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        `# TYPE istio_requests_total counter\nistio_requests_total{${LABELS}} ${n}\n` +
          `istio_request_duration_milliseconds_bucket{${LABELS},le="5"} ${Math.floor(n / 2)}\nistio_request_duration_milliseconds_bucket{${LABELS},le="10"} ${n}\nistio_request_duration_milliseconds_bucket{${LABELS},le="+Inf"} ${n}\n` +
          'envoy_cluster_upstream_rq_total 7\n',
      );
    });
    await new Promise<void>((r) => server.listen(0, HOST, r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await prometheus?.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('scraping: Istio\'s series over the window, other series dropped, the rate of the counter', async () => {
    const source = new ScrapeTelemetry(30_000);
    const target = { url: `http://${HOST}:${port}/stats/prometheus`, pod: 'cluster-1/sample/helloworld-v1-x' };
    const t0 = Date.now();
    assert.deepEqual(await source.refresh([target], t0), []);
    await sleep(2000);
    const t1 = Date.now();
    await source.refresh([target], t1);
    const { samples, coveredMs } = await source.increases(t1, 30_000);
    assert.equal(coveredMs, t1 - t0);
    assert.deepEqual([...new Set(samples.map((s) => s.name))].sort(), ['istio_request_duration_milliseconds_bucket', 'istio_requests_total']);
    const requests = samples.find((s) => s.name === 'istio_requests_total')!;
    assert.equal(requests.labels.destination_version, 'v1');
    const rate = requests.value / (coveredMs / 1000);
    assert.ok(rate > 8 && rate < 12, `rate ${rate}/s`);
    const problems = await source.refresh([{ url: `http://${HOST}:1/stats/prometheus`, pod: 'cluster-1/sample/gone' }], Date.now());
    assert.match(problems[0] ?? '', /^1 of 1 mesh pod\(s\) could not be scraped.*cluster-1\/sample\/gone: scrape of http:\/\/127\.244\.0\.1:1\/stats\/prometheus failed/);
  });

  test('Prometheus: the same series and rate through its PromQL', async () => {
    prometheus = await PrometheusProcess.start({
      host: HOST,
      port: 19090,
      configYaml: `global: {scrape_interval: 1s}\nscrape_configs:\n- job_name: pods\n  metrics_path: /stats/prometheus\n  static_configs: [{targets: ['${HOST}:${port}']}]\n`,
    });
    const source = new PrometheusTelemetry(prometheus.url);
    let samples: Awaited<ReturnType<PrometheusTelemetry['increases']>>['samples'] = [];
    for (let i = 0; i < 40; i++) {
      samples = (await source.increases(Date.now(), 5_000)).samples;
      if (samples.some((s) => s.name === 'istio_requests_total') && samples.some((s) => s.name.endsWith('_bucket'))) break;
      await sleep(500);
    }
    // Let a full window of scrapes in.
    await sleep(5_000);
    const window = await source.increases(Date.now(), 5_000);
    samples = window.samples;
    assert.equal(window.coveredMs, 5_000);
    const requests = samples.find((s) => s.name === 'istio_requests_total');
    assert.ok(requests, `no istio_requests_total: ${JSON.stringify(samples)}`);
    assert.equal(requests.labels.destination_workload, 'helloworld-v1');
    assert.equal(requests.labels.connection_security_policy, 'mutual_tls');
    assert.equal(requests.labels.request_protocol, undefined, 'summed by the labels the dashboard reads');
    const rate = requests.value / 5;
    assert.ok(rate > 7 && rate < 13, `rate ${rate}/s`);
    assert.deepEqual(samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.labels.le).sort(), ['+Inf', '10', '5']);
    await assert.rejects(new PrometheusTelemetry(`http://${HOST}:1`).increases(Date.now(), 5_000), /Prometheus http:\/\/127\.244\.0\.1:1 unreachable/);
  });
});
