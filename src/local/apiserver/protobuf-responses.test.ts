// Answers in protobuf for clients that ask for it (client-go with ContentType protobuf: Prometheus'
// Kubernetes discovery sends `Accept: application/vnd.kubernetes.protobuf` only): objects, lists and
// watch streams of built-in kinds, read back with Kubernetes' own definitions; JSON for custom
// resources when the client takes it, else 406.
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { installedApiDefinitions } from '../../k8s/protobuf/api-definitions.js';
import { parseGoDuration } from '../../k8s/protobuf/from-json.js';
import { decodeKubernetesProtobuf, encodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE, PROTOBUF_WATCH_MEDIA_TYPE } from './protobuf.js';
import type { TestCluster } from './test-support.js';
import { startTestCluster, TOKEN } from './test-support.js';

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web', version: 'v2' }, annotations: { 'prometheus.io/scrape': 'true' } },
  spec: {
    containers: [
      {
        name: 'web',
        image: 'nginx:1.27',
        ports: [{ name: 'http', containerPort: 8080 }],
        resources: { limits: { cpu: '500m', memory: '128Mi' } },
        readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 2 },
        livenessProbe: { tcpSocket: { port: 8080 } },
      },
    ],
  },
};

/** GET (or a watch) with the token, the body as bytes. */
function get(c: TestCluster, path: string, accept: string): Promise<{ status: number; contentType: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${c.server.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}`, Accept: accept }, ca: c.caPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A protobuf watch stream's frames: [type, the decoded object]. */
function watchFrames(body: Buffer): Array<[string, Record<string, unknown>]> {
  const event = installedApiDefinitions().root.lookupType('k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent');
  const frames: Array<[string, Record<string, unknown>]> = [];
  for (let at = 0; at < body.length; ) {
    const length = body.readUInt32BE(at);
    const decoded = event.decode(body.subarray(at + 4, at + 4 + length)) as unknown as { type: string; object: { raw: Uint8Array } };
    frames.push([decoded.type, decodeKubernetesProtobuf(Buffer.from(decoded.object.raw))]);
    at += 4 + length;
  }
  return frames;
}

test('JSON -> protobuf -> JSON keeps Kubernetes\' own JSON: times, quantities, int-or-string, durations, raw JSON', () => {
  const managed = [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '2026-12-03T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }];
  const obj = { ...POD, metadata: { ...POD.metadata, uid: 'u-1', resourceVersion: '42', creationTimestamp: '2026-12-03T10:00:00Z', managedFields: managed } };
  const back = decodeKubernetesProtobuf(encodeKubernetesProtobuf(obj)!) as typeof obj & { spec: { containers: Array<Record<string, unknown>> } };
  assert.equal(back.apiVersion, 'v1');
  assert.equal(back.kind, 'Pod');
  assert.deepEqual(back.metadata, obj.metadata);
  const container = back.spec.containers[0]!;
  assert.deepEqual(container['ports'], [{ name: 'http', containerPort: 8080 }]);
  assert.deepEqual(container['resources'], { limits: { cpu: '500m', memory: '128Mi' } });
  assert.deepEqual(container['readinessProbe'], { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 2 });
  assert.deepEqual(container['livenessProbe'], { tcpSocket: { port: 8080 } });
  const event = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'web-1' }, eventTime: '2026-12-03T10:00:00.123456Z', reason: 'Started' };
  assert.equal((decodeKubernetesProtobuf(encodeKubernetesProtobuf(event)!) as { eventTime: string }).eventTime, '2026-12-03T10:00:00.123456Z');
  assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
  assert.equal(parseGoDuration('-250ms'), -250e6);
  assert.throws(() => parseGoDuration('5 minutes'), /"5 minutes" is not a Go duration/);
  assert.equal(encodeKubernetesProtobuf({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'x' } }), undefined, 'custom resources have no protobuf');
});

describe('protobuf answers', () => {
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster({ watch: { bookmarkIntervalMs: 150 } });
    const created = await c.request('POST', '/api/v1/namespaces/default/pods', { body: POD });
    assert.equal(created.status, 201, created.text);
  });
  after(() => c.close());

  test('GET of a pod, and the list of pods cluster-wide, in protobuf: the same object as the JSON answer', async () => {
    const json = (await c.request('GET', '/api/v1/namespaces/default/pods/web-1')).json() as { metadata: Record<string, unknown>; spec: { containers: Array<{ ports: unknown }> } };
    const one = await get(c, '/api/v1/namespaces/default/pods/web-1', PROTOBUF_MEDIA_TYPE);
    assert.equal(one.status, 200);
    assert.equal(one.contentType, PROTOBUF_MEDIA_TYPE);
    assert.deepEqual(one.body.subarray(0, 4), Buffer.from('k8s\0', 'latin1'));
    const pod = decodeKubernetesProtobuf(one.body) as typeof json;
    for (const key of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'labels', 'annotations']) assert.deepEqual(pod.metadata[key], json.metadata[key], key);
    assert.deepEqual(pod.spec.containers[0]!.ports, json.spec.containers[0]!.ports);

    // Prometheus' first request: list all pods with limit and resourceVersion=0.
    const list = await get(c, '/api/v1/pods?limit=500&resourceVersion=0', PROTOBUF_MEDIA_TYPE);
    assert.equal(list.status, 200);
    const decoded = decodeKubernetesProtobuf(list.body) as { kind: string; metadata: { resourceVersion: string }; items: Array<{ metadata: { name: string } }> };
    assert.equal(decoded.kind, 'PodList');
    assert.match(decoded.metadata.resourceVersion, /^\d+$/);
    assert.deepEqual(decoded.items.map((p) => p.metadata.name), ['web-1']);
  });

  test('a custom resource: JSON when the client also takes JSON, 406 when it takes protobuf only', async () => {
    const both = await get(c, '/apis/networking.istio.io/v1/virtualservices', `${PROTOBUF_MEDIA_TYPE}, application/json`);
    assert.equal(both.status, 200);
    assert.match(both.contentType, /^application\/json/);
    const only = await get(c, '/apis/networking.istio.io/v1/virtualservices', PROTOBUF_MEDIA_TYPE);
    assert.equal(only.status, 406);
    assert.match(only.body.toString(), /VirtualServiceList has no protobuf encoding; ask for application\/json/);
    const watch = await get(c, '/apis/networking.istio.io/v1/virtualservices?watch=true&timeoutSeconds=1', PROTOBUF_MEDIA_TYPE);
    assert.equal(watch.status, 406);
  });

  test('a protobuf watch from a resourceVersion: length-delimited WatchEvents, ADDED for a new pod, BOOKMARKs when allowed', async () => {
    const list = decodeKubernetesProtobuf((await get(c, '/api/v1/pods', PROTOBUF_MEDIA_TYPE)).body) as { metadata: { resourceVersion: string } };
    const watching = get(c, `/api/v1/pods?allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=1&watch=true`, PROTOBUF_MEDIA_TYPE);
    await new Promise((r) => setTimeout(r, 100));
    const created = await c.request('POST', '/api/v1/namespaces/default/pods', { body: { ...POD, metadata: { ...POD.metadata, name: 'web-2' } } });
    assert.equal(created.status, 201, created.text);
    const res = await watching;
    assert.equal(res.status, 200);
    assert.equal(res.contentType, PROTOBUF_WATCH_MEDIA_TYPE);
    const frames = watchFrames(res.body);
    const added = frames.filter(([type]) => type === 'ADDED').map(([, o]) => (o.metadata as { name: string }).name);
    assert.deepEqual(added, ['web-2'], 'only what happened after the listed resourceVersion');
    const bookmark = frames.find(([type]) => type === 'BOOKMARK');
    assert.ok(bookmark, `a bookmark in ${frames.map(([t]) => t).join(', ')}`);
    assert.equal(bookmark[1].kind, 'Pod');
    assert.match((bookmark[1].metadata as { resourceVersion: string }).resourceVersion, /^\d+$/);
  });
});
