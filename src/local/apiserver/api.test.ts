// The HTTP API below kubectl: discovery, OpenAPI, tables, write rules, admission, error shapes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findByPlural } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { humanDuration } from '../../k8s/age.js';
import { parseRoute } from './routes.js';
import { toTable } from './tables.js';
import type { TestCluster } from './test-support.js';
import { startTestCluster } from './test-support.js';

const PODS = findByPlural('', 'pods')!;
// Assertions walk arbitrary JSON answers, whose shape is what is being tested.
type Json = Record<string, any>;

describe('routes, ages and tables (pure)', () => {
  test('paths map to resources, subresources and namespaces', () => {
    assert.deepEqual(parseRoute('/api/v1/namespaces/sample'), { kind: 'resource', type: findByPlural('', 'namespaces'), group: '', version: 'v1', namespace: undefined, name: 'sample', subresource: undefined, watchPath: false });
    const status = parseRoute('/api/v1/namespaces/sample/status');
    assert.equal(status.kind === 'resource' && `${status.name}/${status.subresource}`, 'sample/status');
    const log = parseRoute('/api/v1/namespaces/ns/pods/p/log');
    assert.equal(log.kind === 'resource' && `${log.namespace}/${log.name}/${log.subresource}`, 'ns/p/log');
    const w = parseRoute('/apis/networking.istio.io/v1alpha3/watch/namespaces/ns/virtualservices');
    assert.equal(w.kind === 'resource' && w.watchPath && w.version, 'v1alpha3');
    assert.equal(parseRoute('/apis/networking.istio.io/v2/virtualservices').kind, 'not-found');
    assert.equal(parseRoute('/api/v1/namespaces/ns/namespaces').kind, 'not-found');
    assert.equal(parseRoute('/api/v1/namespaces/ns/pods/p/scale').kind, 'not-found');
  });

  test('ages print as kubectl prints them', () => {
    assert.equal(humanDuration(5_000), '5s');
    assert.equal(humanDuration(150_000), '2m30s');
    assert.equal(humanDuration(45 * 60_000), '45m');
    assert.equal(humanDuration(5 * 3600_000 + 7 * 60_000), '5h7m');
    assert.equal(humanDuration(3 * 86400_000 + 3600_000), '3d1h');
  });

  test('pod rows: ready count, status, restarts, wide columns, and the row object', () => {
    const now = Date.parse('2024-01-01T00:10:00Z');
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns', creationTimestamp: '2024-01-01T00:00:00Z' },
      spec: { containers: [{ name: 'a' }, { name: 'b' }], nodeName: 'cluster-1-node' },
      status: {
        phase: 'Running',
        podIP: '127.10.0.2',
        containerStatuses: [
          { name: 'a', ready: true, restartCount: 0, state: { running: {} } },
          { name: 'b', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { finishedAt: '2024-01-01T00:09:00Z' } } },
        ],
      },
    };
    const table = toTable(PODS, [pod], { now, includeObject: 'Metadata' }) as Json;
    assert.deepEqual(table.columnDefinitions.map((c: Json) => `${c.name}:${c.priority}`), ['Name:0', 'Ready:0', 'Status:0', 'Restarts:0', 'Age:0', 'IP:1', 'Node:1', 'Nominated Node:1', 'Readiness Gates:1']);
    assert.deepEqual(table.rows[0].cells, ['p', '1/2', 'CrashLoopBackOff', '2 (60s ago)', '10m', '127.10.0.2', 'cluster-1-node', '<none>', '<none>']);
    assert.deepEqual(table.rows[0].object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod.metadata });
    const full = toTable(PODS, [pod], { now, includeObject: 'Object' }) as Json;
    assert.equal(full.rows[0].object.kind, 'Pod');
  });
});

describe('other printers (pure)', () => {
  const now = Date.parse('2024-01-01T01:00:00Z');
  const meta = { name: 'x', namespace: 'ns', creationTimestamp: '2024-01-01T00:00:00Z' };

  test('endpointslices, replicasets and namespaces print their usual columns', () => {
    const slice = toTable(findByPlural('discovery.k8s.io', 'endpointslices')!, [
      { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta, addressType: 'IPv4', ports: [{ port: 5000 }], endpoints: ['1', '2', '3', '4'].map((n) => ({ addresses: [`127.10.0.${n}`] })) },
    ], { now, includeObject: 'None' }) as Json;
    assert.deepEqual(slice.columnDefinitions.map((c: Json) => c.name), ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']);
    assert.deepEqual(slice.rows[0], { cells: ['x', 'IPv4', '5000', '127.10.0.1,127.10.0.2,127.10.0.3 + 1 more...', '60m'] });
    const rs = toTable(findByPlural('apps', 'replicasets')!, [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta, spec: { replicas: 2, selector: { matchLabels: { app: 'a' } }, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } }, status: { replicas: 2, readyReplicas: 1 } },
    ], { now, includeObject: 'None' }) as Json;
    assert.deepEqual(rs.rows[0].cells, ['x', 2, 2, 1, '60m', 'c', 'i', 'app=a']);
    const ns = toTable(findByPlural('', 'namespaces')!, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { ...meta, deletionTimestamp: 'x' }, status: { phase: 'Terminating' } }], { now, includeObject: 'None' }) as Json;
    assert.deepEqual(ns.rows[0].cells, ['x', 'Terminating', '60m']);
  });

  test('ingresses: CLASS, HOSTS (three, then a count), ADDRESS (sorted, in full), PORTS; ingressclasses: CONTROLLER, PARAMETERS', () => {
    const ingresses = findByPlural('networking.k8s.io', 'ingresses')!;
    const rules = ['a.example.com', '', 'b.example.com', 'c.example.com', 'd.example.com'].map((host) => (host ? { host } : {}));
    const table = toTable(ingresses, [
      {
        apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta,
        spec: { ingressClassName: 'istio', rules, tls: [{ secretName: 's' }] },
        status: { loadBalancer: { ingress: [{ ip: '127.11.0.9' }, { hostname: 'gateway.example.com' }, { ip: '127.11.0.10' }] } },
      },
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { ...meta, name: 'y' }, spec: { defaultBackend: { service: { name: 's', port: { number: 80 } } } } },
    ], { now, includeObject: 'None' }) as Json;
    assert.deepEqual(table.columnDefinitions.map((c: Json) => `${c.name}:${c.priority}`), ['Name:0', 'Class:0', 'Hosts:0', 'Address:0', 'Ports:0', 'Age:0']);
    assert.deepEqual(table.rows[0].cells, ['x', 'istio', 'a.example.com,b.example.com,c.example.com + 2 more...', '127.11.0.10,127.11.0.9,gateway.example.com', '80, 443', '60m']);
    assert.deepEqual(table.rows[1].cells, ['y', '<none>', '*', '', '80', '60m']);
    const classes = toTable(findByPlural('networking.k8s.io', 'ingressclasses')!, [
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'istio', creationTimestamp: meta.creationTimestamp }, spec: { controller: 'istio.io/ingress-controller' } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'p', creationTimestamp: meta.creationTimestamp }, spec: { controller: 'a.io/c', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'external-lb' } } },
    ], { now, includeObject: 'None' }) as Json;
    assert.deepEqual(classes.rows.map((r: Json) => r.cells), [['istio', 'istio.io/ingress-controller', '<none>', '60m'], ['p', 'a.io/c', 'IngressParameters.k8s.example.com/external-lb', '60m']]);
  });
});

describe('HTTP API', () => {
  let c: TestCluster;
  const admitted: string[] = [];

  before(async () => {
    c = await startTestCluster({
      admission: [
        ({ operation, type, object }) => {
          admitted.push(`${operation} ${type.kind} ${object.metadata.name}`);
          if (type.kind !== 'Pod') return object;
          return { ...object, metadata: { ...object.metadata, labels: { ...object.metadata.labels, injected: 'true' } } };
        },
      ],
    });
  });
  after(() => c.close());

  test('aggregated discovery v2 and v2beta1 with their content types; legacy lists otherwise', async () => {
    for (const v of ['v2', 'v2beta1']) {
      const accept = `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList,application/json`;
      const apis = await c.request('GET', '/apis', { accept });
      assert.equal(apis.headers['content-type'], `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`);
      const body = apis.json() as Json;
      assert.equal(body.apiVersion, `apidiscovery.k8s.io/${v}`);
      const istio = body.items.find((g: Json) => g.metadata.name === 'networking.istio.io');
      assert.deepEqual(istio.versions.map((x: Json) => x.version), ['v1', 'v1beta1', 'v1alpha3']);
      const deploy = body.items.find((g: Json) => g.metadata.name === 'apps').versions[0].resources.find((r: Json) => r.resource === 'deployments');
      assert.deepEqual(deploy.subresources.find((s: Json) => s.subresource === 'scale').responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    }
    const core = (await c.request('GET', '/api', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' })).json() as Json;
    const pods = core.items[0].versions[0].resources.find((r: Json) => r.resource === 'pods');
    assert.equal(pods.scope, 'Namespaced');
    assert.deepEqual(pods.shortNames, ['po']);
    assert.deepEqual(pods.subresources.map((s: Json) => s.subresource), ['status', 'log', 'exec', 'portforward']);
    const legacy = (await c.request('GET', '/api/v1')).json() as Json;
    assert.equal(legacy.kind, 'APIResourceList');
    assert.ok(legacy.resources.some((r: Json) => r.name === 'pods/log' && r.kind === 'Pod'));
    assert.equal(((await c.request('GET', '/api')).json() as Json).kind, 'APIVersions');
    assert.equal(((await c.request('GET', '/apis/networking.gke.io')).json() as Json).preferredVersion.version, 'v1');
  });

  test('OpenAPI v3: index with hashed URLs; operations that let kubectl validate on the server', async () => {
    const index = (await c.request('GET', '/openapi/v3')).json() as Json;
    const url: string = index.paths['apis/networking.istio.io/v1alpha3'].serverRelativeURL;
    assert.match(url, /^\/openapi\/v3\/apis\/networking.istio.io\/v1alpha3\?hash=[0-9A-F]+$/);
    const doc = (await c.request('GET', url)).json() as Json;
    const item = doc.paths['/apis/networking.istio.io/v1alpha3/namespaces/{namespace}/virtualservices/{name}'];
    assert.equal(item.patch['x-kubernetes-action'], 'patch');
    assert.deepEqual(item.patch['x-kubernetes-group-version-kind'], { group: 'networking.istio.io', version: 'v1alpha3', kind: 'VirtualService' });
    assert.ok(item.patch.parameters.some((p: Json) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.ok(doc.paths['/apis/networking.istio.io/v1alpha3/namespaces/{namespace}/virtualservices'].post.parameters.some((p: Json) => p.name === 'fieldValidation'));
    assert.deepEqual(doc.components.schemas['io.istio.networking.v1alpha3.VirtualService']['x-kubernetes-group-version-kind'], [{ group: 'networking.istio.io', kind: 'VirtualService', version: 'v1alpha3' }]);
  });

  test('admission hooks mutate before validation and see creates and updates', async () => {
    const created = await c.request('POST', '/api/v1/namespaces/default/pods', { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { phase: 'Running' } } });
    assert.equal(created.status, 201, created.text);
    const pod = created.json() as Json;
    assert.equal(pod.metadata.labels.injected, 'true');
    assert.deepEqual(pod.status, { phase: 'Pending' }, 'status is not written on create');
    assert.equal(pod.metadata.namespace, 'default');
    await c.request('PATCH', '/api/v1/namespaces/default/pods/p1', { body: { metadata: { annotations: { a: 'b' } } }, contentType: 'application/merge-patch+json' });
    assert.deepEqual(admitted.filter((a) => a.includes('p1')), ['CREATE Pod p1', 'UPDATE Pod p1']);
  });

  test('PUT: name must match, missing is 404, stale resourceVersion is 409, status and clusterIP are kept', async () => {
    const svc = (await c.request('POST', '/api/v1/namespaces/default/services', { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } } })).json() as Json;
    assert.match(svc.spec.clusterIP, /^127\.251\./);
    const headless = (await c.request('POST', '/api/v1/namespaces/default/services', { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'h' }, spec: { clusterIP: 'None' } } })).json() as Json;
    assert.deepEqual(headless.spec.clusterIPs, ['None']);
    await c.request('PUT', '/api/v1/namespaces/default/services/s/status', { body: { ...svc, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } } });
    const put = await c.request('PUT', '/api/v1/namespaces/default/services/s', { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 81 }] }, status: {} } });
    assert.equal(put.status, 200, put.text);
    const after = put.json() as Json;
    assert.equal(after.spec.clusterIP, svc.spec.clusterIP);
    assert.equal(after.status.loadBalancer.ingress[0].ip, '1.2.3.4');
    const stale = await c.request('PUT', '/api/v1/namespaces/default/services/s', { body: { ...after, metadata: { ...after.metadata, resourceVersion: svc.metadata.resourceVersion } } });
    assert.equal(stale.status, 409);
    assert.equal((stale.json() as Json).reason, 'Conflict');
    const wrongName = await c.request('PUT', '/api/v1/namespaces/default/services/s', { body: { ...after, metadata: { name: 'other' } } });
    assert.equal(wrongName.status, 400);
    const missing = await c.request('PUT', '/api/v1/namespaces/default/services/nope', { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nope' } } });
    assert.equal(missing.status, 404);
    assert.equal((missing.json() as Json).message, 'services "nope" not found');
  });

  test('Istio kinds are one stored object served at every version', async () => {
    const created = await c.request('POST', '/apis/networking.istio.io/v1alpha3/namespaces/default/gateways', { body: { apiVersion: 'networking.istio.io/v1alpha3', kind: 'Gateway', metadata: { name: 'g' }, spec: { selector: { istio: 'ingressgateway' } } } });
    assert.equal(created.status, 201, created.text);
    for (const v of ['v1', 'v1beta1', 'v1alpha3']) {
      const got = (await c.request('GET', `/apis/networking.istio.io/${v}/namespaces/default/gateways/g`)).json() as Json;
      assert.equal(got.apiVersion, `networking.istio.io/${v}`);
    }
    const list = (await c.request('GET', '/apis/networking.istio.io/v1beta1/gateways')).json() as Json;
    assert.equal(list.kind, 'GatewayList');
    assert.equal(list.items[0].apiVersion, 'networking.istio.io/v1beta1');
  });

  test('Istio status subresource: IstioStatus is accepted strictly, bumps no generation, survives spec writes', async () => {
    const path = '/apis/networking.istio.io/v1/namespaces/default/virtualservices/vs';
    const created = (await c.request('POST', '/apis/networking.istio.io/v1/namespaces/default/virtualservices', {
      body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs' }, spec: { hosts: ['a'], http: [{ route: [{ destination: { host: 'a', subset: 'v3' } }] }] } },
    })).json() as Json;
    // Istio's shape (meta/v1alpha1 IstioStatus), as istiod writes it with analysis in status.
    const status = {
      conditions: [{ type: 'Reconciled', status: 'True', lastTransitionTime: '2025-03-01T10:00:00Z', reason: 'Reconciled', message: '1/1 proxies up to date.' }],
      validationMessages: [{ type: { code: 'IST0101', name: 'ReferencedResourceNotFound' }, level: 'ERROR', documentationUrl: 'https://istio.io/latest/docs/reference/config/analysis/ist0101/' }],
      observedGeneration: 1,
    };
    const put = await c.request('PUT', `${path}/status?fieldValidation=Strict`, { body: { ...created, status } });
    assert.equal(put.status, 200, put.text);
    const written = put.json() as Json;
    assert.deepEqual(written.status, status);
    assert.equal(written.metadata.generation, 1, 'a status write is no new generation');
    assert.notEqual(written.metadata.resourceVersion, created.metadata.resourceVersion);
    // The same status again is no write: no new resourceVersion, so no watch event.
    const again = (await c.request('PUT', `${path}/status`, { body: { ...written, status } })).json() as Json;
    assert.equal(again.metadata.resourceVersion, written.metadata.resourceVersion);
    // A stale status write is refused, as the real apiserver's optimistic concurrency does.
    const stale = await c.request('PUT', `${path}/status`, { body: { ...created, status: {} } });
    assert.equal(stale.status, 409);
    const spec = (await c.request('PATCH', path, { body: { spec: { hosts: ['b'] } }, contentType: 'application/merge-patch+json' })).json() as Json;
    assert.equal(spec.metadata.generation, 2);
    assert.deepEqual(spec.status, status, 'a spec write keeps the status');
  });

  test('objects with finalizers are marked for deletion; deletecollection removes by selector', async () => {
    await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    const del = (await c.request('DELETE', '/api/v1/namespaces/default/configmaps/held')).json() as Json;
    assert.ok(del.metadata.deletionTimestamp);
    assert.ok((await c.request('GET', '/api/v1/namespaces/default/configmaps/held')).status === 200);
    for (const n of ['x1', 'x2', 'y1']) {
      await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n, labels: { g: n[0] } } } });
    }
    const gone = (await c.request('DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=g%3Dx')).json() as Json;
    assert.deepEqual(gone.items.map((i: Json) => i.metadata.name).sort(), ['x1', 'x2']);
    const left = (await c.request('GET', '/api/v1/namespaces/default/configmaps')).json() as Json;
    assert.deepEqual(left.items.map((i: Json) => i.metadata.name).sort(), ['held', 'y1']);
  });

  test('error shapes: unknown paths 404, undecodable protobuf 400, apply-patch without fieldManager 422, to a subresource 415, bad JSON 400', async () => {
    const unknown = await c.request('GET', '/apis/example.com/v1/things');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json() as Json).kind, 'Status');
    const proto = await c.request('POST', '/api/v1/namespaces', { body: 'k8s\0...', contentType: 'application/vnd.kubernetes.protobuf' });
    assert.equal(proto.status, 400);
    assert.match((proto.json() as Json).message, /the protobuf body could not be decoded as runtime\.Unknown: invalid wire type 6/);
    const ssa = await c.request('PATCH', '/api/v1/namespaces/default/configmaps/y1', { body: 'data: {}', contentType: 'application/apply-patch+yaml' });
    assert.equal(ssa.status, 422);
    assert.equal((ssa.json() as Json).message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    const toStatus = await c.request('PATCH', '/apis/apps/v1/namespaces/default/deployments/d/status?fieldManager=x', { body: 'status: {}', contentType: 'application/apply-patch+yaml' });
    assert.equal(toStatus.status, 415);
    assert.match((toStatus.json() as Json).message, /server-side apply to the status subresource is not supported by this API server: apply the Deployment itself/);
    const cbor = await c.request('PATCH', '/api/v1/namespaces/default/configmaps/y1?fieldManager=x', { body: 'x', contentType: 'application/apply-patch+cbor' });
    assert.equal(cbor.status, 415);
    const bad = await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: '{not json' });
    assert.equal(bad.status, 400);
    const dry = await c.request('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry' } } });
    assert.equal(dry.status, 201);
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404);
  });
});
