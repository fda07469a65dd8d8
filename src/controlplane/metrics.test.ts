import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import type { ClusterObjects, IstioConfigObjects } from '../registry/build.js';
import { helloworldDestinationRule, helloworldVirtualService, scenarioClusters } from '../registry/testdata/kube-fixtures.js';
import { SnapshotCache } from '../xds/cache.js';
import { TYPE_URLS, type DiscoveryRequest, type DiscoveryResponse, type XdsNode } from '../xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import { adsClient, ResponseQueue, waitFor } from '../xds/testdata/ads-client.js';
import { startDebugServer, type RunningDebugServer } from './debug-server.js';
import type { MeshView, SourcesStatus } from './mesh-sources.js';
import { ControlPlaneMetrics } from './metrics.js';
import { ProxyPusher } from './pusher.js';

const SLEEP_NODE: XdsNode = {
  id: 'sidecar~127.10.0.6~sleep-111.sample~sample.svc.cluster.local',
  user_agent_name: 'envoy',
  user_agent_version: '1.36.2',
  metadata: { fields: { CLUSTER_ID: { string_value: 'cluster-1' } } },
};

class FakeView implements MeshView {
  clusterList: ClusterObjects[] = scenarioClusters();
  configList: IstioConfigObjects[] = [{ cluster: 'cluster-1', virtualServices: [], destinationRules: [], gateways: [], serviceEntries: [] }];
  clusters(): ClusterObjects[] {
    return this.clusterList;
  }
  config(): IstioConfigObjects[] {
    return this.configList;
  }
  findPod(cluster: string, namespace: string, name: string): V1Pod | undefined {
    return this.clusterList.find((c) => c.clusterId === cluster)?.pods.find((p) => p.metadata?.namespace === namespace && p.metadata?.name === name);
  }
}

const view = new FakeView();
const cache = new SnapshotCache();
let running: RunningXdsServer | undefined;
const metrics = new ControlPlaneMetrics(() => running?.xds.status() ?? []);
const pusher = new ProxyPusher({ clusterId: 'cluster-1', view, cache, metrics, debounce: { quietMs: 10, maxDelayMs: 50 }, log: () => {} });
let debug: RunningDebugServer;
let client: ReturnType<typeof adsClient>;

before(async () => {
  pusher.rebuild();
  running = await startXdsServer({
    host: '127.0.0.1',
    port: 0,
    cache,
    observer: metrics,
    onStreamOpen: (node, stream) => pusher.onStreamOpen(node, stream),
    onStreamClosed: (node) => pusher.onStreamClosed(node),
    log: () => {},
  });
  debug = await startDebugServer({
    host: '127.0.0.1',
    port: 0,
    pusher,
    xds: () => running?.xds,
    sources: () => ({}) as SourcesStatus,
    metrics,
    log: () => {},
  });
  client = adsClient(running.port);
});

after(async () => {
  client.close();
  pusher.stop();
  await running?.close();
  await debug.close();
});

/** The /metrics page of the debug port, as Prometheus scrapes it. */
async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${debug.port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample (name and exact label set as exposed), or undefined when absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('pushes, NACKs, connected proxies and convergence are counted as istiod counts them, from a real ADS stream', async () => {
  const stream = client.StreamAggregatedResources();
  const responses = new ResponseQueue<DiscoveryResponse>(stream);
  const request = (r: Omit<DiscoveryRequest, 'node'>): void => void stream.write({ node: SLEEP_NODE, ...r });

  request({ type_url: TYPE_URLS.cluster, resource_names: [] });
  const first = await responses.next();
  request({ type_url: TYPE_URLS.cluster, version_info: first.version_info, resource_names: [], response_nonce: first.nonce });
  let text = await scrape();
  assert.equal(sample(text, 'pilot_xds', 'version="envoy 1.36.2"'), 1, 'one connected proxy, by its version');
  assert.equal(sample(text, 'pilot_xds_pushes', 'type="cds"'), 1);
  assert.equal(sample(text, 'pilot_xds_push_time_count', 'type="cds"'), 1);
  assert.equal(sample(text, 'pilot_total_xds_rejects', 'type="cds"'), undefined, 'no NACK yet');
  assert.equal(sample(text, 'pilot_proxy_convergence_time_count'), 0, 'a first connection is not a config event');

  // A config event: the subsets of a DestinationRule are new clusters, so CDS is pushed again.
  view.configList = [{ cluster: 'cluster-1', virtualServices: [helloworldVirtualService(80, 20)], destinationRules: [helloworldDestinationRule], gateways: [], serviceEntries: [] }];
  pusher.changed();
  const second = await responses.next();
  assert.notEqual(second.version_info, first.version_info);
  // The proxy refuses it.
  request({ type_url: TYPE_URLS.cluster, version_info: first.version_info, resource_names: [], response_nonce: second.nonce, error_detail: { code: 3, message: 'refused for the test' } });
  await waitFor('the NACK counted', async () => sample(await scrape(), 'pilot_total_xds_rejects', 'type="cds"') === 1);
  text = await scrape();
  assert.equal(sample(text, 'pilot_xds_pushes', 'type="cds"'), 2);
  assert.equal(sample(text, 'pilot_proxy_convergence_time_count'), 1, 'the proxy got the result of one config event');
  assert.ok((sample(text, 'pilot_proxy_convergence_time_sum') ?? 0) >= 0.01, 'convergence time includes the 10 ms debounce');
  assert.equal(sample(text, 'pilot_proxy_convergence_time_bucket', 'le="30"'), 1, "istiod's buckets");
  assert.equal(sample(text, 'pilot_proxy_convergence_time_bucket', 'le="0.1"') !== undefined, true);
  assert.equal(sample(text, 'pilot_xds_push_time_bucket', 'le="0.01",type="cds"') !== undefined, true);

  stream.end();
  await waitFor('the stream closed', async () => sample(await scrape(), 'pilot_xds', 'version="envoy 1.36.2"') === undefined);
});

test('the CA counters and an unknown debug path', async () => {
  metrics.csrReceived();
  metrics.csrReceived();
  metrics.certificateIssued();
  const text = await scrape();
  assert.equal(sample(text, 'citadel_server_csr_count'), 2);
  assert.equal(sample(text, 'citadel_server_success_cert_issuance_count'), 1);
  const res = await fetch(`http://127.0.0.1:${debug.port}/nope`);
  assert.equal(res.status, 404);
  assert.match(((await res.json()) as { error: string }).error, /\/metrics/);
});
