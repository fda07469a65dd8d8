import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appAddressFor, buildMeshSnapshot, type ClusterObjects } from './build.js';
import { helloworldDestinationRule, helloworldVirtualService, pod, scenarioClusters, service, slice } from './testdata/kube-fixtures.js';

const HELLO = 'helloworld.sample.svc.cluster.local';

function endpointsOf(clusters: ClusterObjects[], hostname = HELLO) {
  return buildMeshSnapshot({ clusters, config: [] }).snapshot.endpoints.filter((e) => e.hostname === hostname);
}

test('the same Service in two clusters is one mesh service with the endpoints of both', () => {
  const { snapshot } = buildMeshSnapshot({ clusters: scenarioClusters(), config: [] });
  assert.deepEqual(
    snapshot.services.map((s) => [s.hostname, s.clusters]),
    [
      [HELLO, ['cluster-1', 'cluster-2']],
      ['sleep.sample.svc.cluster.local', ['cluster-1', 'cluster-2']],
    ],
  );
  assert.deepEqual(snapshot.services[0].ports, [{ name: 'http', port: 5000, protocol: 'TCP' }]);
  const hello = snapshot.endpoints.filter((e) => e.hostname === HELLO);
  assert.deepEqual(hello, [
    {
      hostname: HELLO, cluster: 'cluster-1', address: '127.10.0.5', ports: { http: 5000 }, labels: { app: 'helloworld', version: 'v1' },
      locality: { region: 'local', zone: 'cluster-1' }, ready: true, podName: 'helloworld-v1-abc', namespace: 'sample', hasSidecar: true, appAddress: '127.10.128.5', serviceAccount: 'default',
    },
    {
      hostname: HELLO, cluster: 'cluster-2', address: '127.20.0.5', ports: { http: 5000 }, labels: { app: 'helloworld', version: 'v2' },
      locality: { region: 'local', zone: 'cluster-2' }, ready: true, podName: 'helloworld-v2-def', namespace: 'sample', hasSidecar: true, appAddress: '127.20.128.5', serviceAccount: 'default',
    },
  ]);
  assert.equal(snapshot.domainSuffix, 'cluster.local');
});

test('readiness: ready=false is kept as not ready; an absent condition means ready', () => {
  const [c1] = scenarioClusters();
  const cluster: ClusterObjects = {
    ...c1,
    pods: [...c1.pods, pod('helloworld-v1-b', 'sample', '127.10.0.7', { app: 'helloworld', version: 'v1' })],
    endpointSlices: [
      slice('helloworld-x1', 'sample', 'helloworld', [{ name: 'http', port: 5000 }], [
        { ip: '127.10.0.5', pod: 'helloworld-v1-abc', ready: false },
        { ip: '127.10.0.7', pod: 'helloworld-v1-b' },
      ]),
    ],
  };
  const eps = endpointsOf([cluster]);
  assert.deepEqual(eps.map((e) => [e.address, e.ready, e.hasSidecar, e.appAddress]), [
    ['127.10.0.5', false, true, '127.10.128.5'],
    ['127.10.0.7', true, false, undefined],
  ]);
});

test('ports: named target ports resolve through the slice; unnamed ports are keyed by number', () => {
  const cases: Array<{ what: string; svcPorts: Array<{ name?: string; port: number; targetPort?: number | string }>; slicePorts: Array<{ name?: string; port: number }>; want: Record<string, number> | undefined }> = [
    { what: 'named targetPort', svcPorts: [{ name: 'http', port: 80, targetPort: 'web' }], slicePorts: [{ name: 'http', port: 8080 }], want: { http: 8080 } },
    { what: 'unnamed port', svcPorts: [{ port: 5000 }], slicePorts: [{ port: 5000 }], want: { '5000': 5000 } },
    { what: 'two ports, one resolved', svcPorts: [{ name: 'http', port: 80 }, { name: 'grpc', port: 90 }], slicePorts: [{ name: 'grpc', port: 9090 }], want: { grpc: 9090 } },
    { what: 'no port resolved: no endpoint', svcPorts: [{ name: 'http', port: 80 }], slicePorts: [{ name: 'other', port: 1 }], want: undefined },
  ];
  for (const c of cases) {
    const cluster: ClusterObjects = {
      clusterId: 'cluster-1',
      namespaces: [],
      services: [service('web', 'ns', c.svcPorts)],
      pods: [pod('web-1', 'ns', '127.10.0.9', { app: 'web' })],
      endpointSlices: [slice('web-a', 'ns', 'web', c.slicePorts, [{ ip: '127.10.0.9', pod: 'web-1' }])],
    };
    const eps = endpointsOf([cluster], 'web.ns.svc.cluster.local');
    assert.deepEqual(eps[0]?.ports, c.want, c.what);
  }
});

test('a remote cluster removed: only the local endpoints remain, and the version changes', () => {
  const both = buildMeshSnapshot({ clusters: scenarioClusters(), config: [] }).snapshot;
  const [c1] = scenarioClusters();
  const one = buildMeshSnapshot({ clusters: [c1], config: [] }).snapshot;
  assert.deepEqual(one.endpoints.filter((e) => e.hostname === HELLO).map((e) => e.cluster), ['cluster-1']);
  assert.deepEqual(one.services.find((s) => s.hostname === HELLO)?.clusters, ['cluster-1']);
  assert.notEqual(one.version, both.version);
});

test('the version depends on content only, not on the order the caches list objects', () => {
  const a = buildMeshSnapshot({ clusters: scenarioClusters(), config: [] }).snapshot;
  const reversed = scenarioClusters().reverse().map((c) => ({ ...c, pods: [...c.pods].reverse(), services: [...c.services].reverse(), endpointSlices: [...c.endpointSlices].reverse() }));
  const b = buildMeshSnapshot({ clusters: reversed, config: [] }).snapshot;
  assert.equal(a.version, b.version);
  assert.deepEqual(a, b);
});

test('an endpoint whose pod is not in the cache yet is left out and noted; one without targetRef is kept', () => {
  const [c1] = scenarioClusters();
  const cluster: ClusterObjects = {
    ...c1,
    endpointSlices: [
      slice('helloworld-x1', 'sample', 'helloworld', [{ name: 'http', port: 5000 }], [
        { ip: '127.10.0.5', pod: 'helloworld-v1-abc' },
        { ip: '127.10.0.50', pod: 'not-yet-seen' },
        { ip: '127.10.0.51' },
      ]),
    ],
  };
  const { snapshot, notes } = buildMeshSnapshot({ clusters: [cluster], config: [] });
  assert.deepEqual(snapshot.endpoints.filter((e) => e.hostname === HELLO).map((e) => [e.address, e.podName]), [
    ['127.10.0.5', 'helloworld-v1-abc'],
    ['127.10.0.51', undefined],
  ]);
  assert.deepEqual(notes.endpointsWithoutPod, [{ cluster: 'cluster-1', namespace: 'sample', pod: 'not-yet-seen', service: 'helloworld' }]);
});

test('locality from topology labels when the pod has them; app address only on local-cluster pod IPs', () => {
  const cluster: ClusterObjects = {
    clusterId: 'gke-1',
    namespaces: [],
    services: [service('web', 'ns', [{ name: 'http', port: 80 }])],
    pods: [pod('web-1', 'ns', '10.4.2.9', { app: 'web' }, { sidecar: true, extraLabels: { 'topology.kubernetes.io/region': 'us-central1', 'topology.kubernetes.io/zone': 'us-central1-a' } })],
    endpointSlices: [slice('web-a', 'ns', 'web', [{ name: 'http', port: 80 }], [{ ip: '10.4.2.9', pod: 'web-1' }])],
  };
  const [ep] = endpointsOf([cluster], 'web.ns.svc.cluster.local');
  assert.deepEqual(ep.locality, { region: 'us-central1', zone: 'us-central1-a' });
  assert.equal(ep.hasSidecar, true);
  assert.equal(ep.appAddress, undefined);
  assert.equal(appAddressFor('127.10.3.4'), '127.10.131.4');
  assert.equal(appAddressFor('127.10.130.4'), undefined);
});

test('Istio config keeps the cluster it was read from; malformed objects are noted, not served', () => {
  const { snapshot, notes } = buildMeshSnapshot({
    clusters: scenarioClusters(),
    config: [
      { cluster: 'cluster-1', virtualServices: [helloworldVirtualService(80, 20), { metadata: { name: 'broken', namespace: 'sample' } }], destinationRules: [helloworldDestinationRule], gateways: [], serviceEntries: [] },
    ],
  });
  assert.deepEqual(snapshot.virtualServices.map((v) => [v.namespace, v.name, v.cluster]), [['sample', 'helloworld', 'cluster-1']]);
  assert.deepEqual(snapshot.virtualServices[0].spec.http?.[0].route?.map((r) => r.weight), [80, 20]);
  assert.deepEqual(snapshot.destinationRules.map((d) => d.spec.subsets?.map((s) => s.name)), [['v1', 'v2']]);
  assert.equal(notes.malformedConfig.length, 1);
  assert.match(notes.malformedConfig[0].name, /sample\/broken/);
  const without = buildMeshSnapshot({ clusters: scenarioClusters(), config: [] }).snapshot;
  assert.notEqual(snapshot.version, without.version, 'config is part of the version');
});

test('ExternalName services are skipped with a note', () => {
  const ext = { ...service('ext', 'ns', [{ port: 80 }]), spec: { type: 'ExternalName', externalName: 'example.com' } };
  const { snapshot, notes } = buildMeshSnapshot({ clusters: [{ clusterId: 'c', namespaces: [], services: [ext], pods: [], endpointSlices: [] }], config: [] });
  assert.equal(snapshot.services.length, 0);
  assert.equal(notes.skippedServices[0]?.name, 'ext');
});

test('Istio config keeps metadata.creationTimestamp (a string, or a Date as client-node gives it): merged config is ordered by it', () => {
  const vs = helloworldVirtualService(80, 20);
  const { snapshot } = buildMeshSnapshot({
    clusters: scenarioClusters(),
    config: [{
      cluster: 'cluster-1',
      virtualServices: [{ ...vs, metadata: { ...vs.metadata, creationTimestamp: new Date('2021-05-06T07:08:09Z') } }],
      destinationRules: [{ ...helloworldDestinationRule, metadata: { ...helloworldDestinationRule.metadata, creationTimestamp: '2020-01-02T03:04:05Z' } }],
      gateways: [],
      serviceEntries: [],
    }],
  });
  assert.equal(snapshot.virtualServices[0].creationTimestamp, '2021-05-06T07:08:09.000Z');
  assert.equal(snapshot.destinationRules[0].creationTimestamp, '2020-01-02T03:04:05Z');
});

test('an endpoint carries its pod\'s service account (default when the pod names none); PeerAuthentications and the trust domain reach the snapshot', () => {
  const named = pod('web-1', 'ns', '10.4.2.9', { app: 'web' }, { sidecar: true });
  named.spec = { ...named.spec!, serviceAccountName: 'web-sa' };
  const cluster: ClusterObjects = {
    clusterId: 'c',
    namespaces: [],
    services: [service('web', 'ns', [{ name: 'http', port: 80 }])],
    pods: [named, pod('web-2', 'ns', '10.4.2.10', { app: 'web' }, { sidecar: true })],
    endpointSlices: [slice('web-a', 'ns', 'web', [{ name: 'http', port: 80 }], [{ ip: '10.4.2.9', pod: 'web-1' }, { ip: '10.4.2.10', pod: 'web-2' }, { ip: '10.4.2.11' }])],
  };
  const pa = { metadata: { name: 'strict', namespace: 'ns' }, spec: { mtls: { mode: 'STRICT' } } };
  const { snapshot } = buildMeshSnapshot({
    clusters: [cluster],
    config: [{ cluster: 'c', virtualServices: [], destinationRules: [], gateways: [], serviceEntries: [], peerAuthentications: [pa], trustDomain: 'example.org' }],
  });
  assert.deepEqual(snapshot.endpoints.map((e) => [e.address, e.serviceAccount]), [['10.4.2.9', 'web-sa'], ['10.4.2.10', 'default'], ['10.4.2.11', undefined]]);
  assert.deepEqual(snapshot.peerAuthentications?.map((p) => [p.namespace, p.name, p.spec.mtls?.mode]), [['ns', 'strict', 'STRICT']]);
  assert.equal(snapshot.trustDomain, 'example.org');
  const without = buildMeshSnapshot({ clusters: [cluster], config: [] }).snapshot;
  assert.equal('peerAuthentications' in without || 'trustDomain' in without, false, 'snapshots without them keep their old shape (and version)');
});
