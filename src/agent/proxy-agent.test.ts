// The agent with a real Envoy (pilot-agent's job): bootstrap, readiness from Envoy, merged stats,
// restart after Envoy dies, drain on stop; and the same contract with the meshwork proxy.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEnvoyPath, NO_ENVOY } from '../envoy/testdata/live-envoy.js';
import { edsCluster, httpListener, loadAssignment, routeConfig } from '../proxy/testutil/envoy.js';
import { SnapshotCache } from '../xds/cache.js';
import { TYPE_URLS } from '../xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import { agentConfigFromEnv, envoyForPod, startAgent, type RunningAgent } from './proxy-agent.js';
import type { DataPlaneKind } from './data-plane.js';

const envoyPath = testEnvoyPath();
const APP_IP = '127.215.0.200';

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text() };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function env(podIp: string, dataPlane: DataPlaneKind, xdsPort: number, hostsFile?: string): NodeJS.ProcessEnv {
  return {
    POD_NAME: 'app-1', POD_NAMESPACE: 'test', INSTANCE_IP: podIp, XDS_ADDRESS: `127.0.0.1:${xdsPort}`, CLUSTER_ID: 'cluster-1', ISTIO_META_WORKLOAD_NAME: 'app', MESHWORK_DATA_PLANE: dataPlane,
    ...(hostsFile ? { MESHWORK_POD_HOSTS_FILE: hostsFile } : {}),
  };
}

/** An NDS group: the one NameTable resource of a snapshot. */
function nameTable(table: Record<string, { ips: string[]; shortname: string; namespace: string }>): Map<string, object> {
  return new Map([['name-table', { table: Object.fromEntries(Object.entries(table).map(([host, info]) => [host, { ...info, registry: 'Kubernetes' }])) }]]);
}

function resolverAt(host: string): Resolver {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`${host}:15053`]);
  return r;
}

for (const dataPlane of ['envoy', 'meshwork'] as const) {
  const podIp = dataPlane === 'envoy' ? '127.215.0.2' : '127.215.0.3';
  describe(`the agent with the ${dataPlane} data plane`, { skip: dataPlane === 'envoy' && !envoyPath ? NO_ENVOY : false }, () => {
    const cache = new SnapshotCache();
    let xds: RunningXdsServer;
    let app: Server;
    let agent: RunningAgent;
    const dir = mkdtempSync(join(tmpdir(), 'agent-dns-'));
    const hostsFile = join(dir, 'hosts');
    const config = () => agentConfigFromEnv('sidecar', env(podIp, dataPlane, xds.port, hostsFile));
    const resources = (services: Parameters<typeof nameTable>[0]) => {
      const port = (app.address() as { port: number }).port;
      return {
        [TYPE_URLS.listener]: new Map([['in', httpListener('in', podIp, 8080, 'in')]]),
        [TYPE_URLS.route]: new Map([['in', routeConfig('in', [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }])]]),
        [TYPE_URLS.cluster]: new Map([['app', edsCluster('app')]]),
        [TYPE_URLS.endpoint]: new Map([['app', loadAssignment('app', [{ host: APP_IP, port }])]]),
        [TYPE_URLS.nameTable]: nameTable(services),
      };
    };

    before(async () => {
      xds = await startXdsServer({ host: '127.0.0.1', port: 0, cache, log: () => {} });
      app = createServer((_req, res) => res.end('hello from the app\n'));
      await new Promise<void>((r) => app.listen(0, APP_IP, r));
      writeFileSync(hostsFile, 'written by the kubelet\n');
      agent = await startAgent(config(), { log: () => {}, accessLog: false });
    });
    after(async () => {
      await agent?.drainAndStop(0);
      await xds?.close();
      app?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('is not ready until the control plane has sent its config and the pod\'s name table', async () => {
      const ready = await get(`http://${podIp}:15021/healthz/ready`);
      assert.equal(ready.status, 503);
      cache.setSnapshot(config().nodeId, { resources: resources({ 'helloworld.sample.svc.cluster.local': { ips: ['127.216.0.7'], shortname: 'helloworld', namespace: 'sample' } }) });
      await until('ready', async () => ((await get(`http://${podIp}:15021/healthz/ready`)).status === 200 ? true : undefined));
      assert.equal((await until('a routed request', async () => { const r = await get(`http://${podIp}:8080/x`); return r.status === 200 ? r : undefined; })).body, 'hello from the app\n');
      assert.equal(agent.dataPlane.kind, dataPlane);
      assert.match(agent.dataPlane.version, dataPlane === 'envoy' ? /^envoy 1\.\d+\.\d+$/ : /^meshwork \d/);
    });

    it('answers the name table on POD_IP:15053 and keeps it in the pod\'s hosts file, in place', async () => {
      assert.deepEqual(await resolverAt(podIp).resolve4('helloworld.sample'), ['127.216.0.7']);
      assert.deepEqual(await resolverAt(podIp).resolve4('helloworld.sample.svc.cluster.local'), ['127.216.0.7']);
      await assert.rejects(resolverAt(podIp).resolve4('helloworld'), { code: 'ENOTFOUND' }, 'the pod is in namespace test: no bare name for sample\'s Service');
      await assert.rejects(resolverAt(podIp).resolve4('www.example.com'), { code: 'ENOTFOUND' });
      const inode = statSync(hostsFile).ino;
      assert.match(readFileSync(hostsFile, 'utf8'), /^127\.216\.0\.7\thelloworld\.sample\.svc\.cluster\.local helloworld\.sample\.svc helloworld\.sample$/m);
      assert.match(readFileSync(hostsFile, 'utf8'), new RegExp(`^${podIp.replace(/\./g, '\\.')}\tapp-1$`, 'm'));
      cache.setSnapshot(config().nodeId, { resources: resources({ 'api.test.svc.cluster.local': { ips: ['127.216.0.8'], shortname: 'api', namespace: 'test' } }) });
      await until('the new table', async () => (/^127\.216\.0\.8\tapi\.test\.svc\.cluster\.local api\.test\.svc api\.test api$/m.test(readFileSync(hostsFile, 'utf8')) ? true : undefined));
      assert.doesNotMatch(readFileSync(hostsFile, 'utf8'), /helloworld/);
      assert.equal(statSync(hostsFile).ino, inode, 'the same file: a bind mount of it sees the change');
      assert.deepEqual(await resolverAt(podIp).resolve4('api'), ['127.216.0.8']);
    });

    it('serves the data plane\'s stats and its own, merged, on the status port', async () => {
      const stats = await get(`http://${podIp}:15021/stats/prometheus`);
      assert.equal(stats.status, 200);
      assert.match(stats.body, new RegExp(`istio_agent_data_plane_info\\{kind="${dataPlane}",version="[^"]+"\\} 1`));
      assert.match(stats.body, dataPlane === 'envoy' ? /^envoy_cluster_upstream_rq_total\{envoy_cluster_name="app"\} \d+/m : /^meshwork_/m);
      if (dataPlane === 'envoy') assert.match((await get(`http://${podIp}:15090/stats/prometheus`)).body, /^envoy_server_live(\{\})? 1$/m);
    });

    if (dataPlane === 'envoy') {
      it('restarts Envoy when it dies, and is ready again with the same config', async () => {
        const pid = agent.dataPlane.pid();
        assert.ok(pid);
        process.kill(pid, 'SIGKILL');
        await until('a new Envoy', async () => { const p = agent.dataPlane.pid(); return p && p !== pid ? p : undefined; });
        await until('ready again', async () => ((await get(`http://${podIp}:15021/healthz/ready`)).status === 200 ? true : undefined));
        assert.equal((await get(`http://${podIp}:8080/x`)).status, 200);
        assert.equal(agent.dataPlane.restarts(), 1);
        assert.match((await get(`http://${podIp}:15021/stats/prometheus`)).body, /^istio_agent_data_plane_restarts 1$/m);
      });
    }

    it('answers not ready while draining, then stops the data plane', async () => {
      const pid = agent.dataPlane.pid();
      const stopping = agent.drainAndStop(300);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await get(`http://${podIp}:15021/healthz/ready`)).status, 503);
      await stopping;
      await assert.rejects(get(`http://${podIp}:15021/healthz/ready`));
      if (pid) assert.throws(() => process.kill(pid, 0), /ESRCH/);
    });
  });
}

describe('envoyForPod', () => {
  it('says how to get Envoy when a pod asks for it and none is installed', () => {
    const saved = { ...process.env };
    try {
      process.env.PATH = '/nonexistent';
      delete process.env.MESHWORK_ENVOY;
      assert.throws(() => envoyForPod('/nonexistent/envoy'), /--envoy names \/nonexistent\/envoy, which is not an executable file/);
    } finally {
      process.env = saved;
    }
  });

  it('interception mode needs Envoy: the meshwork proxy refuses it, naming what to do; Envoy sends INTERCEPTION_MODE', () => {
    assert.throws(() => agentConfigFromEnv('sidecar', { ...env('127.215.0.6', 'meshwork', 1), ISTIO_META_INTERCEPTION_MODE: 'REDIRECT' }), /requires Envoy; the meshwork proxy has no original-destination listeners\. Set MESHWORK_DATA_PLANE=envoy/);
    const envoy = agentConfigFromEnv('sidecar', { ...env('127.215.0.6', 'envoy', 1), ISTIO_META_INTERCEPTION_MODE: 'REDIRECT' });
    assert.equal(envoy.metadata.INTERCEPTION_MODE, 'REDIRECT');
  });

  it('sends the pod\'s ProxyConfig as node metadata PROXY_CONFIG: the injector\'s, the annotation over it', () => {
    const base = env('127.215.0.4', 'meshwork', 1);
    const withConfig = agentConfigFromEnv('router', { ...base, PROXY_CONFIG: '{"gatewayTopology":{"numTrustedProxies":1,"forwardClientCertDetails":"SANITIZE"}}', PROXY_CONFIG_ANNOTATION: '{"gatewayTopology":{"numTrustedProxies":2}}' });
    assert.deepEqual(withConfig.metadata.PROXY_CONFIG, { gatewayTopology: { numTrustedProxies: 2, forwardClientCertDetails: 'SANITIZE' } });
    assert.deepEqual(withConfig.problems, []);
    const without = agentConfigFromEnv('router', base);
    assert.equal(without.metadata.PROXY_CONFIG, undefined, 'a pod injected without it sends none: the control plane uses Istio\'s defaults');
  });

  it('runs with the injector\'s config when the annotation is invalid, and logs why', async () => {
    const config = agentConfigFromEnv('router', { ...env('127.215.0.5', 'meshwork', 1), PROXY_CONFIG: '{"gatewayTopology":{"numTrustedProxies":1}}', PROXY_CONFIG_ANNOTATION: '{"gatewayTopology": {"numTrustedProxies": 2}' });
    assert.deepEqual(config.metadata.PROXY_CONFIG, { gatewayTopology: { numTrustedProxies: 1 } });
    assert.equal(config.problems.length, 1);
    assert.match(config.problems[0] ?? '', /^annotation proxy\.istio\.io\/config is invalid: not YAML or JSON: .*; the pod runs with the mesh's default proxy config$/);
    const lines: string[] = [];
    const agent = await startAgent(config, { log: (l) => lines.push(l), accessLog: false });
    await agent.drainAndStop(0);
    assert.ok(lines.some((l) => /^warning: annotation proxy\.istio\.io\/config is invalid/.test(l)), lines.join('\n'));
  });

  it('names a data plane it does not know', () => {
    assert.throws(() => agentConfigFromEnv('sidecar', { ...env('127.215.0.4', 'envoy', 1), MESHWORK_DATA_PLANE: 'linkerd' }), /MESHWORK_DATA_PLANE: unknown data plane "linkerd": use envoy or meshwork/);
  });
});
