// The translator's plain objects against real peers: packed with protobufjs from the real Envoy
// protos (the ones @grpc/grpc-js-xds ships), round-tripped without losing a field, then decoded and
// validated by @grpc/grpc-js-xds's own resource types, exactly as a proxyless client would on ADS.

import assert from 'node:assert/strict';
import { accessSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { register as registerXds } from '@grpc/grpc-js-xds';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js';
import { EndpointResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/endpoint-resource-type.js';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type.js';
import { RouteConfigurationResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/route-config-resource-type.js';
import type { XdsDecodeContext, XdsResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type.js';
import type { ProxyResources } from './envoy-types.js';
import { buildSnapshot, MISSING_SUBSET_CANARY, parseYaml, proxyFor, scenarioClusters } from './testdata/fixture.js';
import { translate } from './translate.js';

const require = createRequire(import.meta.url);
const XDS_DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const PROTOBUFJS_DIR = dirname(require.resolve('protobufjs/package.json'));

let root: protobuf.Root;

before(async () => {
  // What a client does on start: registers the HTTP filters (router, fault) the validators look up.
  registerXds();
  root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of [PROTOBUFJS_DIR, ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(XDS_DEPS, d))]) {
      const candidate = join(dir, target);
      try {
        accessSync(candidate);
        return candidate;
      } catch {
        // Not in this include directory: try the next one.
      }
    }
    return target;
  };
  await root.load(
    [
      'envoy/config/listener/v3/listener.proto',
      'envoy/config/route/v3/route.proto',
      'envoy/config/cluster/v3/cluster.proto',
      'envoy/config/endpoint/v3/endpoint.proto',
      'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
      'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
      'envoy/extensions/filters/http/router/v3/router.proto',
      'envoy/extensions/filters/http/fault/v3/fault.proto',
      'envoy/extensions/filters/http/cors/v3/cors.proto',
      'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
      'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
      'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
      'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
      'envoy/extensions/transport_sockets/tls/v3/tls.proto',
      'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
    ],
    { keepCase: true },
  );
  root.resolveAll();
});

/**
 * protobufjs's bundled google/protobuf/struct.proto names Value's fields in camelCase
 * (stringValue) whatever keepCase says: the packer must rename them, as done here.
 */
function toProtobufjsShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toProtobufjsShape);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === '@type') continue;
    const renamed = key === 'string_value' ? 'stringValue' : key;
    out[renamed] = toProtobufjsShape(inner);
  }
  if ('@type' in value && typeof value['@type'] === 'string') {
    const typeName = value['@type'].slice(value['@type'].lastIndexOf('/') + 1);
    return { type_url: value['@type'], value: encodeChecked(typeName, out) };
  }
  return out;
}

function normalized(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(normalized);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, normalized((value as Record<string, unknown>)[k])]));
}

/** Encodes and checks that decoding gives back every field: protobufjs drops misspelt fields silently. */
function encodeChecked(typeName: string, object: Record<string, unknown>): Uint8Array {
  const type = root.lookupType(typeName);
  const bytes = type.encode(type.fromObject(object)).finish();
  const back = type.toObject(type.decode(bytes), { enums: String, longs: Number, bytes: String, defaults: false });
  assert.deepEqual(normalized(back), normalized(object), `${typeName} lost fields in packing`);
  return bytes;
}

const CONTEXT = { server: {}, bootstrap: {} } as XdsDecodeContext;

function decodeAll(resources: ProxyResources): Map<string, object> {
  const decoded = new Map<string, object>();
  const kinds: Array<[XdsResourceType, string, Array<{ name?: string; cluster_name?: string }>]> = [
    [ListenerResourceType.get(), 'envoy.config.listener.v3.Listener', resources.listeners],
    [RouteConfigurationResourceType.get(), 'envoy.config.route.v3.RouteConfiguration', resources.routes],
    [ClusterResourceType.get(), 'envoy.config.cluster.v3.Cluster', resources.clusters],
    [EndpointResourceType.get(), 'envoy.config.endpoint.v3.ClusterLoadAssignment', resources.endpoints],
  ];
  for (const [resourceType, typeName, items] of kinds) {
    for (const item of items) {
      const packed = toProtobufjsShape(item);
      assert.ok(packed && typeof packed === 'object' && !Array.isArray(packed));
      const value = Buffer.from(encodeChecked(typeName, packed as Record<string, unknown>));
      const result = resourceType.decode(CONTEXT, { type_url: `type.googleapis.com/${typeName}`, value });
      assert.equal(result.error, undefined, `grpc-js-xds rejects ${typeName} ${item.name ?? item.cluster_name}: ${result.error}`);
      assert.ok(result.value);
      decoded.set(`${typeName}/${result.name}`, result.value);
    }
  }
  return decoded;
}

describe('grpc-js-xds accepts what the translator emits for proxyless clients', () => {
  it('scenario with DestinationRule, 80/20 VirtualService, fault and retries: no NACK', () => {
    const clusters = scenarioClusters(['destinationrule', 'virtualservice']);
    for (const c of clusters) {
      c.apply('sample', parseYaml(`apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: sleep}
spec:
  hosts: [sleep]
  http:
  - match: [{headers: {x-test: {prefix: a}}, uri: {regex: "/a.*"}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 10}}}
    retries: {attempts: 3, perTryTimeout: 1s, retryOn: unavailable}
    route: [{destination: {host: sleep}}]
  - route: [{destination: {host: sleep}}]
    timeout: 3s
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: sleep}
spec:
  host: sleep
  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 2, interval: 1s}, connectionPool: {http: {http2MaxRequests: 7}}}
`, 'interop config'));
    }
    const resources = translate(buildSnapshot(clusters), { ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc' });
    // gRPC ejects by success rate / failure percentage only (gRFC A50): the one thing said about this config.
    assert.deepEqual(resources.problems.map((p) => `${p.code} ${p.field}`), ['unsupported-by-proxyless spec.trafficPolicy.outlierDetection']);
    const decoded = decodeAll(resources);
    assert.equal(decoded.size, resources.listeners.length + resources.routes.length + resources.clusters.length + resources.endpoints.length);
  });

  it('DestinationRule balancing: ring hash on a header is given as is, Maglev as ring hash, the rest as round robin; nothing is NACKed', () => {
    const clusters = scenarioClusters([]);
    for (const c of clusters) {
      c.apply('sample', parseYaml(`apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 2048}}}
    connectionPool: {tcp: {maxConnections: 5, tcpKeepalive: {time: 30s}}, http: {http2MaxRequests: 9, maxRequestsPerConnection: 3, idleTimeout: 5s, h2UpgradePolicy: UPGRADE}}
  subsets:
  - {name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 251}}}}}
  - {name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST, warmupDurationSecs: 10s}}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 50}
    - {destination: {host: helloworld, subset: v2}, weight: 50}
`, 'balancing'));
    }
    const resources = translate(buildSnapshot(clusters), { ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc' });
    const lb = (name: string) => resources.clusters.find((c) => c.name === name)?.lb_policy;
    assert.equal(lb('outbound|5000||helloworld.sample.svc.cluster.local'), 'RING_HASH');
    assert.equal(lb('outbound|5000|v1|helloworld.sample.svc.cluster.local'), 'RING_HASH');
    assert.equal(lb('outbound|5000|v2|helloworld.sample.svc.cluster.local'), 'ROUND_ROBIN');
    assert.deepEqual(resources.problems.map((p) => `${p.code} ${p.field}`).sort(), [
      'unsupported-by-proxyless spec.subsets[0].trafficPolicy.loadBalancer.consistentHash.maglev',
      'unsupported-by-proxyless spec.subsets[0].trafficPolicy.loadBalancer.consistentHash.useSourceIp',
      'unsupported-by-proxyless spec.subsets[1].trafficPolicy.loadBalancer.simple',
      'unsupported-by-proxyless spec.subsets[1].trafficPolicy.loadBalancer.warmupDurationSecs',
      'unsupported-by-proxyless spec.trafficPolicy.connectionPool',
    ]);
    decodeAll(resources);
  });

  it('a canary share to a subset that does not exist: the route naming the missing cluster is accepted', () => {
    const clusters = scenarioClusters(['destinationrule']);
    for (const c of clusters) {
      c.apply('sample', parseYaml(MISSING_SUBSET_CANARY, 'missing subset'));
    }
    const resources = translate(buildSnapshot(clusters), { ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc' });
    assert.deepEqual(resources.problems.map((p) => p.code), ['unknown-subset']);
    const missing = 'outbound|5000|v3|helloworld.sample.svc.cluster.local';
    assert.ok(JSON.stringify(resources.routes).includes(missing) && !resources.clusters.some((c) => c.name === missing));
    decodeAll(resources);
  });

  it('a DNS ServiceEntry of one name is a LOGICAL_DNS cluster grpc-js-xds accepts', () => {
    const clusters = scenarioClusters(['destinationrule']);
    for (const c of clusters) {
      c.apply('sample', parseYaml(`apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: dns}
spec:
  hosts: [api.dns.test]
  ports: [{number: 8080, name: grpc, protocol: GRPC}]
  resolution: DNS
  endpoints: [{address: backend.dns.test}]
`, 'dns entry'));
    }
    const resources = translate(buildSnapshot(clusters), { ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc' });
    assert.deepEqual(resources.problems, []);
    assert.equal(resources.clusters.find((c) => c.name === 'outbound|8080||api.dns.test')?.type, 'LOGICAL_DNS');
    decodeAll(resources);
  });

  it('sidecar and gateway resources pack into the real protos without losing a field', () => {
    const clusters = scenarioClusters(['destinationrule', 'gateway-canary']);
    const snapshot = buildSnapshot(clusters);
    for (const proxy of [proxyFor(clusters[0].pod('sleep'), 'sidecar'), proxyFor(clusters[1].pod('istio-ingressgateway'), 'router')]) {
      const resources = translate(snapshot, proxy);
      for (const [typeName, items] of [
        ['envoy.config.listener.v3.Listener', resources.listeners],
        ['envoy.config.route.v3.RouteConfiguration', resources.routes],
        ['envoy.config.cluster.v3.Cluster', resources.clusters],
      ] as const) {
        for (const item of items) encodeChecked(typeName, toProtobufjsShape(item) as Record<string, unknown>);
      }
    }
  });

  it('an endpoint-only change still changes the RouteConfiguration as grpc-js-xds compares it', () => {
    const clusters = scenarioClusters(['destinationrule', 'virtualservice']);
    const proxy = { ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc' };
    const before = decodeAll(translate(buildSnapshot(clusters), proxy));
    clusters[1].apply('sample', parseYaml('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: more-v2}\nspec:\n  template: {metadata: {labels: {app: helloworld, version: v2}}}\n', 'scale-up'));
    const after = decodeAll(translate(buildSnapshot(clusters), proxy));
    const key = 'envoy.config.route.v3.RouteConfiguration/helloworld.sample:5000';
    const routeType = RouteConfigurationResourceType.get();
    assert.ok(before.get(key) && after.get(key));
    assert.equal(routeType.resourcesEqual(before.get(key) ?? null, after.get(key) ?? null), false);
    assert.equal(routeType.resourcesEqual(before.get(key) ?? null, before.get(key) ?? null), true);
  });
});
