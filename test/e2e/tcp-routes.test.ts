// Istio's TCP traffic shifting task on local clusters: tcp-echo v1 ("one") and v2 ("two") behind a
// VirtualService tcp route weighted 80/20, bound to a Gateway TCP server (port 31400 of the ingress
// gateway pod) and to the mesh. Through the gateway a client opens plain TCP connections; in the mesh
// the sleep app reaches tcp-echo through its sidecar's HTTP proxy with CONNECT (as curl -p or any
// https_proxy client does). Each connection's answer says which version served it; chi-square judges
// the split. One local cluster on loopback octet 4.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { join } from 'node:path';
import { chiSquareTest, SUITE_ALPHA } from '../../src/stats/chisquare.js';
import { E2E_DATA_PLANE, MeshworkEnv } from '../helpers/meshwork.js';
import { scenarioDir } from '../helpers/paths.js';
import { until } from '../helpers/until.js';

const CTX = 'cluster-1';
const GATEWAY_NS = 'istio-gateway';
const CONNECTIONS = 200;

const tcpEcho = (version: string, prefix: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: tcp-echo-${version}}
spec:
  replicas: 1
  selector: {matchLabels: {app: tcp-echo, version: ${version}}}
  template:
    metadata: {labels: {app: tcp-echo, version: ${version}}}
    spec:
      containers:
      - name: tcp-echo
        image: docker.io/istio/tcp-echo-server:1.3
        args: ["9000", "${prefix}"]
        ports: [{containerPort: 9000}]
`;

const ISTIO_CONFIG = `apiVersion: v1
kind: Service
metadata: {name: tcp-echo, labels: {app: tcp-echo}}
spec:
  selector: {app: tcp-echo}
  ports: [{name: tcp, port: 9000}]
---
${tcpEcho('v1', 'one')}---
${tcpEcho('v2', 'two')}---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: tcp-echo}
spec:
  host: tcp-echo
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: tcp-echo-gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 31400, name: tcp, protocol: TCP}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: tcp-echo}
spec:
  hosts: [tcp-echo]
  gateways: [mesh, tcp-echo-gateway]
  tcp:
  - route:
    - {destination: {host: tcp-echo, subset: v1, port: {number: 9000}}, weight: 80}
    - {destination: {host: tcp-echo, subset: v2, port: {number: 9000}}, weight: 20}
`;

/** One connection: optionally CONNECT through a proxy first, then a line out and the answer back. */
function exchange(host: string, port: number, connectTo?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let text = '';
    let tunnelled = connectTo === undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port}${connectTo ? ` (CONNECT ${connectTo})` : ''}: ${JSON.stringify(text)}`));
    }, 5000);
    socket.once('connect', () => socket.write(connectTo ? `CONNECT ${connectTo} HTTP/1.1\r\nhost: ${connectTo}\r\n\r\n` : 'hello\n'));
    socket.on('data', (c: Buffer) => {
      text += c.toString();
      if (!tunnelled) {
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!/^HTTP\/1\.1 200/.test(text)) {
          clearTimeout(timer);
          socket.destroy();
          reject(new Error(`CONNECT ${connectTo} refused: ${text.split('\r\n')[0]}`));
          return;
        }
        tunnelled = true;
        text = text.slice(end + 4);
        socket.write('hello\n');
      }
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      resolve(text.slice(0, nl));
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function split(send: () => Promise<string>): Promise<{ counts: Record<string, number>; pValue: number; pass: boolean }> {
  const counts: Record<string, number> = { 'one hello': 0, 'two hello': 0 };
  for (let i = 0; i < CONNECTIONS; i++) {
    const answer = await send();
    counts[answer] = (counts[answer] ?? 0) + 1;
  }
  const verdict = chiSquareTest([counts['one hello']!, counts['two hello']!], [80, 20], SUITE_ALPHA);
  return { counts, pValue: verdict.pValue, pass: verdict.pass && counts['one hello']! + counts['two hello']! === CONNECTIONS };
}

describe(`TCP routes: gateway TCP server and mesh CONNECT (${E2E_DATA_PLANE} data plane)`, { timeout: 240_000 }, () => {
  const env = new MeshworkEnv(4);
  const podIp = async (ns: string, selector: string): Promise<string> =>
    (await env.kubectlOk(CTX, ['get', 'pods', '-n', ns, '-l', selector, '-o', 'jsonpath={.items[0].status.podIP}'])).trim();

  before(async () => {
    const up = await env.up(1);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const install = await env.meshwork(['install', '--context', CTX, '--timeout', '90', '--data-plane', E2E_DATA_PLANE], 120_000);
    assert.equal(install.code, 0, install.stderr + install.stdout);
    for (const ns of [GATEWAY_NS, 'sample']) {
      await env.kubectlOk(CTX, ['create', 'namespace', ns]);
      await env.kubectlOk(CTX, ['label', 'namespace', ns, 'istio.io/rev=asm-managed-stable']);
    }
    await env.kubectlOk(CTX, ['apply', '-n', GATEWAY_NS, '-f', join(scenarioDir(), 'istio-ingressgateway')]);
    await env.kubectlOk(CTX, ['apply', '-n', 'sample', '-f', join(scenarioDir(), 'sleep.yaml')]);
    await env.kubectlOk(CTX, ['apply', '-n', 'sample', '-f', '-'], ISTIO_CONFIG);
    for (const [ns, deployment] of [[GATEWAY_NS, 'istio-ingressgateway'], ['sample', 'sleep'], ['sample', 'tcp-echo-v1'], ['sample', 'tcp-echo-v2']] as const) {
      await env.kubectlOk(CTX, ['rollout', 'status', '-n', ns, `deployment/${deployment}`, '--timeout=90s']);
    }
  });

  after(() => env.cleanup());

  test('through the gateway TCP server on 31400: each connection to v1 or v2, 80/20 (chi-square)', async () => {
    const gateway = await podIp(GATEWAY_NS, 'istio=ingressgateway');
    await until('the gateway to serve port 31400', 30_000, () => exchange(gateway, 31400).catch(() => undefined));
    const verdict = await split(() => exchange(gateway, 31400));
    assert.ok(verdict.pass, `${JSON.stringify(verdict.counts)} against 80/20, p=${verdict.pValue}`);
  });

  test('from the sleep pod through its sidecar: CONNECT tcp-echo.sample:9000, 80/20 (chi-square)', async () => {
    const sleep = await podIp('sample', 'app=sleep');
    await until('the sidecar to tunnel to tcp-echo', 30_000, () => exchange(sleep, 15001, 'tcp-echo.sample:9000').catch(() => undefined));
    const verdict = await split(() => exchange(sleep, 15001, 'tcp-echo.sample:9000'));
    assert.ok(verdict.pass, `${JSON.stringify(verdict.counts)} against 80/20, p=${verdict.pValue}`);
  });

  test('every proxy runs the chosen data plane and none NACKed', async () => {
    await env.assertDataPlaneAcceptedEverything([CTX]);
  });
});
