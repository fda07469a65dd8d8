// The agent's access log on every HCM of a proxy whose agent serves it, named for the reporter it counts
// as, in a shape the Listener proto takes; no logger for a proxy without the agent's cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACCESS_LOG_NAMES } from '../telemetry/istio-labels.js';
import { packAny, TYPE_URLS } from '../xds/protos.js';
import { ACCESS_LOG_SERVICE_CLUSTER } from '../telemetry/access-log-entry.js';
import { TYPE_URL, type HttpConnectionManager, type Listener } from './envoy-types.js';
import { buildSnapshot, proxyFor, scenarioClusters } from './testdata/fixture.js';
import { translate } from './translate.js';

function hcms(listener: Listener): HttpConnectionManager[] {
  return (listener.filter_chains ?? []).flatMap((c) => c.filters.map((f) => f.typed_config)).filter((t): t is HttpConnectionManager => t['@type'] === TYPE_URL.httpConnectionManager);
}

describe('the access log to the agent (Istio metrics)', () => {
  const clusters = scenarioClusters();
  const snapshot = buildSnapshot(clusters);
  const [c1] = clusters;

  it('every HCM of a sidecar logs to envoy_accesslog_service: inbound ones as inbound, the outbound one as outbound', () => {
    const { listeners } = translate(snapshot, { ...proxyFor(c1!.pod('helloworld-v1'), 'sidecar'), accessLogService: true });
    const seen = new Set<string>();
    for (const listener of listeners) {
      const want = listener.traffic_direction === 'OUTBOUND' ? ACCESS_LOG_NAMES.outbound : ACCESS_LOG_NAMES.inbound;
      for (const hcm of hcms(listener)) {
        assert.equal(hcm.access_log?.length, 1, `${listener.name}: one logger`);
        const config = hcm.access_log![0]!.typed_config;
        assert.equal(config.common_config.grpc_service.envoy_grpc.cluster_name, ACCESS_LOG_SERVICE_CLUSTER);
        assert.equal(config.common_config.log_name, want, listener.name);
        seen.add(want);
      }
      // The proto takes it (Envoy would NACK a misspelt field).
      packAny(TYPE_URLS.listener, listener);
    }
    assert.deepEqual([...seen].sort(), [ACCESS_LOG_NAMES.inbound, ACCESS_LOG_NAMES.outbound].sort());
  });

  it('a gateway\'s HCMs log as the gateway', () => {
    const withGateway = scenarioClusters(['gateway']);
    const { listeners } = translate(buildSnapshot(withGateway), { ...proxyFor(withGateway[0]!.pod('istio-ingressgateway'), 'router'), accessLogService: true });
    const names = listeners.flatMap(hcms).map((h) => h.access_log?.[0]?.typed_config.common_config.log_name);
    assert.ok(names.length > 0);
    assert.ok(names.every((n) => n === ACCESS_LOG_NAMES.gateway), String(names));
  });

  it('a proxy whose agent does not serve it (no cluster in its bootstrap) gets no logger', () => {
    const { listeners } = translate(snapshot, proxyFor(c1!.pod('helloworld-v1'), 'sidecar'));
    assert.ok(listeners.flatMap(hcms).every((h) => h.access_log === undefined));
  });
});
