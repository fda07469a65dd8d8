// The two metrics sources against real servers: a tiny HTTP server serving Prometheus text (what a
// sidecar's 15020/stats/prometheus serves) scraped by ProxyScrapeSource, and Debian's real Prometheus
// scraping that server, queried by PrometheusSource over its HTTP API.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sideSelector } from './analysis.js';
import { PrometheusSource, ProxyScrapeSource, type MeasureRequest } from './metrics-source.js';

const HOST = '127.245.200.1';
const PROMETHEUS = '/usr/bin/prometheus';
let server: Server;
let url: string;
let feeder: NodeJS.Timeout;
const counts = { v1ok: 0, v2ok: 0, v2err: 0 };

function text(): string {
  const series = (version: string, code: string, n: number): string[] => {
    const l = `reporter="destination",destination_service_name="helloworld",destination_service_namespace="sample",destination_version="${version}",response_code="${code}"`;
    // Every request between 5 and 10 ms.
    return [`istio_requests_total{${l}} ${n}`, `istio_request_duration_milliseconds_bucket{${l},le="5"} 0`, `istio_request_duration_milliseconds_bucket{${l},le="10"} ${n}`, `istio_request_duration_milliseconds_bucket{${l},le="+Inf"} ${n}`];
  };
  return ['# TYPE istio_requests_total counter', ...series('v1', '200', counts.v1ok), ...series('v2', '200', counts.v2ok), ...series('v2', '500', counts.v2err), ''].join('\n');
}

const request = (intervalMs: number): MeasureRequest => ({
  key: 'sample/helloworld',
  namespace: 'sample',
  service: 'helloworld',
  intervalMs,
  canaryWeight: 20,
  baseline: sideSelector('v1', { version: 'v1' }, 'helloworld', 'sample'),
  canary: sideSelector('v2', { version: 'v2' }, 'helloworld', 'sample'),
});

/** A port nothing listens on (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, HOST, () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
}

before(async () => {
  server = createServer((req, res) => {
    if (req.url !== '/stats/prometheus') return void res.writeHead(404).end();
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(text());
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  url = `http://${HOST}:${(server.address() as AddressInfo).port}/stats/prometheus`;
  // 10 canary requests per second, 2 of them 500; 40 baseline requests per second.
  feeder = setInterval(() => {
    counts.v1ok += 4;
    counts.v2ok += 0.8;
    counts.v2err += 0.2;
  }, 100);
});

after(async () => {
  clearInterval(feeder);
  await new Promise((r) => server.close(r));
});

test('proxies: two scrapes (the first primed at the weight change), deltas per side', async () => {
  const source = new ProxyScrapeSource({ targets: async () => [url] });
  await source.prime(request(1000));
  const before = { ...counts };
  await new Promise((r) => setTimeout(r, 1000));
  const m = await source.measure(request(1000));
  const after = { ...counts };
  assert.equal(m.source, 'proxies');
  // The measured window lies between the two snapshots the test took around it.
  const v2 = (c: typeof counts): number => c.v2ok + c.v2err;
  assert.ok(m.canary.requests > 0 && m.canary.requests <= v2(after) - v2(before) + 2, `canary requests ${m.canary.requests}`);
  assert.ok(Math.abs(m.canary.successRate! - 80) < 8, `success rate ${m.canary.successRate}`);
  assert.equal(m.baseline.successRate, 100);
  assert.ok(m.canary.p99Ms! > 5 && m.canary.p99Ms! <= 10, `p99 ${m.canary.p99Ms}`);
});

test('proxies: with no earlier scrape the check scrapes twice, a window apart; an unreachable pod is named', async () => {
  let slept = 0;
  const source = new ProxyScrapeSource({ targets: async () => [url], fallbackWindowMs: () => 500, sleep: async (ms) => {
    slept = ms;
    await new Promise((r) => setTimeout(r, ms));
  } });
  const m = await source.measure(request(30_000));
  assert.equal(slept, 500);
  assert.ok(m.canary.requests > 0);
  const closed = await freePort();
  const broken = new ProxyScrapeSource({ targets: async () => [`http://${HOST}:${closed}/stats/prometheus`], fallbackWindowMs: () => 0 });
  await assert.rejects(broken.measure(request(1000)), new RegExp(`scrape of http://${HOST.replace(/\./g, '\\.')}:${closed}/stats/prometheus failed: ECONNREFUSED`));
  const none = new ProxyScrapeSource({ targets: async () => [] });
  await assert.rejects(none.measure(request(1000)), /no running pod of Service sample\/helloworld to scrape/);
});

test('prometheus: the real Prometheus scraping the same server answers the success rate and p99 queries', { skip: existsSync(PROMETHEUS) ? false : `${PROMETHEUS} is not installed (Debian package prometheus)`, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'canary-prometheus-'));
  const port = await freePort();
  const target = new URL(url);
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pod\n    metrics_path: /stats/prometheus\n    static_configs:\n      - targets: ['${target.host}']\n`);
  const child = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${HOST}:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
  try {
    const address = `http://${HOST}:${port}`;
    const source = new PrometheusSource(address);
    const deadline = Date.now() + 40_000;
    let m = await source.measure(request(5000)).catch(() => undefined);
    // Until Prometheus has scraped for a few seconds: increase() needs two samples in the range.
    while (!m || m.canary.requests < 30) {
      if (Date.now() > deadline) throw new Error(`Prometheus had no usable data within 40 s: ${JSON.stringify(m)}\n${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
      m = await source.measure(request(5000)).catch(() => undefined);
    }
    assert.equal(m.source, 'prometheus');
    // 10 canary requests per second over 5 s, extrapolated by increase(): about 50.
    assert.ok(m.canary.requests > 30 && m.canary.requests < 70, `canary requests ${m.canary.requests}`);
    assert.ok(Math.abs(m.canary.successRate! - 80) < 5, `success rate ${m.canary.successRate}`);
    assert.ok(m.canary.p99Ms! > 5 && m.canary.p99Ms! <= 10, `p99 ${m.canary.p99Ms}`);
    assert.equal(m.baseline.successRate, 100);
    const closed = await freePort();
    await assert.rejects(new PrometheusSource(`http://${HOST}:${closed}`).measure(request(5000)), new RegExp(`Prometheus http://${HOST.replace(/\./g, '\\.')}:${closed} unreachable: ECONNREFUSED`));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
