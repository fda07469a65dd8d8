// The real kubectl's protobuf bodies, read with Kubernetes' definitions: for each typed `kubectl create`,
// the body it POSTs, decoded, equals the JSON the same command prints with `--dry-run=client -o json`.
// kubectl talks to a recording HTTP proxy in front of the test API server (kubectl sends no token over
// plain HTTP, so the proxy adds it), which keeps every protobuf body.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { StatusError } from '../../k8s/status.js';
import { decodeKubernetesProtobuf } from './protobuf.js';
import type { TestCluster } from './test-support.js';
import { TOKEN, startTestCluster } from './test-support.js';

const run = promisify(execFile);

interface Recorded {
  path: string;
  body: Buffer;
}

function recordingProxy(c: TestCluster, recorded: Recorded[]): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if ((req.headers['content-type'] ?? '').startsWith('application/vnd.kubernetes.protobuf')) recorded.push({ path: req.url ?? '', body });
      const headers: OutgoingHttpHeaders = { ...req.headers, authorization: `Bearer ${TOKEN}` };
      delete headers.host;
      const upstream = httpsRequest(`${c.server.url}${req.url}`, { method: req.method, headers, ca: c.caPem }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', (err) => res.destroy(err));
      upstream.end(body);
    });
  });
}

describe('kubectl create: protobuf bodies read as the JSON kubectl prints', () => {
  let c: TestCluster;
  let proxy: Server;
  let kubeconfig: string;
  const recorded: Recorded[] = [];

  const kubectl = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(c.dir, 'cache'), ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: c.dir }, timeout: 20_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };

  before(async () => {
    c = await startTestCluster();
    proxy = recordingProxy(c, recorded);
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    kubeconfig = join(c.dir, 'kubeconfig-recorded');
    const server = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'rec', cluster: { server } }],
      users: [{ name: 'admin', user: {} }],
      contexts: [{ name: 'rec', context: { cluster: 'rec', user: 'admin', namespace: 'default' } }],
      'current-context': 'rec',
    }));
    writeFileSync(join(c.dir, 'binary'), Buffer.from([0xff, 0x00, 0x01, 0x80]));
  });
  after(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    await c.close();
  });

  /** kubectl create ARGS: the decoded body it sent, and the JSON of the same command in a client dry run. */
  async function sentAndPrinted(args: string[]): Promise<{ decoded: () => Record<string, unknown>; printed: unknown; path: string }> {
    const [head, rest] = args.includes('--') ? [args.slice(0, args.indexOf('--')), args.slice(args.indexOf('--'))] : [args, []];
    const dry = await kubectl(['create', ...head, '--dry-run=client', '-o', 'json', ...rest]);
    assert.equal(dry.code, 0, dry.stderr);
    recorded.length = 0;
    await kubectl(['create', ...args]);
    assert.equal(recorded.length, 1, `kubectl create ${args.join(' ')} sent ${recorded.length} protobuf bodies`);
    const [{ body, path }] = recorded;
    return { decoded: () => decodeKubernetesProtobuf(body), printed: JSON.parse(dry.stdout), path };
  }

  const file = (name: string) => join(c.dir, name);
  const cases: Array<[string, () => string[]]> = [
    ['namespace', () => ['namespace', 'ns1']],
    ['configmap with text and binary data', () => ['configmap', 'cm1', '--from-literal=a=b', `--from-file=bin=${file('binary')}`]],
    ['secret generic', () => ['secret', 'generic', 's1', '--from-literal=k=v', '--type=Opaque']],
    ['secret docker-registry', () => ['secret', 'docker-registry', 'reg', '--docker-server=r.example', '--docker-username=u', '--docker-password=p']],
    ['secret tls', () => ['secret', 'tls', 'tls1', `--cert=${file('tls.crt')}`, `--key=${file('tls.key')}`]],
    ['serviceaccount', () => ['serviceaccount', 'sa1']],
    ['deployment with replicas and port', () => ['deployment', 'web', '--image=docker.io/istio/examples-helloworld-v1', '--replicas=2', '--port=5000']],
    ['deployment with two images and a command', () => ['deployment', 'multi', '--image=a', '--image=b']],
    ['service clusterip', () => ['service', 'clusterip', 'web', '--tcp=5000:5000']],
    ['service clusterip with a named target port', () => ['service', 'clusterip', 'named', '--tcp=80:http']],
    ['service clusterip headless', () => ['service', 'clusterip', 'headless', '--clusterip=None']],
    ['service nodeport', () => ['service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080']],
    ['service loadbalancer', () => ['service', 'loadbalancer', 'lb', '--tcp=80']],
    ['service externalname', () => ['service', 'externalname', 'ext', '--external-name=example.com']],
    ['job (batch/v1)', () => ['job', 'j', '--image=busybox', '--', 'echo', 'hi']],
    ['cronjob (batch/v1)', () => ['cronjob', 'cj', '--image=busybox', '--schedule=*/5 * * * *', '--', 'date']],
    ['role', () => ['role', 'r', '--verb=get,list', '--resource=pods,deployments.apps', '--resource-name=x']],
    ['clusterrole', () => ['clusterrole', 'cr', '--verb=get', '--non-resource-url=/healthz']],
    ['rolebinding', () => ['rolebinding', 'rb', '--role=r', '--user=u', '--serviceaccount=default:sa1']],
    ['clusterrolebinding', () => ['clusterrolebinding', 'crb', '--clusterrole=cr', '--group=g']],
    ['ingress', () => ['ingress', 'ing', '--rule=foo.com/bar*=svc:http', '--rule=foo.com/baz=svc2:8080', '--class=c']],
    ['quota (quantities)', () => ['quota', 'q', '--hard=cpu=1,memory=1Gi,pods=2']],
  ];

  for (const [name, args] of cases) {
    test(name, async () => {
      const { decoded, printed } = await sentAndPrinted(args());
      assert.deepEqual(decoded(), printed);
    });
  }

  test('a kind whose package is not installed (policy/v1) is a 415 naming what is read', async () => {
    const { decoded, path } = await sentAndPrinted(['poddisruptionbudget', 'pdb', '--selector=app=x', '--min-available=1']);
    assert.match(path, /^\/apis\/policy\/v1\//);
    assert.throws(decoded, (err: unknown) => err instanceof StatusError && err.code === 415 && /not policy\/v1\/PodDisruptionBudget: send JSON or YAML/.test(err.message));
  });

  test('the server reads them: kubectl create deployment and service store what kubectl printed', async () => {
    const got = await kubectl(['get', 'deployment/web', 'service/named', '-o', 'jsonpath={.items[0].spec.template.spec.containers[0].ports[0].containerPort} {.items[1].spec.ports[0].targetPort}']);
    assert.equal(got.stdout, '5000 http', got.stderr);
  });
});
