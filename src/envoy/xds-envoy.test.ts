// Our ADS server's protocol behaviour as a real Envoy needs it, beyond accepting the resources.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { edsCluster, httpListener, loadAssignment, routeConfig } from '../proxy/testutil/envoy.js';
import { SnapshotCache } from '../xds/cache.js';
import { TYPE_URLS } from '../xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import { NO_ENVOY, startTestEnvoy, testEnvoyPath, waitForEnvoySync, type TestEnvoy } from './testdata/live-envoy.js';

const envoyPath = testEnvoyPath();
const APP_IP = '127.216.0.100';

function snapshot(listenerIp: string, appPort: number, connectTimeoutS: number) {
  return {
    resources: {
      [TYPE_URLS.listener]: new Map([['in', httpListener('in', listenerIp, 8080, 'in')]]),
      [TYPE_URLS.route]: new Map([['in', routeConfig('in', [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }])]]),
      [TYPE_URLS.cluster]: new Map([['app', edsCluster('app', { connect_timeout: { seconds: connectTimeoutS } })]]),
      [TYPE_URLS.endpoint]: new Map([['app', loadAssignment('app', [{ host: APP_IP, port: appPort }])]]),
    },
  };
}

async function activeConnectTimeout(envoy: TestEnvoy): Promise<{ active?: string; warming: number }> {
  const dump = await envoy.configDump('?resource=dynamic_active_clusters');
  const warming = await envoy.configDump('?resource=dynamic_warming_clusters');
  const active = ((dump.configs ?? []) as Array<{ cluster?: { name: string; connect_timeout?: string } }>).find((c) => c.cluster?.name === 'app');
  return { ...(active?.cluster?.connect_timeout ? { active: active.cluster.connect_timeout } : {}), warming: (warming.configs ?? []).length };
}

for (const [i, protocol] of (['SotW', 'Delta'] as const).entries()) {
  describe(`Envoy over our ADS server (${protocol})`, { skip: envoyPath ? false : NO_ENVOY }, () => {
    const cache = new SnapshotCache();
    const listenerIp = `127.216.0.${i + 1}`;
    const nodeId = `sidecar~${listenerIp}~app-${protocol}.test~test.svc.cluster.local`;
    let xds: RunningXdsServer;
    let app: Server;
    let envoy: TestEnvoy;
    let appPort = 0;

    before(async () => {
      xds = await startXdsServer({ host: '127.0.0.1', port: 0, cache, log: () => {} });
      app = createServer((_req, res) => res.end('ok\n'));
      await new Promise<void>((r) => app.listen(0, APP_IP, r));
      appPort = (app.address() as { port: number }).port;
      cache.setSnapshot(nodeId, snapshot(listenerIp, appPort, 1));
      envoy = await startTestEnvoy({ binary: envoyPath!, xdsPort: xds.port, nodeId, delta: protocol === 'Delta' });
      await waitForEnvoySync(envoy, () => xds.xds.status(), nodeId);
    });
    after(async () => {
      await envoy?.stop();
      await xds?.close();
      app?.close();
    });

    it('a changed cluster whose endpoints did not change is active at once: its endpoints are sent again', async () => {
      assert.deepEqual(await activeConnectTimeout(envoy), { active: '1s', warming: 0 });
      const changedAt = Date.now();
      cache.setSnapshot(nodeId, snapshot(listenerIp, appPort, 2));
      // Without the endpoints, Envoy keeps the new cluster warming until its 15 s initial fetch timeout.
      let state = await activeConnectTimeout(envoy);
      while (state.active !== '2s' && Date.now() - changedAt < 10_000) {
        await new Promise((r) => setTimeout(r, 50));
        state = await activeConnectTimeout(envoy);
      }
      const took = Date.now() - changedAt;
      assert.equal(state.active, '2s', `the changed cluster is still warming ${took} ms after the change`);
      assert.ok(took < 5000, `the changed cluster became active only after ${took} ms`);
      const res = await fetch(`http://${listenerIp}:8080/`, { signal: AbortSignal.timeout(3000) });
      assert.equal(res.status, 200);
    });
  });
}
