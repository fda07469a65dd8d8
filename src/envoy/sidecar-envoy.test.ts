// A real Envoy under a Sidecar resource, on SotW and on incremental (DELTA_GRPC) ADS: it accepts the
// scoped config (only what the egress hosts import, REGISTRY_ONLY's block_all, the ingress port), holds
// exactly that, and ACKs a weight change pushed afterwards.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'node:http';
import { toXdsSnapshot } from '../controlplane/proxy-resources.js';
import type { ProxyIdentity } from '../registry/model.js';
import { OUTBOUND_PORT } from '../translate/listeners.js';
import { simulate } from '../translate/simulate.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters } from '../translate/testdata/fixture.js';
import { MeshTranslator } from '../translate/translate.js';
import { SnapshotCache } from '../xds/cache.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import { NO_ENVOY, startTestEnvoy, testEnvoyPath, waitForEnvoySync } from './testdata/live-envoy.js';

const envoyPath = testEnvoyPath();

const SIDECAR = `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
  ingress: [{port: {number: 9080, protocol: HTTP, name: http}, defaultEndpoint: "127.0.0.1:80"}]
  egress: [{hosts: [./*, istio-system/*]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`;

const canary = (v1: number): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - route:
    - {destination: {host: helloworld, subset: v1}, weight: ${v1}}
    - {destination: {host: helloworld, subset: v2}, weight: ${100 - v1}}
`;

function mesh(v1: number): ReturnType<typeof buildSnapshot> {
  const clusters = scenarioClusters(['destinationrule']);
  for (const cluster of clusters) cluster.apply('sample', parseYaml(SIDECAR + '---' + canary(v1), 'sidecar case'));
  return buildSnapshot(clusters);
}

/** sleep in cluster-1, its addresses moved to a range nothing else on this machine uses. */
function sleepProxy(protocol: string): ProxyIdentity {
  const proxy = proxyFor(scenarioClusters()[0]!.pod('sleep'), 'sidecar');
  const move = (ip: string): string => ip.replace(/^127\.\d+\./, '127.211.');
  // Plaintext-only (no workload certificate, as a proxy on plaintext xDS): this suite is about scoping.
  return { ...proxy, id: proxy.id.replace(proxy.ip, move(proxy.ip)).replace('sleep', `sleep-${protocol}`), ip: move(proxy.ip), ...(proxy.appIp ? { appIp: move(proxy.appIp) } : {}), plaintextOnly: true };
}

/** GET `url` through the sidecar's outbound HTTP proxy listener (absolute URI, as an app with http_proxy sends it). */
function statusThroughProxy(ip: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port: OUTBOUND_PORT, path: url, headers: { host: new URL(url).host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

function dumpNames(dump: { configs: Array<Record<string, unknown>> }, type: string, key: 'dynamic_active_clusters' | 'dynamic_route_configs'): Array<Record<string, any>> {
  const section = dump.configs.find((c) => String(c['@type']).endsWith(`.${type}`)) as Record<string, any> | undefined;
  return section?.[key] ?? [];
}

for (const protocol of ['SotW', 'Delta'] as const) {
  describe(`Envoy under a Sidecar (${protocol} ADS)`, { skip: envoyPath ? false : NO_ENVOY }, () => {
    const cache = new SnapshotCache();
    let xds: RunningXdsServer;
    before(async () => {
      xds = await startXdsServer({ host: '127.0.0.1', port: 0, cache, log: () => {} });
    });
    after(async () => {
      await xds?.close();
    });

    it('accepts the scoped config, holds only the imported services, answers REGISTRY_ONLY, and ACKs a weight change', async () => {
      const proxy = sleepProxy(protocol);
      const first = new MeshTranslator(mesh(80));
      const resources = first.translate(proxy);
      const outbound = resources.clusters.map((c) => c.name).filter((n) => n.startsWith('outbound|'));
      assert.ok(outbound.length > 0 && outbound.every((n) => n.endsWith('.sample.svc.cluster.local')), `only namespace sample is imported: ${outbound.join(', ')}`);
      cache.setSnapshot(proxy.id, toXdsSnapshot(first.translateScoped(proxy)));
      const envoy = await startTestEnvoy({ binary: envoyPath!, xdsPort: xds.port, nodeId: proxy.id, delta: protocol === 'Delta' });
      try {
        const status = await waitForEnvoySync(envoy, () => xds.xds.status(), proxy.id);
        assert.equal(status.protocol, protocol);
        const dump = await envoy.configDump();
        const held = dumpNames(dump, 'ClustersConfigDump', 'dynamic_active_clusters').map((e) => String(e['cluster']?.['name'])).sort();
        assert.deepEqual(held, resources.clusters.map((c) => c.name).sort(), 'Envoy holds what the Sidecar lets through, nothing else');
        assert.ok(!held.some((n) => n.includes('istio-ingressgateway')), 'the gateway namespace is out of scope');
        assert.ok(held.includes('inbound|9080||'), 'the ingress port of the Sidecar');
        const vhosts = dumpNames(dump, 'RoutesConfigDump', 'dynamic_route_configs').flatMap((r) => (r['route_config']?.['virtual_hosts'] ?? []) as Array<Record<string, any>>);
        const blockAll = vhosts.find((v) => v['name'] === 'block_all');
        assert.equal(blockAll?.['routes']?.[0]?.['direct_response']?.['status'], 502);

        // A weight change: a new snapshot (RDS changes), which Envoy must ACK on the same stream.
        const second = new MeshTranslator(mesh(30), first);
        cache.setSnapshot(proxy.id, toXdsSnapshot(second.translateScoped(proxy)));
        const synced = await waitForEnvoySync(envoy, () => xds.xds.status(), proxy.id);
        assert.equal(synced.protocol, protocol);
        const routes = dumpNames(await envoy.configDump(), 'RoutesConfigDump', 'dynamic_route_configs');
        const weights = routes
          .flatMap((r) => (r['route_config']?.['virtual_hosts'] ?? []) as Array<Record<string, any>>)
          .filter((v) => String(v['name']).startsWith('helloworld.sample'))
          .flatMap((v) => v['routes'][0]['route']['weighted_clusters']['clusters'].map((c: Record<string, any>) => `${c['name']} ${c['weight']}`));
        assert.deepEqual(weights, ['outbound|5000|v1|helloworld.sample.svc.cluster.local 30', 'outbound|5000|v2|helloworld.sample.svc.cluster.local 70']);
        assert.equal(simulate(second.translate(proxy), { listenerPort: 'http_proxy', host: 'example.com', path: '/' }).directResponse?.status, 502);
        // The app's HTTP proxy: a host the mesh does not know is refused by Envoy itself.
        assert.equal(await statusThroughProxy(proxy.ip, 'http://example.com/'), 502);
        const rejected = [...(await envoy.stats('update_rejected|update_failure')).entries()].filter(([, v]) => v > 0);
        assert.deepEqual(rejected, [], 'Envoy rejected nothing');
      } finally {
        await envoy.stop();
        cache.clearSnapshot(proxy.id);
      }
    });
  });
}
