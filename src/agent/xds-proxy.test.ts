// The agent's XDS proxy with a real Envoy: Envoy's ADS (state of the world, then delta) goes to the
// agent's Unix socket and is relayed to a plaintext ADS server; Envoy gets its config and ACKs it
// through the relay, and an end on either side ends the other.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { NO_ENVOY, startTestEnvoy, testEnvoyPath, waitForEnvoySync, type TestEnvoy } from '../envoy/testdata/live-envoy.js';
import { edsCluster, httpListener, loadAssignment, routeConfig } from '../proxy/testutil/envoy.js';
import { SnapshotCache } from '../xds/cache.js';
import { TYPE_URLS } from '../xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import { startXdsProxy, type RunningXdsProxy } from './xds-proxy.js';

const envoyPath = testEnvoyPath();
const HOST = '127.246.2.1';

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the agent\'s XDS proxy relays a real Envoy\'s ADS', { skip: envoyPath ? false : NO_ENVOY }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xds-proxy-'));
  const cache = new SnapshotCache();
  let server: RunningXdsServer;
  let proxy: RunningXdsProxy;
  const envoys: TestEnvoy[] = [];
  const lines: string[] = [];

  before(async () => {
    server = await startXdsServer({ host: HOST, port: 0, cache, log: () => {} });
    proxy = await startXdsProxy({ socketPath: join(dir, 'XDS'), upstream: `${HOST}:${server.port}`, credentials: grpc.credentials.createInsecure(), log: (l) => lines.push(l) });
  });
  after(async () => {
    for (const e of envoys) await e.stop();
    await proxy?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const delta of [false, true]) {
    it(`${delta ? 'delta' : 'state of the world'}: Envoy is synced through the relay, and its stream ends with it`, async () => {
      const nodeId = `sidecar~127.246.2.${delta ? 3 : 2}~app-1.test~test.svc.cluster.local`;
      cache.setSnapshot(nodeId, {
        resources: {
          [TYPE_URLS.listener]: new Map([['in', httpListener('in', HOST, delta ? 18081 : 18080, 'in')]]),
          [TYPE_URLS.route]: new Map([['in', routeConfig('in', [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }])]]),
          [TYPE_URLS.cluster]: new Map([['app', edsCluster('app')]]),
          [TYPE_URLS.endpoint]: new Map([['app', loadAssignment('app', [{ host: '127.246.2.9', port: 8080 }])]]),
        },
      });
      const envoy = await startTestEnvoy({ binary: envoyPath!, xdsPort: server.port, xdsHost: HOST, nodeId, delta, adminHost: HOST, agentSockets: { xds: proxy.socketPath, sds: join(dir, 'no-sds') } });
      envoys.push(envoy);
      const status = await waitForEnvoySync(envoy, () => server.xds.status(), nodeId);
      assert.equal(status.nodeId, nodeId);
      assert.equal(proxy.openStreams(), 1);
      const dump = await envoy.configDump();
      const listeners = dump.configs.find((c) => String(c['@type']).endsWith('.ListenersConfigDump')) as { dynamic_listeners?: Array<{ name: string }> };
      assert.deepEqual(listeners.dynamic_listeners?.map((l) => l.name), ['in']);
      await envoy.stop();
      await until('the upstream stream closed after Envoy went', () => (proxy.openStreams() === 0 && server.xds.status().every((p) => p.nodeId !== nodeId) ? true : undefined));
    });
  }

  it('ends Envoy\'s stream when the control plane goes away', async () => {
    const nodeId = 'sidecar~127.246.2.4~app-2.test~test.svc.cluster.local';
    cache.setSnapshot(nodeId, { resources: { [TYPE_URLS.listener]: new Map(), [TYPE_URLS.cluster]: new Map() } });
    const envoy = await startTestEnvoy({ binary: envoyPath!, xdsPort: server.port, xdsHost: HOST, nodeId, adminHost: HOST, agentSockets: { xds: proxy.socketPath, sds: join(dir, 'no-sds') } });
    envoys.push(envoy);
    await until('connected through the relay', async () => ((await envoy.stats('control_plane.connected_state')).get('control_plane.connected_state') === 1 ? true : undefined));
    await server.close();
    await until('Envoy disconnected', async () => ((await envoy.stats('control_plane.connected_state')).get('control_plane.connected_state') === 0 ? true : undefined));
    assert.ok(lines.some((l) => /^xds proxy: 127\.246\.2\.1:\d+ ended the stream: /.test(l)), lines.join('\n'));
  });
});
