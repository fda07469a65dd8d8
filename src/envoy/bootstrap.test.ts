import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitHostPort } from '../net/host-port.js';
import { envoyBootstrap } from './bootstrap.js';
import { parseEnvoyVersion } from './locate.js';

const base = {
  nodeId: 'sidecar~127.10.0.4~sleep-1.sample~sample.svc.cluster.local',
  cluster: 'cluster-1',
  metadata: { CLUSTER_ID: 'cluster-1', NAMESPACE: 'sample' },
  xdsAddress: '127.11.0.10:15010',
  podIp: '127.10.0.4',
  adminPort: 15000,
  prometheusPort: 15090,
};

describe('envoyBootstrap', () => {
  it('identifies the node as the meshwork proxy would, ADS to the control plane, admin and 15090 on the pod IP', () => {
    const b = envoyBootstrap(base) as any;
    assert.deepEqual(b.node, { id: base.nodeId, cluster: 'cluster-1', metadata: base.metadata });
    assert.deepEqual(b.admin.address.socket_address, { address: '127.10.0.4', port_value: 15000 });
    assert.equal(b.dynamic_resources.ads_config.api_type, 'GRPC');
    assert.equal(b.dynamic_resources.cds_config.initial_fetch_timeout, '0s');
    const xds = b.static_resources.clusters.find((c: any) => c.name === 'xds-grpc');
    assert.equal(xds.type, 'STATIC');
    assert.deepEqual(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '127.11.0.10', port_value: 15010 });
    assert.deepEqual(b.static_resources.listeners.map((l: any) => l.address.socket_address), [{ address: '127.10.0.4', port_value: 15090 }]);
  });

  it("carries the pod's ProxyConfig as an object in node metadata PROXY_CONFIG, as pilot-agent's bootstrap does", () => {
    const proxyConfig = { gatewayTopology: { numTrustedProxies: 1 } };
    const b = envoyBootstrap({ ...base, metadata: { ...base.metadata, PROXY_CONFIG: proxyConfig } }) as any;
    assert.deepEqual(b.node.metadata.PROXY_CONFIG, proxyConfig);
  });

  it('delta ADS on request; a DNS name for the control plane resolves by STRICT_DNS; no 15090 when asked', () => {
    const b = envoyBootstrap({ ...base, delta: true, xdsAddress: 'istiod.istio-system.svc:15012', prometheusPort: 0 }) as any;
    assert.equal(b.dynamic_resources.ads_config.api_type, 'DELTA_GRPC');
    assert.equal(b.static_resources.clusters.find((c: any) => c.name === 'xds-grpc').type, 'STRICT_DNS');
    assert.deepEqual(b.static_resources.listeners, []);
  });

  it('with agent sockets: xds-grpc and sds-grpc are HTTP/2 clusters on the agent\'s Unix sockets, as Istio\'s bootstrap', () => {
    const b = envoyBootstrap({ ...base, xdsAddress: '127.11.0.10:15012', agentSockets: { xds: '/tmp/agent/XDS', sds: '/tmp/agent/SDS' } }) as any;
    for (const [name, path] of [['xds-grpc', '/tmp/agent/XDS'], ['sds-grpc', '/tmp/agent/SDS']]) {
      const c = b.static_resources.clusters.find((x: any) => x.name === name);
      assert.ok(c, name);
      assert.deepEqual(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address, { pipe: { path } });
      assert.ok(c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options);
    }
    assert.equal(envoyBootstrap(base).static_resources && (envoyBootstrap(base) as any).static_resources.clusters.some((c: any) => c.name === 'sds-grpc'), false, 'no certificates: no SDS cluster');
  });

  it('names a bad control plane address', () => {
    assert.throws(() => envoyBootstrap({ ...base, xdsAddress: 'istiod' }), /"istiod" is not host:port/);
    assert.deepEqual(splitHostPort('[::1]:15010'), { host: '::1', port: 15010 });
    assert.throws(() => splitHostPort('a:70000'), /not host:port/);
  });
});

describe('parseEnvoyVersion', () => {
  it('reads envoy --version', () => {
    assert.deepEqual(parseEnvoyVersion('/x/envoy  version: 9e55809/1.40.0/Clean/RELEASE/BoringSSL\n'), { version: '1.40.0', build: '9e55809/1.40.0/Clean/RELEASE/BoringSSL' });
    assert.throws(() => parseEnvoyVersion('nope'), /cannot read an Envoy version from "nope"/);
  });
});
