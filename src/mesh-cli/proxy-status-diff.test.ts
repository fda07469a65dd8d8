import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareDumps, formatComparison, holdsWhatWasSent } from './proxy-status-diff.js';

const T = 'type.googleapis.com/envoy.admin.v3.';
const cluster = (name: string, extra: Record<string, unknown> = {}) => ({ cluster: { '@type': 'x', name, type: 'EDS', ...extra } });
const dump = (clusters: unknown[], endpoints: unknown[] = [], routes: unknown[] = []) => ({
  configs: [
    { '@type': `${T}ClustersConfigDump`, dynamic_active_clusters: clusters, static_clusters: [{ cluster: { name: 'prometheus_stats', type: 'STATIC' } }] },
    { '@type': `${T}RoutesConfigDump`, dynamic_route_configs: routes },
    { '@type': `${T}EndpointsConfigDump`, dynamic_endpoint_configs: endpoints },
  ],
});

describe('proxy-status POD: the proxy\'s config against what its control plane sends', () => {
  it('defaults Envoy fills in, zero values proto3 leaves out and proto3 JSON forms are no difference', () => {
    const sent = { name: 'c', lb_policy: 'ROUND_ROBIN', connect_timeout: { seconds: 10, nanos: 0 }, circuit_breakers: { thresholds: [{ max_retries: { value: 3 } }] } };
    const held = { name: 'c', connect_timeout: { seconds: 10, nanos: 0 }, circuit_breakers: { thresholds: [{ max_retries: { value: 3 } }] }, policy: { overprovisioning_factor: 140 } };
    assert.equal(holdsWhatWasSent(sent, held), true);
    assert.equal(holdsWhatWasSent({ ...sent, lb_policy: 'LEAST_REQUEST' }, held), false);
    assert.equal(holdsWhatWasSent({ name: 'c', hosts: ['a', 'b'] }, { name: 'c', hosts: ['a'] }), false);
    // 64-bit integers are strings in proto3 JSON (Envoy's dump), numbers in the control plane's.
    assert.equal(holdsWhatWasSent({ host_selection_retry_max_attempts: 5 }, { host_selection_retry_max_attempts: '5' }), true);
    assert.equal(holdsWhatWasSent({ host_selection_retry_max_attempts: 5 }, { host_selection_retry_max_attempts: '4' }), false);
    const [clusters] = compareDumps(dump([cluster('c', { connect_timeout: { seconds: 1, nanos: 0 } })]), dump([{ ...cluster('c', { connect_timeout: '1s' }), last_updated: 'x' }]));
    assert.equal(clusters.match, true);
  });

  it('mTLS in proto3 JSON: a transport socket match\'s Struct, SDS initial_fetch_timeout, require_client_certificate', () => {
    const sds = (proto: boolean) => ({ name: 'default', sds_config: { initial_fetch_timeout: proto ? { seconds: 0, nanos: 0 } : '0s', resource_api_version: 'V3' } });
    const tls = (proto: boolean) => ({
      transport_socket_matches: [{ name: 'tlsMode-istio', match: proto ? { fields: { tlsMode: { string_value: 'istio' } } } : { tlsMode: 'istio' }, transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { common_tls_context: { tls_certificate_sds_secret_configs: [sds(proto)] }, require_client_certificate: proto ? { value: true } : true } } }],
    });
    const [clusters] = compareDumps(dump([cluster('c', tls(true))]), dump([cluster('c', tls(false))]));
    assert.equal(clusters.match, true, JSON.stringify(clusters));
    const other = { transport_socket_matches: [{ ...tls(false).transport_socket_matches[0]!, match: { tlsMode: 'disabled' } }] };
    assert.equal(compareDumps(dump([cluster('c', tls(true))]), dump([cluster('c', other)]))[0]!.match, false);
  });

  it('names what is missing, extra or different; the static resources of the bootstrap are not compared', () => {
    const sent = dump([cluster('a'), cluster('b'), cluster('c', { lb_policy: 'RANDOM' })]);
    const held = dump([cluster('b'), cluster('c'), cluster('d')]);
    const [clusters] = compareDumps(sent, held);
    assert.deepEqual(clusters, { type: 'Clusters', match: false, missing: ['a'], extra: ['d'], differing: ['c'] });
    assert.deepEqual(formatComparison([clusters]), [
      'Clusters Don\'t Match',
      '  - a (sent by the control plane, not held by the proxy)',
      '  + d (held by the proxy, no longer sent)',
      '  ~ c (held with other contents than sent)',
    ]);
  });

  it('the inline endpoints of a non-EDS cluster Envoy lists are not a difference; Routes says when RDS last loaded', () => {
    const lb = (name: string) => ({ endpoint_config: { cluster_name: name, endpoints: [] } });
    const route = { route_config: { name: '80', virtual_hosts: [] }, last_updated: '2026-12-02T23:18:38.590Z' };
    const sent = dump([cluster('out'), cluster('inbound|80||', { type: 'STATIC' })], [lb('out')], [{ route_config: { name: '80', virtual_hosts: [] } }]);
    const held = dump([cluster('out'), cluster('inbound|80||', { type: 'STATIC' })], [lb('out'), lb('inbound|80||')], [route]);
    const results = compareDumps(sent, held);
    assert.deepEqual(formatComparison(results), ['Clusters Match', 'Routes Match (RDS last loaded at Wed, 02 Dec 2026 23:18:38 GMT)', 'Endpoints Match']);
  });
});
