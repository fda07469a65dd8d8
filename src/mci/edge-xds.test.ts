import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { KubeObject } from '../k8s/object.js';
import { scenarioDir } from '../../test/helpers/paths.js';
import type { EdgeBackend } from '../edge/edge-proxy.js';
import type { HttpConnectionManager, RouteConfiguration } from '../translate/envoy-types.js';
import { SnapshotCache } from '../xds/cache.js';
import { TYPE_URLS } from '../xds/protos.js';
import { EDGE_METADATA, edgeClusterName, edgeNodeId, edgeResources, edgeSnapshot } from './edge-xds.js';
import { parseBackendConfig, parseMultiClusterIngress, parseMultiClusterService, planEdge, type EdgePlan } from './resources.js';

const scenario = (file: string): KubeObject => {
  const obj = parse(readFileSync(join(scenarioDir(), file), 'utf8')) as KubeObject;
  return { ...obj, metadata: { ...obj.metadata, namespace: 'istio-gateway' } };
};
const mcs = parseMultiClusterService(scenario('multiclusterservice.yaml'));
const mci = parseMultiClusterIngress(scenario('multiclusteringress.yaml'));
const bc = parseBackendConfig(scenario('backendconfig.yaml'));

function plan(healthCheck: Record<string, unknown> = {}): EdgePlan {
  const p = planEdge(mci, [mcs], [{ ...bc, healthCheck: { ...bc.healthCheck, ...healthCheck } }]);
  assert.ok(p.ok, JSON.stringify(p));
  return p.value;
}

const backends: EdgeBackend[] = [
  { cluster: 'cluster-2', pod: 'istio-ingressgateway-b', ip: '127.20.0.7', port: 80, zone: 'cluster-2' },
  { cluster: 'cluster-1', pod: 'istio-ingressgateway-z', ip: '127.10.0.9', port: 80 },
  { cluster: 'cluster-1', pod: 'istio-ingressgateway-a', ip: '127.10.0.8', port: 80 },
];
const input = (p: EdgePlan = plan()) => ({ mci: 'istio-gateway/istio-ingressgateway', vip: '127.11.255.1', port: 80, plan: p, backends });

function hcm(r: ReturnType<typeof edgeResources>): HttpConnectionManager {
  const typed = r.listener.filter_chains?.[0]?.filters[0]?.typed_config;
  assert.ok(typed && 'http_filters' in typed);
  return typed;
}

test('edge listener: the VIP and port, HTTP connection manager routing every path to the default backend', () => {
  const r = edgeResources(input());
  assert.deepEqual(r.listener.address, { socket_address: { address: '127.11.255.1', port_value: 80 } });
  const h = hcm(r);
  assert.deepEqual(h.http_filters.map((f) => f.name), ['envoy.filters.http.router']);
  assert.deepEqual(h.use_remote_address, { value: true });
  // No proxy in front of the edge is trusted, and a client's x-forwarded-client-cert is dropped.
  assert.equal(h.xff_num_trusted_hops, undefined);
  assert.equal(h.forward_client_cert_details, 'SANITIZE');
  const rc = h.route_config as RouteConfiguration;
  const [vh] = rc.virtual_hosts;
  assert.deepEqual(vh?.domains, ['*']);
  assert.deepEqual(vh?.routes.map((r) => [r.name, 'route' in r ? r.route.retry_policy?.retry_on : undefined]), [
    ['default-backend-replayable', 'connect-failure,refused-stream,reset'],
    ['default-backend', 'connect-failure,refused-stream'],
  ]);
  assert.deepEqual(vh?.routes[0]?.match, { prefix: '/', headers: [{ name: ':method', string_match: { safe_regex: { regex: 'GET|HEAD' } } }] });
  for (const backend of vh?.routes ?? []) {
    assert.ok('route' in backend);
    // A retry goes to another gateway, and no number of concurrent retries is refused (Envoy's default is 3).
    assert.deepEqual(backend.route.retry_policy?.retry_host_predicate?.map((p) => p.name), ['envoy.retry_host_predicates.previous_hosts']);
    assert.equal(backend.route.retry_policy?.host_selection_retry_max_attempts, 5);
  }
  assert.equal(r.cluster.circuit_breakers?.thresholds[0]?.max_retries?.value, 4294967295);
  const route = vh?.routes[1];
  assert.ok(route && 'route' in route);
  assert.deepEqual(route.match, { prefix: '/' });
  assert.ok('cluster' in route.route);
  assert.equal(route.route.cluster, r.cluster.name);
  assert.equal(route.route.cluster, edgeClusterName(plan()));
  assert.match(route.route.cluster, /^outbound\|80\|\|mci-istio-ingressgateway-[0-9a-f]{8}\.istio-gateway\.svc\.cluster\.local$/);
  assert.deepEqual(route.response_headers_to_add?.map((h) => [h.header.key, h.header.value]), [['x-meshwork-edge-backend', `%UPSTREAM_METADATA(${EDGE_METADATA}:backend)%`]]);
});

test('edge cluster: EDS, round robin, the BackendConfig health check with GCLB defaults, never panics', () => {
  const r = edgeResources(input());
  const c = r.cluster;
  assert.equal(c.type, 'EDS');
  assert.equal(c.eds_cluster_config?.service_name, c.name);
  assert.equal(c.lb_policy, 'ROUND_ROBIN');
  assert.deepEqual(c.common_lb_config, { healthy_panic_threshold: { value: 0 }, update_merge_window: { seconds: 0, nanos: 0 } });
  assert.equal(c.ignore_health_on_host_removal, true);
  // scenario BackendConfig: requestPath /healthz/ready, port 15021; interval, timeout, thresholds are GCLB's defaults.
  assert.deepEqual(c.health_checks, [{
    timeout: { seconds: 5, nanos: 0 },
    interval: { seconds: 5, nanos: 0 },
    no_traffic_interval: { seconds: 5, nanos: 0 },
    unhealthy_threshold: { value: 2 },
    healthy_threshold: { value: 2 },
    reuse_connection: { value: false },
    http_health_check: { path: '/healthz/ready', host: c.name.split('||')[1], retriable_statuses: [{ start: 100, end: 600 }] },
  }]);
  const custom = edgeResources(input(plan({ checkIntervalSec: 10, timeoutSec: 3, healthyThreshold: 4, unhealthyThreshold: 6, requestPath: '/ready' }))).cluster.health_checks?.[0];
  assert.deepEqual([custom?.interval, custom?.no_traffic_interval, custom?.timeout, custom?.healthy_threshold, custom?.unhealthy_threshold, custom?.http_health_check.path], [
    { seconds: 10, nanos: 0 }, { seconds: 10, nanos: 0 }, { seconds: 3, nanos: 0 }, { value: 4 }, { value: 6 }, '/ready',
  ]);
});

test('edge endpoints: gateways of every member cluster by locality, served on the target port, probed on the health check port', () => {
  const r = edgeResources(input());
  assert.equal(r.endpoints.cluster_name, r.cluster.name);
  const view = r.endpoints.endpoints.map((l) => ({
    locality: l.locality,
    hosts: l.lb_endpoints.map((e) => [
      e.endpoint.hostname,
      `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
      e.endpoint.health_check_config?.port_value,
      e.metadata?.filter_metadata[EDGE_METADATA]?.fields.cluster,
    ]),
  }));
  assert.deepEqual(view, [
    {
      locality: { region: 'cluster-1', zone: 'cluster-1' },
      hosts: [
        ['cluster-1/istio-ingressgateway-a', '127.10.0.8:80', 15021, { string_value: 'cluster-1' }],
        ['cluster-1/istio-ingressgateway-z', '127.10.0.9:80', 15021, { string_value: 'cluster-1' }],
      ],
    },
    { locality: { region: 'cluster-2', zone: 'cluster-2' }, hosts: [['cluster-2/istio-ingressgateway-b', '127.20.0.7:80', 15021, { string_value: 'cluster-2' }]] },
  ]);
  assert.deepEqual(edgeResources({ ...input(), backends: [] }).endpoints.endpoints, [], 'no gateways: an empty assignment, the edge answers 503');
});

test('edge snapshot: fits the Envoy protos and is consistent; the same input gives the same versions', () => {
  const cache = new SnapshotCache();
  const node = edgeNodeId('istio-gateway/istio-ingressgateway', '127.11.255.1');
  assert.equal(node, 'router~127.11.255.1~istio-ingressgateway.istio-gateway~mci.edge');
  cache.setSnapshot(node, edgeSnapshot(edgeResources(input())));
  const first = cache.getPrepared(node);
  assert.deepEqual([...(cache.getSnapshot(node)?.resources[TYPE_URLS.cluster] as Map<string, object>).keys()], [edgeClusterName(plan())]);
  cache.setSnapshot(node, edgeSnapshot(edgeResources({ ...input(), backends: [...backends].reverse() })));
  const second = cache.getPrepared(node);
  for (const url of [TYPE_URLS.listener, TYPE_URLS.cluster, TYPE_URLS.endpoint]) assert.equal(second?.types.get(url)?.version, first?.types.get(url)?.version, `${url}: order of the gateways does not matter`);
  cache.setSnapshot(node, edgeSnapshot(edgeResources({ ...input(), backends: backends.slice(1) })));
  assert.notEqual(cache.getPrepared(node)?.types.get(TYPE_URLS.endpoint)?.version, first?.types.get(TYPE_URLS.endpoint)?.version);
  assert.equal(cache.getPrepared(node)?.types.get(TYPE_URLS.cluster)?.version, first?.types.get(TYPE_URLS.cluster)?.version, 'a gateway change is EDS only');
  cache.setSnapshot(node, edgeSnapshot(edgeResources(input(plan({ checkIntervalSec: 7 })))));
  assert.notEqual(cache.getPrepared(node)?.types.get(TYPE_URLS.cluster)?.version, first?.types.get(TYPE_URLS.cluster)?.version, 'a health check change is CDS');
  // Its endpoints are unchanged: the ADS server sends them again because their cluster changed.
  assert.equal(cache.getPrepared(node)?.types.get(TYPE_URLS.endpoint)?.version, first?.types.get(TYPE_URLS.endpoint)?.version);
});

test('MCI tls: a second listener on the HTTPS port, a chain per certificate by its DNS names and a default chain with the first; plan refusals', async () => {
  const { createCertificateAuthority, issueServerCertificate } = await import('../security/pki/authority.js');
  const { credentialOf } = await import('../security/credentials.js');
  const ca = await createCertificateAuthority('edge test root');
  const secret = async (name: string, hosts: string[]) => {
    const leaf = await issueServerCertificate(ca, { commonName: hosts[0]!, dnsNames: hosts, ipAddresses: [] });
    return credentialOf({ type: 'kubernetes.io/tls', metadata: { name, namespace: 'istio-gateway' }, data: { 'tls.crt': Buffer.from(leaf.certPem).toString('base64'), 'tls.key': Buffer.from(leaf.keyPem).toString('base64') } })!;
  };
  const credentials = [await secret('a', ['a.example.com', 'www.example.com']), await secret('b', ['b.example.com', 'www.example.com'])];
  const withTls = { ...mci, tlsSecretNames: ['a', 'b'] };
  const planned = planEdge(withTls, [mcs], [bc], credentials);
  assert.ok(planned.ok, JSON.stringify(planned));
  assert.deepEqual(planned.value.tls?.map((t) => t.secretName), ['a', 'b']);
  const r = edgeResources({ ...input(planned.value), tlsPort: 443 });
  const tls = r.tlsListener!;
  assert.equal(tls.name, 'edge_127.11.255.1_443');
  assert.deepEqual(tls.listener_filters?.map((f) => f.name), ['envoy.filters.listener.tls_inspector']);
  // SNI picks the certificate; a name two certificates share goes to the first, no SNI to the first.
  assert.deepEqual(tls.filter_chains?.map((c) => c.filter_chain_match?.server_names), [['a.example.com', 'www.example.com'], ['b.example.com'], undefined]);
  const certOf = (i: number) => (((tls.filter_chains![i]!.transport_socket!.typed_config as Record<string, unknown>)['common_tls_context'] as { tls_certificates: Array<{ certificate_chain: { inline_string: string } }> }).tls_certificates[0]!.certificate_chain.inline_string);
  assert.equal(certOf(2), credentials[0]!.certificateChainPem);
  assert.equal(certOf(1), credentials[1]!.certificateChainPem);
  // Envoy's protos accept it (the cache encodes and checks every resource).
  const cache = new SnapshotCache();
  cache.setSnapshot('edge', edgeSnapshot(r));
  assert.deepEqual([...(edgeSnapshot(r).resources[TYPE_URLS.listener] as Map<string, unknown>).keys()], ['edge_127.11.255.1_80', 'edge_127.11.255.1_443']);
  // Without tls entries, no HTTPS listener.
  assert.equal(edgeResources({ ...input(), tlsPort: 443 }).tlsListener, undefined);

  const missing = planEdge({ ...mci, tlsSecretNames: ['nope'] }, [mcs], [bc], credentials);
  assert.ok(!missing.ok);
  assert.equal(missing.reason, 'TLSSecretInvalid');
  assert.match(missing.message, /Secret istio-gateway\/nope \(spec\.template\.spec\.tls\) cannot be used: it does not exist/);
  const https = planEdge(mci, [{ ...mcs, appProtocolsAnnotation: '{"http2":"HTTPS"}' }], [bc], []);
  assert.ok(!https.ok);
  assert.equal(https.reason, 'UnsupportedAppProtocol');
  assert.ok(planEdge(mci, [{ ...mcs, appProtocolsAnnotation: '{"http2":"HTTP"}' }], [bc], []).ok);
});
