// The controller's edges end to end without real clusters: a minimal Kubernetes API per cluster (the
// config cluster's MultiClusterService, BackendConfig and MultiClusterIngress, each member's
// EndpointSlices of the derived Service, the MCI status written back), gateway-like upstreams on
// 127.240.79.x, and the edge the controller runs: Envoy over its own ADS server when one is installed,
// the TypeScript edge when locateEnvoy finds none.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { scenarioDir } from '../../test/helpers/paths.js';
import type { KubeObject } from '../k8s/object.js';
import { BACKEND_HEADER } from '../edge/edge-proxy.js';
import { NO_ENVOY, testEnvoyPath } from '../envoy/testdata/live-envoy.js';
import { MciController } from './controller.js';
import type { EndpointSliceLike } from './gateways.js';
import { derivedServiceName } from './resources.js';

const envoyPath = testEnvoyPath();
const NET = '127.240.79';
const NS = 'istio-gateway';
const SERVING_PORT = 18091;
const EDGE_PORT = 18090;

const scenario = (file: string, patch: (o: KubeObject) => void = () => {}): KubeObject => {
  const obj = parse(readFileSync(join(scenarioDir(), file), 'utf8')) as KubeObject;
  obj.metadata = { ...obj.metadata, namespace: NS, uid: file };
  patch(obj);
  return obj;
};

/** Just what the controller calls: list the MCI kinds, list EndpointSlices, patch an MCI's status. */
class FakeCluster {
  server: Server | undefined;
  custom = new Map<string, KubeObject[]>();
  slices: EndpointSliceLike[] = [];
  statusPatches = 0;

  constructor(readonly name: string) {}

  async start(host: string): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req).then(([code, body]) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body))));
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    return `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  status(mci: string): Record<string, any> {
    return (this.custom.get('multiclusteringresses')?.find((o) => o.metadata.name === mci) as { status?: Record<string, any> } | undefined)?.status ?? {};
  }

  private async handle(req: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(req.url ?? '/', 'http://x');
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const list = /^\/apis\/[^/]+\/[^/]+\/([a-z]+)$/.exec(url.pathname);
    if (req.method === 'GET' && list) return [200, { apiVersion: 'v1', kind: 'List', metadata: {}, items: this.custom.get(list[1]!) ?? [] }];
    const status = /^\/apis\/networking\.gke\.io\/v1beta1\/namespaces\/([^/]+)\/multiclusteringresses\/([^/]+)\/status$/.exec(url.pathname);
    if (req.method === 'PATCH' && status) {
      const obj = this.custom.get('multiclusteringresses')?.find((o) => o.metadata.name === status[2]);
      if (!obj) return [404, { kind: 'Status', code: 404, message: 'not found' }];
      const ops = JSON.parse(body) as { op: string; path: string; value: unknown }[];
      for (const op of ops) if (op.path === '/status') (obj as { status?: unknown }).status = op.value;
      this.statusPatches++;
      return [200, obj];
    }
    if (req.method === 'GET' && /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/[^/]+\/endpointslices$/.test(url.pathname)) {
      return [200, { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSliceList', metadata: {}, items: this.slices.map((s) => ({ ...s, addressType: 'IPv4', metadata: { name: 'x' } })) }];
    }
    // Derived Services are not this test's subject: the controller logs the refusal and goes on.
    return [403, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 403, reason: 'Forbidden', message: `${req.method} ${url.pathname} is not served by this fake` }];
  }
}

interface Gateway {
  ip: string;
  ready: boolean;
  servers: Server[];
}

async function startGateway(ip: string, name: string): Promise<Gateway> {
  const gw: Gateway = { ip, ready: true, servers: [] };
  const app = createServer((req, res) => res.writeHead(req.url === '/hello' ? 200 : 404).end(`hello from ${name}\n`));
  const status = createServer((req, res) => res.writeHead(req.url === '/healthz/ready' && gw.ready ? 200 : 503).end());
  for (const [s, port] of [[app, SERVING_PORT], [status, 15021]] as const) await new Promise<void>((resolve) => s.listen(port, ip, resolve));
  gw.servers.push(app, status);
  return gw;
}

const slice = (pod: string, ip: string): EndpointSliceLike => ({
  ports: [{ name: 'http2', port: SERVING_PORT }],
  endpoints: [{ addresses: [ip], conditions: { ready: true }, targetRef: { name: pod } }],
});

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, detail: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await sleep(100);
  }
}

for (const dataPlane of ['envoy', 'meshwork'] as const) {
  const skip = dataPlane === 'envoy' && !envoyPath ? NO_ENVOY : false;
  describe(`the MCI controller's edge (${dataPlane})`, { skip, timeout: 60_000 }, () => {
    const third = dataPlane === 'envoy' ? 1 : 2;
    const vip = `${NET}.${third}0`;
    const c1 = new FakeCluster('cluster-1');
    const c2 = new FakeCluster('cluster-2');
    let g1: Gateway;
    let g2: Gateway;
    let dir = '';
    let controller: MciController;
    const log: string[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'meshwork-mci-test-'));
      const servers = [await c1.start(`${NET}.${third}1`), await c2.start(`${NET}.${third}2`)];
      g1 = await startGateway(`${NET}.${third}3`, 'gateway-1');
      g2 = await startGateway(`${NET}.${third}4`, 'gateway-2');
      const mcs = scenario('multiclusterservice.yaml');
      c1.custom.set('multiclusterservices', [mcs]);
      c1.custom.set('backendconfigs', [scenario('backendconfig.yaml', (o) => Object.assign((o.spec as { healthCheck: object }).healthCheck, { checkIntervalSec: 1, timeoutSec: 1 }))]);
      c1.custom.set('multiclusteringresses', [scenario('multiclusteringress.yaml')]);
      assert.equal(derivedServiceName({ name: 'istio-ingressgateway', namespace: NS }).startsWith('mci-'), true);
      c1.slices = [slice('istio-ingressgateway-1', g1.ip)];
      c2.slices = [slice('istio-ingressgateway-2', g2.ip)];
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: servers.map((server, i) => ({ name: `cluster-${i + 1}`, cluster: { server, 'insecure-skip-tls-verify': true } })),
        users: [{ name: 'test', user: { token: 'test' } }],
        contexts: servers.map((_, i) => ({ name: `cluster-${i + 1}`, context: { cluster: `cluster-${i + 1}`, user: 'test' } })),
        'current-context': 'cluster-1',
      }));
      controller = new MciController({
        configContext: 'cluster-1',
        memberContexts: ['cluster-1', 'cluster-2'],
        kubeconfig,
        vipRange: { prefix: NET, first: third * 10, last: third * 10 },
        edgePort: EDGE_PORT,
        adminPort: 0,
        xdsHost: `${NET}.${third}5`,
        resyncMs: 200,
        locateEnvoy: () => (dataPlane === 'envoy' ? { path: envoyPath!, source: 'project' } : undefined),
        log: (line) => log.push(line),
      });
      assert.equal(controller.edgeDataPlane, dataPlane);
      controller.start();
    });

    after(async () => {
      await controller?.stop();
      for (const s of [c1.server, c2.server, ...(g1?.servers ?? []), ...(g2?.servers ?? [])]) s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const hello = async (): Promise<string> => {
      const res = await fetch(`http://${vip}:${EDGE_PORT}/hello`, { signal: AbortSignal.timeout(5_000) });
      const body = await res.text();
      assert.equal(res.status, 200, body);
      return res.headers.get(BACKEND_HEADER) ?? '?';
    };
    const detail = (): string => `status: ${JSON.stringify(c1.status('istio-ingressgateway'))}\nlog:\n${log.slice(-15).join('\n')}`;

    it('says once which data plane runs the edges', () => {
      const lines = log.filter((l) => /edges run/.test(l));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, dataPlane === 'envoy' ? /edges run Envoy .* configured over xDS/ : /no Envoy found .*edges run the meshwork edge proxy/);
    });

    it('the MCI gets its VIP, EdgeServing and both clusters\' gateways healthy; requests reach both', async () => {
      const st = await until('EdgeServing with both gateways healthy', 30_000, () => {
        const s = c1.status('istio-ingressgateway');
        return s.conditions?.[0]?.reason === 'EdgeServing' && s.gateways?.['cluster-1'] === '1/1 healthy' && s.gateways?.['cluster-2'] === '1/1 healthy' ? s : undefined;
      }, detail);
      assert.equal(st.VIP, `${vip}:${EDGE_PORT}`);
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add(await hello());
      assert.deepEqual([...seen].sort(), ['cluster-1/istio-ingressgateway-1', 'cluster-2/istio-ingressgateway-2']);
    });

    it('a gateway leaving its cluster\'s EndpointSlice leaves the edge; readiness failures show in the status', async () => {
      c2.slices = [];
      await until('cluster-2 gone from the status', 10_000, () => (c1.status('istio-ingressgateway').gateways?.['cluster-2'] === undefined ? true : undefined), detail);
      for (let i = 0; i < 10; i++) assert.equal(await hello(), 'cluster-1/istio-ingressgateway-1');
      const sinceRemoval = log.slice(log.findLastIndex((l) => /gateway cluster-2\/istio-ingressgateway-2 removed/.test(l)));
      assert.ok(sinceRemoval.length > 0 && !sinceRemoval.some((l) => /cluster-2\/istio-ingressgateway-2 is now/.test(l)), `no transition logged for a removed gateway:\n${sinceRemoval.join('\n')}`);
      c2.slices = [slice('istio-ingressgateway-2', g2.ip)];
      await until('cluster-2 back and healthy', 10_000, () => (c1.status('istio-ingressgateway').gateways?.['cluster-2'] === '1/1 healthy' ? true : undefined), detail);
      g1.ready = false;
      await until('cluster-1 unhealthy in the status', 10_000, () => (c1.status('istio-ingressgateway').gateways?.['cluster-1'] === '0/1 healthy' ? true : undefined), detail);
      const t0 = Date.now();
      const got: string[] = [];
      for (let i = 0; i < 10; i++) got.push(`${Date.now() - t0}:${await hello()}`);
      const admin = /admin (http:\/\/[^/]+)\//.exec(log.find((l) => /edge on .*Envoy, admin/.test(l)) ?? '')?.[1];
      const dump = admin ? JSON.stringify((await (await fetch(`${admin}/clusters?format=json`)).json() as any).cluster_statuses.map((c: any) => c.host_statuses.map((h: any) => [h.hostname, h.health_status]))) : '';
      assert.ok(got.every((g) => g.endsWith('cluster-2/istio-ingressgateway-2')), `${got.join(' ')}\n${dump}\n${log.slice(-12).join('\n')}`);
      assert.ok(log.some((l) => /gateway cluster-1\/istio-ingressgateway-1 is now unhealthy/.test(l)), 'the transition is logged');
      g1.ready = true;
    });

    it('stopping the controller stops the edge', async () => {
      await controller.stop();
      await assert.rejects(fetch(`http://${vip}:${EDGE_PORT}/hello`, { signal: AbortSignal.timeout(2_000) }));
    });
  });
}
