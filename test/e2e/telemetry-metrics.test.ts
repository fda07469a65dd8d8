// Istio's standard metrics from the seed mesh, as Prometheus would scrape them: sleep in cluster-1 calls
// helloworld (v1 in cluster-1, v2 in cluster-2, the 80/20 VirtualService) N times; then each pod's
// POD_IP:15020/stats/prometheus (the port its prometheus.io annotations name) must count exactly those
// requests: reporter=source on sleep, split by destination_version as the answers were, and
// reporter=destination on each helloworld pod, with the source's workload, the destination's cluster and
// mutual_tls. The label sets are literals here, the same on both data planes: that is the proof that
// Envoy (over the access log service) and the meshwork proxy (in process) give the agent the same facts.
// Two local clusters on loopback octet 8 (pods of cluster-1 are 127.8.0.0/17, of cluster-2 127.18.0.0/17).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { E2E_DATA_PLANE, MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { podName, sendFromPod, type Split } from '../helpers/traffic.js';
import { until } from '../helpers/until.js';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';
import {
  ENVOY_DEFAULT_BUCKETS_MS,
  ISTIO_REQUEST_DURATION,
  ISTIO_REQUESTS_TOTAL,
  ISTIO_RESPONSE_BYTES,
  MERGED_METRICS_PATH,
  MERGED_METRICS_PORT,
} from '../../src/telemetry/istio-metric-names.js';

const CONTEXTS = ['cluster-1', 'cluster-2'] as const;
const N = 200;
/** Requests through cluster-1's ingress gateway. */
const M = 60;
const GATEWAY_NS = 'istio-gateway';
const HELLOWORLD = 'helloworld.sample.svc.cluster.local';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text format, the sample lines (no escapes in our label values). */
function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function matching(samples: readonly Sample[], name: string, where: Record<string, string>): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
}

const sum = (samples: readonly Sample[]): number => samples.reduce((a, s) => a + s.value, 0);

/** The sum of `name` over the series matching `where`, after minus before. */
function delta(earlier: readonly Sample[], later: readonly Sample[], name: string, where: Record<string, string>): number {
  return sum(matching(later, name, where)) - sum(matching(earlier, name, where));
}

const SLEEP_SIDE = {
  source_workload: 'sleep', source_workload_namespace: 'sample', source_principal: 'spiffe://cluster.local/ns/sample/sa/sleep', source_app: 'sleep',
  source_version: 'unknown', source_cluster: 'cluster-1', source_canonical_service: 'sleep', source_canonical_revision: 'latest',
};

function helloworldSide(version: 'v1' | 'v2', cluster: string, principalKnown: boolean): Record<string, string> {
  return {
    destination_workload: `helloworld-${version}`, destination_workload_namespace: 'sample',
    destination_principal: principalKnown ? 'spiffe://cluster.local/ns/sample/sa/default' : 'unknown',
    destination_app: 'helloworld', destination_version: version, destination_service: HELLOWORLD, destination_service_name: 'helloworld',
    destination_service_namespace: 'sample', destination_cluster: cluster, destination_canonical_service: 'helloworld', destination_canonical_revision: version,
  };
}

const HTTP_200 = { request_protocol: 'http', response_code: '200', grpc_response_status: '', response_flags: '-' };

describe(`Istio metrics from every sidecar on :15020 (${E2E_DATA_PLANE} data plane)`, { timeout: 900_000 }, () => {
  const env = new MeshworkEnv(8);
  let sleep = '';
  const helloworld: Record<string, { pod: string; ip: string }> = {};
  let sleepIp = '';
  const podIp = async (ctx: string, pod: string) => (await env.kubectlOk(ctx, ['get', 'pod', '-n', 'sample', pod, '-o', 'jsonpath={.status.podIP}'])).trim();
  const scrape = async (ip: string): Promise<Sample[]> => {
    const res = await fetch(`http://${ip}:${MERGED_METRICS_PORT}${MERGED_METRICS_PATH}`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    return parseSamples(await res.text());
  };

  before(async () => {
    await env.upWithControlPlanes(CONTEXTS);
    for (const ctx of CONTEXTS) {
      await env.deployHelloworld(ctx);
      await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
      for (const rule of ['helloworld-destinationrule.yaml', 'helloworld-virtualservice.yaml']) await env.kubectlOk(ctx, ['apply', '-n', 'sample', '-f', join(scenarioDir(), rule)]);
    }
    // cluster-1's ingress gateway, as the scenario deploys it, routing /hello to helloworld.
    await env.kubectlOk('cluster-1', ['create', 'namespace', GATEWAY_NS]);
    await env.kubectlOk('cluster-1', ['label', 'namespace', GATEWAY_NS, 'istio.io/rev=asm-managed-stable']);
    await env.kubectlOk('cluster-1', ['apply', '-n', GATEWAY_NS, '-f', join(scenarioDir(), 'istio-ingressgateway')]);
    await env.kubectlOk('cluster-1', ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'helloworld-gateway.yaml')]);
    await env.waitPodsReady('cluster-1', GATEWAY_NS, 'app=istio-ingressgateway', 1);
    for (const ctx of CONTEXTS) {
      await env.waitPodsReady(ctx, 'sample', 'app=helloworld', 2);
      await env.waitPodsReady(ctx, 'sample', 'app=sleep', 2);
    }
    const joined = await env.meshwork(['create-mesh', ...CONTEXTS]);
    assert.equal(joined.code, 0, joined.stderr + joined.stdout);
    sleep = await podName(env, 'cluster-1', 'sample', 'app=sleep');
    sleepIp = await podIp('cluster-1', sleep);
    for (const [ctx, version] of [['cluster-1', 'v1'], ['cluster-2', 'v2']] as const) {
      const pod = await podName(env, ctx, 'sample', `app=helloworld,version=${version}`);
      helloworld[version] = { pod, ip: await podIp(ctx, pod) };
    }
  });
  after(() => env.cleanup());

  test('pods are annotated for Prometheus as Istio\'s injector does', async () => {
    const annotations = JSON.parse(await env.kubectlOk('cluster-1', ['get', 'pod', '-n', 'sample', sleep, '-o', 'jsonpath={.metadata.annotations}'])) as Record<string, string>;
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/port'], String(MERGED_METRICS_PORT));
    assert.equal(annotations['prometheus.io/path'], MERGED_METRICS_PATH);
  });

  test(`${N} requests from sleep: exact counts at the source and at each destination, Istio's labels, Envoy's buckets`, async () => {
    // Until sleep reaches both versions across the clusters (these requests are counted too: deltas below).
    await until('sleep reaches helloworld v1 and v2', 60_000, async () => {
      const split = await sendFromPod(env, 'cluster-1', 'sample', sleep, 'http://helloworld.sample:5000/hello', 20);
      return Object.keys(split.byVersion).length === 2 ? true : undefined;
    });
    // Everything sent so far has been counted (the access logs flush within a second): the before-scrape is settled.
    const settled = async (ip: string): Promise<Sample[]> => {
      let last = -1;
      return until(`${ip}: counts settle`, 20_000, async () => {
        const samples = await scrape(ip);
        const now = sum(matching(samples, ISTIO_REQUESTS_TOTAL, {}));
        const stable = now === last;
        last = now;
        if (!stable) await new Promise((r) => setTimeout(r, 1500));
        return stable ? samples : undefined;
      });
    };
    const start = { sleep: await settled(sleepIp), v1: await settled(helloworld['v1']!.ip), v2: await settled(helloworld['v2']!.ip) };

    const split: Split = await sendFromPod(env, 'cluster-1', 'sample', sleep, 'http://helloworld.sample:5000/hello', N);
    assert.equal(split.failures, 0, `${split.failures} of ${N} requests failed`);
    const v1 = split.byVersion['v1'] ?? 0;
    const v2 = split.byVersion['v2'] ?? 0;
    const fit = chiSquareTest([v1, v2], [80, 20], SUITE_ALPHA);
    assert.ok(fit.pass, `split v1=${v1} v2=${v2} is not 80/20 (p=${fit.pValue})`);

    const sourceLabels = (version: 'v1' | 'v2') => ({
      reporter: 'source', ...SLEEP_SIDE, ...helloworldSide(version, version === 'v1' ? 'cluster-1' : 'cluster-2', true), ...HTTP_200, connection_security_policy: 'unknown',
    });
    const destinationLabels = (version: 'v1' | 'v2') => ({
      reporter: 'destination', ...SLEEP_SIDE, ...helloworldSide(version, version === 'v1' ? 'cluster-1' : 'cluster-2', true), ...HTTP_200, connection_security_policy: 'mutual_tls',
    });

    const counted = await until('every request is counted at the source and at its destination', 20_000, async () => {
      const now = { sleep: await scrape(sleepIp), v1: await scrape(helloworld['v1']!.ip), v2: await scrape(helloworld['v2']!.ip) };
      const done = delta(start.sleep, now.sleep, ISTIO_REQUESTS_TOTAL, { reporter: 'source', destination_service_name: 'helloworld' }) >= N &&
        delta(start.v1, now.v1, ISTIO_REQUESTS_TOTAL, { reporter: 'destination' }) >= v1 &&
        delta(start.v2, now.v2, ISTIO_REQUESTS_TOTAL, { reporter: 'destination' }) >= v2;
      return done ? now : undefined;
    });
    // A second look: nothing counted twice or late.
    await new Promise((r) => setTimeout(r, 1500));
    const final = { sleep: await scrape(sleepIp), v1: await scrape(helloworld['v1']!.ip), v2: await scrape(helloworld['v2']!.ip) };
    assert.deepEqual(final.sleep.filter((s) => s.name === ISTIO_REQUESTS_TOTAL), counted.sleep.filter((s) => s.name === ISTIO_REQUESTS_TOTAL));

    // The source: every request once, under exactly the label set of its version.
    assert.equal(delta(start.sleep, final.sleep, ISTIO_REQUESTS_TOTAL, { reporter: 'source', destination_service_name: 'helloworld' }), N);
    for (const [version, count] of [['v1', v1], ['v2', v2]] as const) {
      const series = matching(final.sleep, ISTIO_REQUESTS_TOTAL, { reporter: 'source', destination_version: version });
      assert.equal(series.length, 1, `one source series for ${version}: ${JSON.stringify(series.map((s) => s.labels))}`);
      assert.deepEqual(series[0]!.labels, sourceLabels(version));
      assert.equal(delta(start.sleep, final.sleep, ISTIO_REQUESTS_TOTAL, sourceLabels(version)), count, `source count for ${version}`);
    }
    // Each destination: the requests it answered, from sleep, over mTLS.
    for (const [version, count] of [['v1', v1], ['v2', v2]] as const) {
      const samples = final[version];
      const series = matching(samples, ISTIO_REQUESTS_TOTAL, { reporter: 'destination', source_workload: 'sleep' });
      assert.equal(series.length, 1, `one destination series on helloworld-${version}: ${JSON.stringify(series.map((s) => s.labels))}`);
      assert.deepEqual(series[0]!.labels, destinationLabels(version));
      assert.equal(delta(start[version], samples, ISTIO_REQUESTS_TOTAL, destinationLabels(version)), count, `destination count on helloworld-${version}`);
      // The duration histogram with Envoy's buckets, one observation per request; bytes histograms too.
      const buckets = matching(samples, `${ISTIO_REQUEST_DURATION}_bucket`, destinationLabels(version)).map((s) => s.labels['le']);
      assert.deepEqual(buckets, [...ENVOY_DEFAULT_BUCKETS_MS.map(String), '+Inf']);
      assert.equal(delta(start[version], samples, `${ISTIO_REQUEST_DURATION}_count`, destinationLabels(version)), count);
      assert.equal(delta(start[version], samples, `${ISTIO_RESPONSE_BYTES}_count`, destinationLabels(version)), count);
      assert.ok(delta(start[version], samples, `${ISTIO_RESPONSE_BYTES}_sum`, destinationLabels(version)) > 0);
    }
    await env.assertDataPlaneAcceptedEverything(CONTEXTS);
  });

  test(`${M} requests through the ingress gateway: reporter=source on the gateway pod, its workload at each destination`, async () => {
    const gatewayIp = (await env.kubectlOk('cluster-1', ['get', 'pods', '-n', GATEWAY_NS, '-l', 'app=istio-ingressgateway', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    const get = async (): Promise<string> => {
      const res = await fetch(`http://${gatewayIp}/hello`, { signal: AbortSignal.timeout(5000) });
      const body = await res.text();
      return res.status === 200 ? (/Hello version: (v\d+)/.exec(body)?.[1] ?? '') : '';
    };
    await until('the gateway reaches helloworld in both clusters', 60_000, async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add(await get());
      return seen.has('v1') && seen.has('v2') ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 2000));
    const start = { gateway: await scrape(gatewayIp), v1: await scrape(helloworld['v1']!.ip), v2: await scrape(helloworld['v2']!.ip) };
    const answers: Record<string, number> = {};
    for (let i = 0; i < M; i++) {
      const version = await get();
      answers[version] = (answers[version] ?? 0) + 1;
    }
    assert.equal((answers['v1'] ?? 0) + (answers['v2'] ?? 0), M, JSON.stringify(answers));
    const gatewaySide = {
      source_workload: 'istio-ingressgateway', source_workload_namespace: GATEWAY_NS, source_principal: `spiffe://cluster.local/ns/${GATEWAY_NS}/sa/istio-ingressgateway`,
      source_app: 'istio-ingressgateway', source_version: 'unknown', source_cluster: 'cluster-1', source_canonical_service: 'istio-ingressgateway', source_canonical_revision: 'latest',
    };
    const labels = (reporter: 'source' | 'destination', version: 'v1' | 'v2') => ({
      reporter, ...gatewaySide, ...helloworldSide(version, version === 'v1' ? 'cluster-1' : 'cluster-2', true), ...HTTP_200,
      connection_security_policy: reporter === 'source' ? 'unknown' : 'mutual_tls',
    });
    const scrapeAll = async () => ({ gateway: await scrape(gatewayIp), v1: await scrape(helloworld['v1']!.ip), v2: await scrape(helloworld['v2']!.ip) });
    // Until every request is counted; on a timeout the assertions below say what is missing.
    const counted = await until('every gateway request is counted', 20_000, async () => {
      const now = await scrapeAll();
      const done = delta(start.gateway, now.gateway, ISTIO_REQUESTS_TOTAL, { reporter: 'source' }) >= M &&
        (['v1', 'v2'] as const).every((v) => delta(start[v], now[v], ISTIO_REQUESTS_TOTAL, { reporter: 'destination', source_workload: 'istio-ingressgateway' }) >= (answers[v] ?? 0));
      return done ? now : undefined;
    }).catch(scrapeAll);
    const seriesText = (samples: readonly Sample[]) => JSON.stringify(matching(samples, ISTIO_REQUESTS_TOTAL, {}).map((x) => [x.labels, x.value]));
    assert.equal(delta(start.gateway, counted.gateway, ISTIO_REQUESTS_TOTAL, { reporter: 'source' }), M, seriesText(counted.gateway));
    for (const version of ['v1', 'v2'] as const) {
      const series = matching(counted.gateway, ISTIO_REQUESTS_TOTAL, { reporter: 'source', destination_version: version });
      assert.equal(series.length, 1, `one gateway series for ${version}: ${JSON.stringify(series.map((s) => s.labels))}`);
      assert.deepEqual(series[0]!.labels, labels('source', version));
      assert.equal(delta(start.gateway, counted.gateway, ISTIO_REQUESTS_TOTAL, labels('source', version)), answers[version] ?? 0);
      assert.equal(delta(start[version], counted[version], ISTIO_REQUESTS_TOTAL, labels('destination', version)), answers[version] ?? 0, seriesText(counted[version]));
    }
  });
});
