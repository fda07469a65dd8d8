import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import type { ClusterObjects, IstioConfigObjects } from '../registry/build.js';
import { helloworldDestinationRule, helloworldVirtualService, scenarioClusters } from '../registry/testdata/kube-fixtures.js';
import { SnapshotCache } from '../xds/cache.js';
import { TYPE_URLS, type XdsNode } from '../xds/protos.js';
import type { MeshView } from './mesh-sources.js';
import { configDump } from './proxy-resources.js';
import { ProxyPusher } from './pusher.js';
import { ManualClock } from '../clock.js';

const HELLO_CLUSTER = 'outbound|5000||helloworld.sample.svc.cluster.local';
const SLEEP_NODE: XdsNode = { id: 'sidecar~127.10.0.6~sleep-111.sample~sample.svc.cluster.local', metadata: { fields: { CLUSTER_ID: { string_value: 'cluster-1' } } } };

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

function setup() {
  const clock = new ManualClock();
  const view = new FakeView();
  const cache = new SnapshotCache();
  const logs: string[] = [];
  const pusher = new ProxyPusher({ clusterId: 'cluster-1', view, cache, clock, log: (l) => logs.push(l) });
  pusher.rebuild();
  return { clock, view, cache, pusher, logs };
}

/** Endpoint cluster names in the CLA, in order. */
function claClusters(cache: SnapshotCache, nodeId: string): string[] {
  const cla = cache.getPrepared(nodeId)?.types.get(TYPE_URLS.endpoint)?.get(HELLO_CLUSTER)?.resource as
    | { endpoints: Array<{ lb_endpoints: Array<{ metadata: { filter_metadata: { istio: { fields: { cluster: { string_value: string } } } } } }> }> }
    | undefined;
  assert.ok(cla, `no CLA ${HELLO_CLUSTER}`);
  return cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.metadata.filter_metadata.istio.fields.cluster.string_value));
}

function routeWeights(cache: SnapshotCache, nodeId: string): Array<[string, number]> | undefined {
  const route = cache.getPrepared(nodeId)?.types.get(TYPE_URLS.route)?.get('http_proxy')?.resource as
    | { virtual_hosts: Array<{ domains: string[]; routes: Array<{ route?: { weighted_clusters?: { clusters: Array<{ name: string; weight: { value: number } }> } } }> }> }
    | undefined;
  const vhost = route?.virtual_hosts.find((v) => v.domains.some((d) => d.startsWith('helloworld')));
  const weighted = vhost?.routes[0]?.route?.weighted_clusters;
  return weighted?.clusters.map((c) => [c.name, c.weight.value]);
}

test('a proxy that connects gets its config at once, with the endpoints of both clusters', () => {
  const { cache, pusher } = setup();
  pusher.onStreamOpen(SLEEP_NODE);
  assert.deepEqual(claClusters(cache, SLEEP_NODE.id ?? ''), ['cluster-1', 'cluster-2']);
  assert.ok(cache.getPrepared(SLEEP_NODE.id ?? '')?.types.get(TYPE_URLS.listener)?.size, 'listeners present');
});

test('changes are debounced: nothing before 100 ms of quiet, at most 1 s under a stream of changes', () => {
  const { cache, pusher, view, clock } = setup();
  const id = SLEEP_NODE.id ?? '';
  pusher.onStreamOpen(SLEEP_NODE);
  view.clusterList = view.clusterList.filter((c) => c.clusterId === 'cluster-1');
  pusher.changed();
  clock.advance(99);
  assert.deepEqual(claClusters(cache, id), ['cluster-1', 'cluster-2'], 'not yet');
  clock.advance(1);
  assert.deepEqual(claClusters(cache, id), ['cluster-1'], 'remote cluster gone after the quiet period');

  view.clusterList = scenarioClusters();
  for (let t = 0; t < 990; t += 50) {
    pusher.changed();
    clock.advance(50);
  }
  assert.deepEqual(claClusters(cache, id), ['cluster-1', 'cluster-2'], 'pushed by the max delay although changes kept coming');
});

test('applying the DestinationRule and VirtualService makes http_proxy split 80/20', () => {
  const { cache, pusher, view, clock } = setup();
  const id = SLEEP_NODE.id ?? '';
  pusher.onStreamOpen(SLEEP_NODE);
  assert.equal(routeWeights(cache, id), undefined, 'no split without rules');
  view.configList = [{ cluster: 'cluster-1', virtualServices: [helloworldVirtualService(80, 20)], destinationRules: [helloworldDestinationRule], gateways: [], serviceEntries: [] }];
  pusher.changed();
  clock.advance(100);
  assert.deepEqual(routeWeights(cache, id), [
    ['outbound|5000|v1|helloworld.sample.svc.cluster.local', 80],
    ['outbound|5000|v2|helloworld.sample.svc.cluster.local', 20],
  ]);
});

test('unchanged inputs are not translated again; the last stream closing clears the node', () => {
  const { cache, pusher } = setup();
  const id = SLEEP_NODE.id ?? '';
  pusher.onStreamOpen(SLEEP_NODE);
  pusher.onStreamOpen(SLEEP_NODE);
  const pushes = pusher.stats().pushes;
  pusher.rebuild();
  assert.equal(pusher.stats().pushes, pushes);
  pusher.onStreamClosed(SLEEP_NODE);
  assert.ok(cache.getSnapshot(id), 'one stream still open');
  pusher.onStreamClosed(SLEEP_NODE);
  assert.equal(cache.getSnapshot(id), undefined);
  assert.deepEqual(pusher.connectedNodes(), []);
});

test('findNode accepts the full id or <pod>.<namespace>; config_dump carries every type with @type', () => {
  const { pusher } = setup();
  pusher.onStreamOpen(SLEEP_NODE);
  assert.equal(pusher.findNode('sleep-111.sample'), SLEEP_NODE);
  assert.equal(pusher.findNode(SLEEP_NODE.id ?? ''), SLEEP_NODE);
  assert.equal(pusher.findNode('nope.sample'), undefined);
  const dump = configDump(pusher.resourcesFor(pusher.identityOf(SLEEP_NODE)), pusher.snapshot().snapshot.version);
  assert.deepEqual(dump.configs.map((c) => c['@type'].split('.').pop()), ['ListenersConfigDump', 'RoutesConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump']);
  const clusters = dump.configs[2]['dynamic_active_clusters'] as Array<{ cluster: { '@type': string; name: string } }>;
  assert.ok(clusters.some((c) => c.cluster.name === HELLO_CLUSTER && c.cluster['@type'] === TYPE_URLS.cluster));
});
