import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adsServiceDefinition, decodeMessage, packAny, ProtoShapeError, TYPE_URLS, unpackAny, validateMessage } from './protos.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

test('a listener with nested Anys (HCM, fault, router) packs and unpacks to the same snake_case shape', () => {
  const listener = {
    name: 'inbound',
    address: { socket_address: { address: '127.10.0.2', port_value: 15006 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'inbound',
              rds: { route_config_name: 'inbound|8080||', config_source: { ads: {}, resource_api_version: 'V3' } },
              http_filters: [
                { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT, abort: { http_status: 503, percentage: { numerator: 50, denominator: 'HUNDRED' } } } },
                { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } },
              ],
            },
          },
        ],
      },
    ],
  };
  const any = packAny(TYPE_URLS.listener, listener);
  assert.equal(any.type_url, TYPE_URLS.listener);
  assert.ok(Buffer.isBuffer(any.value) && any.value.length > 50);
  const { typeUrl, message } = unpackAny(any);
  assert.equal(typeUrl, TYPE_URLS.listener);
  const chain = (message['filter_chains'] as Record<string, unknown>[])[0] as { filters: { typed_config: Record<string, unknown> }[] };
  const hcm = chain.filters[0]?.typed_config as Record<string, unknown>;
  assert.equal(hcm['@type'], HCM);
  assert.equal(hcm['route_specifier'], 'rds', 'oneofs: true names the set member');
  const filters = hcm['http_filters'] as { typed_config: Record<string, unknown> }[];
  assert.deepEqual(filters[0]?.typed_config['abort'], {
    http_status: 503,
    error_type: 'http_status',
    percentage: { numerator: 50, denominator: 'HUNDRED' },
  });
  assert.equal(filters[1]?.typed_config['@type'], ROUTER);
  // A decoded object packs again to the same bytes.
  assert.deepEqual(packAny(TYPE_URLS.listener, message).value, any.value);
});

test('longs are numbers, enums strings, absent defaults stay absent, repeated fields are arrays', () => {
  const cluster = {
    name: 'outbound|80||a.b.svc.cluster.local',
    type: 'EDS',
    lb_policy: 'LEAST_REQUEST',
    connect_timeout: { seconds: 10, nanos: 5 },
    eds_cluster_config: { eds_config: { ads: {} } },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM_TLS, sni: 'a.b' } },
  };
  const { message } = unpackAny(packAny(TYPE_URLS.cluster, cluster));
  assert.deepEqual(message['connect_timeout'], { seconds: 10, nanos: 5 });
  assert.equal(message['lb_policy'], 'LEAST_REQUEST');
  assert.equal(message['type'], 'EDS');
  assert.deepEqual(message['health_checks'], []);
  assert.equal('dns_lookup_family' in message, false);
  assert.equal((message['transport_socket'] as { typed_config: Record<string, unknown> }).typed_config['sni'], 'a.b');
});

test('objects that do not fit the proto fail with the type and the field', () => {
  assert.throws(
    () => packAny(TYPE_URLS.cluster, { name: 'c', lb_polcy: 'ROUND_ROBIN' }),
    (err: unknown) => err instanceof ProtoShapeError && /envoy\.config\.cluster\.v3\.Cluster/.test(err.message) && /unknown field 'lb_polcy'/.test(err.message),
  );
  assert.throws(() => packAny(TYPE_URLS.cluster, { name: 'c', lb_policy: 'FASTEST' }), /Cluster\.lb_policy: expected enum envoy\.config\.cluster\.v3\.Cluster\.LbPolicy/);
  assert.throws(() => packAny(TYPE_URLS.cluster, { name: 7 }), /Cluster\.name: expected string, got 7/);
  assert.throws(() => packAny(TYPE_URLS.route, { name: 'r', virtual_hosts: { name: 'x' } }), /virtual_hosts.*expected an array/);
  assert.throws(
    () => packAny(TYPE_URLS.listener, { name: 'l', api_listener: { api_listener: { '@type': HCM, rds: {}, route_config: {} } } }),
    /oneof 'route_specifier' has more than one member set: rds, route_config/,
  );
  assert.throws(
    () => packAny(TYPE_URLS.listener, { name: 'l', api_listener: { api_listener: { '@type': 'type.googleapis.com/no.such.Type' } } }),
    /api_listener\.api_listener.*no\.such\.Type is not a loaded proto message type/,
  );
  assert.throws(
    () => packAny(TYPE_URLS.listener, { name: 'l', api_listener: { api_listener: { '@type': HCM, http_filters: [{ name: 'r', typed_config: { '@type': ROUTER, bogus: 1 } }] } } }),
    /http_filters\[0\]\.typed_config \(envoy\.extensions\.filters\.http\.router\.v3\.Router\): unknown field 'bogus'/,
  );
  assert.throws(() => packAny(TYPE_URLS.cluster, { '@type': TYPE_URLS.route, name: 'c' }), /does not match/);
  assert.deepEqual(validateMessage(TYPE_URLS.secret, { name: 's', tls_certificate: { certificate_chain: { inline_bytes: Buffer.from('pem') } } }), []);
});

test('Secret (SDS) bytes stay Buffers', () => {
  const secret = { name: 'default', tls_certificate: { certificate_chain: { inline_bytes: Buffer.from('CERT') }, private_key: { inline_string: 'KEY' } } };
  const { message } = unpackAny(packAny(TYPE_URLS.secret, secret));
  const chain = (message['tls_certificate'] as { certificate_chain: { inline_bytes: Buffer } }).certificate_chain;
  assert.ok(Buffer.isBuffer(chain.inline_bytes));
  assert.equal(chain.inline_bytes.toString(), 'CERT');
});

test('the ADS definition keeps resources as raw Anys on the wire', () => {
  const def = adsServiceDefinition();
  assert.equal(def.StreamAggregatedResources.path, '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources');
  assert.equal(def.DeltaAggregatedResources.requestStream && def.DeltaAggregatedResources.responseStream, true);
  const resource = packAny(TYPE_URLS.cluster, { name: 'c' });
  const bytes = def.StreamAggregatedResources.responseSerialize({ version_info: 'v1', resources: [resource], type_url: TYPE_URLS.cluster, nonce: '1' });
  const back = def.StreamAggregatedResources.responseDeserialize(bytes);
  assert.equal(back.resources[0]?.type_url, TYPE_URLS.cluster);
  assert.deepEqual(decodeMessage(TYPE_URLS.cluster, back.resources[0]?.value ?? Buffer.alloc(0)), { name: 'c', ...emptyClusterLists() });
});

function emptyClusterLists(): Record<string, unknown> {
  return unpackAny(packAny(TYPE_URLS.cluster, {})).message;
}
